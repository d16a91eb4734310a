using System.Reflection;
using Rnn.Fast.Internals;

namespace Rnn.Fast.Tests.Internals.Kernels;

public sealed partial class ProductKernelOpTests
{
    [Theory]
    [MemberData(nameof(OpKernels.All), MemberType = typeof(OpKernels))]
    public void AccumulateOuter_EveryShape_WithinBoundOfReference(string kernelName)
    {
        KernelUnderTest kernel = OpKernels.Get(kernelName);
        foreach (Shape shape in SweepShapes())
        {
            RunAccumulateOuter(kernel, shape, integers: false, "sweep");
        }
    }

    [Theory]
    [MemberData(nameof(OpKernels.All), MemberType = typeof(OpKernels))]
    public void AccumulateOuter_EveryTile_ExactOnIntegers(string kernelName)
    {
        KernelUnderTest kernel = OpKernels.Get(kernelName);
        foreach (Shape shape in TileShapes(kernel.Lanes))
        {
            RunAccumulateOuter(kernel, shape, integers: true, "tile");
        }
    }

    [Theory]
    [MemberData(nameof(OpKernels.All), MemberType = typeof(OpKernels))]
    public void AccumulateOuter_RowsAroundPanel_ExactOnIntegersAndWithinBound(string kernelName)
    {
        // Rows = panel − 1, panel, panel + 1 and 2·panel + 1, with wide padded x rows, several tile column groups (the
        // packed slice of d is refilled per group), and a single column.
        KernelUnderTest kernel = OpKernels.Get(kernelName);
        int v = kernel.Lanes;
        Shape[] configurations =
        [
            new(0, 1, 3, 1, 4100),
            new(0, v + 1, 9, 3, 4),
            new(0, 1, 1, 1, 0),
        ];
        foreach (Shape configuration in configurations)
        {
            int width = (configuration.Units + v - 1) / v * configuration.Gates * v;
            int panel = PanelRows(width, configuration.XStride);
            foreach (int rows in (int[])[panel - 1, panel, panel + 1, 2 * panel + 1])
            {
                Shape shape = configuration with { Rows = rows };
                RunAccumulateOuter(kernel, shape, integers: true, $"panel={panel}");
                RunAccumulateOuter(kernel, shape, integers: false, $"panel={panel}");
            }
        }
    }

    /// <summary>
    /// The panel height of <see cref="ProductKernel.AccumulateOuter"/>: BlockedProducts.PanelRows, read from the kernel
    /// class so the test follows it if it is retuned (the same for every shape).
    /// </summary>
    private static int PanelRows(int width, int xStride)
    {
        _ = (width, xStride);
        FieldInfo field = typeof(BlockedProducts<,>).GetField("PanelRows", BindingFlags.NonPublic | BindingFlags.Static)
            ?? throw new InvalidOperationException("BlockedProducts.PanelRows not found: update the panel formula of this test.");
        return (int)field.GetRawConstantValue()!;
    }

    private static void RunAccumulateOuter(KernelUnderTest kernel, Shape shape, bool integers, string note)
    {
        int v = kernel.Lanes;
        string op = nameof(ProductKernel.AccumulateOuter);
        int seed = OpCases.Seed(op + (integers ? "Integers" : ""), shape.Rows, shape.Units, shape.Columns, shape.Gates, shape.XPadding);
        string replay = OpCases.Replay(kernel, op, seed, $"{shape} integers={integers} {note}");
        var random = new Random(seed);
        var layout = new PackedMatrix(shape.Units, shape.Columns, shape.Gates, v);
        int width = layout.RowWidth;
        Guarded x = Inputs(random, shape, integers);
        // d [rows, RowWidth]: padding lanes zero, as backward leaves them.
        var d = new Guarded(shape.Rows * width);
        for (int r = 0; r < shape.Rows; r++)
        {
            for (int g = 0; g < shape.Gates; g++)
            {
                for (int u = 0; u < shape.Units; u++)
                {
                    d[r * width + GateIndex(g, u, shape.Gates, v)] = Draw(random, integers, 1);
                }
            }
        }
        // gradient [nb, K, G, V]: what earlier calls accumulated, zero in the padding lanes.
        Guarded gradient = Guarded.InOut(new float[layout.Values.Length]);
        for (int g = 0; g < shape.Gates; g++)
        {
            for (int u = 0; u < shape.Units; u++)
            {
                for (int j = 0; j < shape.Columns; j++)
                {
                    gradient[PackedIndex(g, u, j, shape, v)] = Draw(random, integers, 1);
                }
            }
        }
        float[] g0 = gradient.ToArray();

        kernel.Products.AccumulateOuter(d.Span, x.Span, shape.Rows, shape.XStride, layout, gradient.Span);

        var isReal = new bool[g0.Length];
        for (int g = 0; g < shape.Gates; g++)
        {
            for (int u = 0; u < shape.Units; u++)
            {
                for (int j = 0; j < shape.Columns; j++)
                {
                    int index = PackedIndex(g, u, j, shape, v);
                    isReal[index] = true;
                    double value = g0[index], magnitude = Math.Abs(value);
                    for (int r = 0; r < shape.Rows; r++)
                    {
                        double product = (double)d[r * width + GateIndex(g, u, shape.Gates, v)] * x[r * shape.XStride + j];
                        value += product;
                        magnitude += Math.Abs(product);
                    }
                    if (integers)
                    {
                        OpCases.AssertExactly((float)value, gradient[index], $"gradient[gate {g}, unit {u}][{j}] (integers: exact in any order)", replay);
                    }
                    else
                    {
                        OpCases.AssertWithin(gradient[index], Approx.Sum(value, magnitude, 1 + shape.Rows), $"gradient[gate {g}, unit {u}][{j}]", replay);
                    }
                }
            }
        }
        for (int i = 0; i < g0.Length; i++)
        {
            if (!isReal[i])
            {
                OpCases.AssertExactly(0f, gradient[i], $"padding gradient[{i}]", replay);
            }
        }
        x.AssertGuardsIntact("x", replay);
        d.AssertGuardsIntact("d", replay);
        gradient.AssertGuardsIntact("gradient", replay);
    }

    // [nb, K, G, V]: PyTorch element (g·H + u, j) of a packed matrix, written out independently of PackedMatrix.IndexOf.
    private static int PackedIndex(int gate, int unit, int column, Shape shape, int lanes) =>
        ((unit / lanes * shape.Columns + column) * shape.Gates + gate) * lanes + unit % lanes;
}
