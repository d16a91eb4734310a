using System.Reflection;
using Rnn.Fast.Internals;

namespace Rnn.Fast.Tests.Internals.Kernels;

/// <summary>
/// The ops of <see cref="ProductKernel"/> against plain double-precision loops over PyTorch-layout weights.
/// </summary>
/// <remarks>
/// <para>Two kinds of data. Random floats are checked within the γ_n bound of <see cref="ErrorBound.Sum"/>. Small
/// integers (|w|, |x| ≤ 4) make every product and partial sum an integer far below 2²⁴, so any summation order is
/// exact and the result must equal the reference bit for bit: a row, column or panel dropped or counted twice shows
/// as an exact mismatch however long the sum. The integer grids cover every register tile: rows 0–9 across the
/// 4-row tile of <see cref="ProductKernel.MultiplyRows"/>, odd and even numbers of register columns (the odd last
/// column pairs with itself), input columns across the 4-column tile of <see cref="ProductKernel.AccumulateOuter"/>,
/// and row counts around its cache panel.</para>
/// <para>x rows are read only up to their K columns, so the padding up to xStride holds the NaN sentinel.</para>
/// </remarks>
[Trait("Category", "Kernel")]
public sealed partial class ProductKernelOpTests
{
    private static readonly int[] s_gates = [1, 3, 4, 2];
    private static readonly int[] s_xPadding = [0, 1, 5];
    private static readonly int[] s_tileColumns = [0, 1, 2, 3, 4, 5, 7, 8, 9];

    /// <summary>A product shape: rows of x, output units per gate (H), input columns (K), gates, x row padding.</summary>
    private readonly record struct Shape(int Rows, int Units, int Columns, int Gates, int XPadding)
    {
        public int XStride => Columns + XPadding;

        public override string ToString() => $"rows={Rows} units={Units} K={Columns} gates={Gates} xStride={XStride}";
    }

    // Every length as K, then every length as H, with rows, gates and x padding cycling through their lists.
    private static List<Shape> SweepShapes()
    {
        var shapes = new List<Shape>();
        for (int i = 0; i < OpCases.Lengths.Length; i++)
        {
            int k = OpCases.Lengths[i];
            shapes.Add(new Shape(OpCases.Rows[i % OpCases.Rows.Length], (k * 13 + 7) % 71, k, s_gates[i % 4], s_xPadding[i % 3]));
        }
        for (int i = 0; i < OpCases.Lengths.Length; i++)
        {
            int units = OpCases.Lengths[i];
            shapes.Add(new Shape(OpCases.Rows[(i + 4) % OpCases.Rows.Length], units, (units * 29 + 5) % 71, s_gates[(i + 1) % 4], s_xPadding[(i + 1) % 3]));
        }
        return shapes;
    }

    // Rows 0–9 × gates 1–4 × 1, 2 or 3 blocks (register columns nb·G: 1, 2, 3, 4, 6, 8, 9, 12) × K across tiles.
    private static IEnumerable<Shape> TileShapes(int lanes)
    {
        foreach (int rows in OpCases.Rows)
        {
            foreach (int gates in (int[])[1, 2, 3, 4])
            {
                for (int blocks = 1; blocks <= 3; blocks++)
                {
                    foreach (int k in s_tileColumns)
                    {
                        yield return new Shape(rows, (blocks - 1) * lanes + 1 + (k % 2) * (lanes - 1), k, gates, k % 3);
                    }
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(OpKernels.All), MemberType = typeof(OpKernels))]
    public void MultiplyRows_EveryShape_WithinBoundOfReference(string kernelName)
    {
        KernelUnderTest kernel = OpKernels.Get(kernelName);
        foreach (Shape shape in SweepShapes())
        {
            RunMultiplyRows(kernel, shape, integers: false, accumulate: false);
        }
    }

    // K around the chunk edges of BlockedProducts: the largest K kept whole (a tile's weights at ChunkThresholdBytes:
    // 256 columns on AVX-512, 1024 on Avx2Fma) and just past it, where K splits into equal chunks, plus a K of several
    // chunks with a short last one; plain and accumulating, exact on integers and within the bound.
    [Theory]
    [MemberData(nameof(OpKernels.All), MemberType = typeof(OpKernels))]
    public void MultiplyRows_KAroundChunkEdges_ExactOnIntegersAndWithinBound(string kernelName)
    {
        KernelUnderTest kernel = OpKernels.Get(kernelName);
        int v = kernel.Lanes;
        FieldInfo field = typeof(BlockedProducts<,>).GetField("ChunkThresholdBytes", BindingFlags.NonPublic | BindingFlags.Static)
            ?? throw new InvalidOperationException("BlockedProducts.ChunkThresholdBytes not found: update this test.");
        int threshold = (int)field.GetRawConstantValue()!;
        foreach (int columnsPerTile in (int[])[2, 4])
        {
            int whole = threshold / (columnsPerTile * v * sizeof(float));
            if (whole > 1100)
            {
                continue;   // narrow registers: chunks start past the K any model here uses; the sweeps cover K whole
            }
            foreach (int k in (int[])[whole, whole + 1, whole + 3, 2 * whole + 5])
            {
                Assert.True(k == whole ? BlockedProducts<ScalarOps, float>.ChunkColumns(k, columnsPerTile * v * 4) == k
                    : BlockedProducts<ScalarOps, float>.ChunkColumns(k, columnsPerTile * v * 4) < k, $"K={k}: chunking as intended");
                foreach (int rows in (int[])[1, 2, 3, 5, 8])
                {
                    var shape = new Shape(rows, 2 * v + 1, k, 4, k % 3);
                    RunMultiplyRows(kernel, shape, integers: true, accumulate: false);
                    RunMultiplyRows(kernel, shape, integers: true, accumulate: true);
                    RunMultiplyRows(kernel, shape, integers: false, accumulate: false);
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(OpKernels.All), MemberType = typeof(OpKernels))]
    public void MultiplyRows_EveryTile_ExactOnIntegers(string kernelName)
    {
        KernelUnderTest kernel = OpKernels.Get(kernelName);
        foreach (Shape shape in TileShapes(kernel.Lanes))
        {
            RunMultiplyRows(kernel, shape, integers: true, accumulate: false);
        }
    }

    [Theory]
    [MemberData(nameof(OpKernels.All), MemberType = typeof(OpKernels))]
    public void MultiplyRowsAccumulate_EveryShape_AddsToWhatYHolds(string kernelName)
    {
        KernelUnderTest kernel = OpKernels.Get(kernelName);
        foreach (Shape shape in SweepShapes())
        {
            RunMultiplyRows(kernel, shape, integers: false, accumulate: true);
        }
        foreach (Shape shape in TileShapes(kernel.Lanes))
        {
            RunMultiplyRows(kernel, shape, integers: true, accumulate: true);
        }
    }

    [Theory]
    [MemberData(nameof(OpKernels.All), MemberType = typeof(OpKernels))]
    public void MultiplyRowsAccumulate_TransposedPacking_AddsWTransposedTimesD(string kernelName)
    {
        // Backward's use: dx += Wᵀ·d on the packing TransposeInto makes, d a packed gate row whose padding lanes
        // meet zero weights (so they are finite but ignored).
        KernelUnderTest kernel = OpKernels.Get(kernelName);
        List<Shape> shapes = [.. SweepShapes().Where(s => s.Units <= 70), .. TileShapes(kernel.Lanes).Where(s => s.Rows % 2 == 1 && s.Columns % 3 == 1)];
        foreach (Shape shape in shapes)
        {
            int v = kernel.Lanes;
            int seed = OpCases.Seed("MultiplyRowsAccumulateTransposed", shape.Rows, shape.Units, shape.Columns, shape.Gates);
            string replay = OpCases.Replay(kernel, "MultiplyRowsAccumulate(Wᵀ)", seed, shape.ToString());
            var random = new Random(seed);
            float[] weights = OpCases.Uniform(random, shape.Gates * shape.Units * shape.Columns, 1);
            PackedMatrix w = PackedMatrix.FromRows(weights, shape.Units, shape.Columns, shape.Gates, v);
            PackedMatrix wt = w.CreateTransposed();
            w.TransposeInto(wt);
            int gw = w.RowWidth, outWidth = wt.RowWidth;
            var d = new Guarded(OpCases.Uniform(random, shape.Rows * gw, 1));
            var y = Guarded.InOut(OpCases.Uniform(random, shape.Rows * outWidth, 1));
            float[] y0 = y.ToArray();

            kernel.Products.MultiplyRowsAccumulate(d.Span, shape.Rows, gw, wt, y.Span);

            for (int r = 0; r < shape.Rows; r++)
            {
                for (int j = 0; j < outWidth; j++)
                {
                    float actual = y[r * outWidth + j];
                    if (j >= shape.Columns)
                    {
                        OpCases.AssertExactly(y0[r * outWidth + j], actual, $"padding dx[{r}][{j}]", replay);
                        continue;
                    }
                    double value = y0[r * outWidth + j], magnitude = Math.Abs(value);
                    for (int g = 0; g < shape.Gates; g++)
                    {
                        for (int u = 0; u < shape.Units; u++)
                        {
                            double product = (double)weights[(g * shape.Units + u) * shape.Columns + j] * d[r * gw + GateIndex(g, u, shape.Gates, v)];
                            value += product;
                            magnitude += Math.Abs(product);
                        }
                    }
                    OpCases.AssertWithin(actual, Approx.Sum(value, magnitude, 1 + gw), $"dx[{r}][{j}]", replay);
                }
            }
            d.AssertGuardsIntact("d", replay);
            y.AssertGuardsIntact("y", replay);
        }
    }

    [Theory]
    [MemberData(nameof(OpKernels.All), MemberType = typeof(OpKernels))]
    public void Dense_EveryShape_WithinBoundOfReference(string kernelName)
    {
        KernelUnderTest kernel = OpKernels.Get(kernelName);
        int v = kernel.Lanes;
        var shapes = new List<(int Outputs, int Inputs)>();
        for (int i = 0; i < OpCases.Lengths.Length; i++)
        {
            shapes.Add((OpCases.Lengths[i], (OpCases.Lengths[i] * 37 + 11) % 71));
            shapes.Add(((OpCases.Lengths[i] * 29 + 5) % 71, OpCases.Lengths[i]));
        }
        foreach ((int outputs, int inputs) in shapes)
        {
            int seed = OpCases.Seed(nameof(ProductKernel.Dense), outputs, inputs);
            string replay = OpCases.Replay(kernel, nameof(ProductKernel.Dense), seed, $"O={outputs} H={inputs}");
            var random = new Random(seed);
            int hp = (inputs + v - 1) / v * v;
            float[] weights = OpCases.Uniform(random, outputs * inputs, 1); // [O, H], PyTorch
            var packed = new Guarded(outputs * hp);                         // [O, Hp], zero-padded rows
            for (int o = 0; o < outputs; o++)
            {
                weights.AsSpan(o * inputs, inputs).CopyTo(packed.Span[(o * hp)..]);
            }
            // The state's padding units need not be zero (an Elman-sigmoid layer holds 1/2 there); zero weights
            // cancel them. They must be finite, since 0·NaN is NaN.
            var h = new Guarded(hp);
            OpCases.Uniform(random, inputs, 1).CopyTo(h.Span);
            h.Span[inputs..].Fill(0.5f);
            var bias = new Guarded(OpCases.Uniform(random, outputs, 1));
            Guarded y = Guarded.Output(outputs);

            kernel.Products.Dense(h.Span, packed.Span, bias.Span, y.Span);

            for (int o = 0; o < outputs; o++)
            {
                double value = bias[o], magnitude = Math.Abs(value);
                for (int j = 0; j < inputs; j++)
                {
                    double product = (double)weights[o * inputs + j] * h[j];
                    value += product;
                    magnitude += Math.Abs(product);
                }
                OpCases.AssertWithin(y[o], Approx.Sum(value, magnitude, 1 + hp), $"y[{o}]", replay);
            }
            foreach ((Guarded buffer, string name) in new[] { (packed, "weight"), (h, "h"), (bias, "bias"), (y, "y") })
            {
                buffer.AssertGuardsIntact(name, replay);
            }
        }
    }


    private static int GateIndex(int gate, int unit, int gates, int lanes) => (unit / lanes * gates + gate) * lanes + unit % lanes;

    private static float Draw(Random random, bool integers, double scale) =>
        integers ? random.Next(-4, 5) : OpCases.Uniform(random, scale);

    private static float[] Draw(Random random, int length, bool integers, double scale)
    {
        var values = new float[length];
        for (int i = 0; i < length; i++)
        {
            values[i] = Draw(random, integers, scale);
        }
        return values;
    }

    // x [rows, xStride] with the sentinel in every row's padding.
    private static Guarded Inputs(Random random, Shape shape, bool integers)
    {
        var x = new Guarded(shape.Rows * shape.XStride);
        x.Span.Fill(Guarded.Sentinel);
        for (int r = 0; r < shape.Rows; r++)
        {
            Draw(random, shape.Columns, integers, 1).CopyTo(x.Span[(r * shape.XStride)..]);
        }
        return x;
    }

    private static void RunMultiplyRows(KernelUnderTest kernel, Shape shape, bool integers, bool accumulate)
    {
        int v = kernel.Lanes;
        string op = accumulate ? nameof(ProductKernel.MultiplyRowsAccumulate) : nameof(ProductKernel.MultiplyRows);
        int seed = OpCases.Seed(op + (integers ? "Integers" : ""), shape.Rows, shape.Units, shape.Columns, shape.Gates, shape.XPadding);
        string replay = OpCases.Replay(kernel, op, seed, $"{shape} integers={integers}");
        var random = new Random(seed);
        float[] weights = Draw(random, shape.Gates * shape.Units * shape.Columns, integers, 1); // [G·H, K], PyTorch
        PackedMatrix w = PackedMatrix.FromRows(weights, shape.Units, shape.Columns, shape.Gates, v);
        int width = w.RowWidth;
        Guarded x = Inputs(random, shape, integers);
        var bias = new Guarded(width);
        Guarded y = accumulate ? Guarded.InOut(Draw(random, shape.Rows * width, integers, 1)) : Guarded.Output(shape.Rows * width);
        for (int q = 0; q < width; q++)
        {
            // Padding lanes of the bias are zero, as the packed layer keeps them.
            int unit = q / (shape.Gates * v) * v + q % v;
            bias[q] = unit < shape.Units ? Draw(random, integers, 1) : 0f;
        }
        float[] y0 = y.ToArray();

        if (accumulate)
        {
            kernel.Products.MultiplyRowsAccumulate(x.Span, shape.Rows, shape.XStride, w, y.Span);
        }
        else
        {
            kernel.Products.MultiplyRows(x.Span, shape.Rows, shape.XStride, w, bias.Span, y.Span);
        }

        for (int r = 0; r < shape.Rows; r++)
        {
            for (int q = 0; q < width; q++)
            {
                float start = accumulate ? y0[r * width + q] : bias[q];
                int unit = q / (shape.Gates * v) * v + q % v, gate = q / v % shape.Gates;
                float actual = y[r * width + q];
                if (unit >= shape.Units)
                {
                    // Zero weights: the padding lane keeps its start (zero bias, or what y held).
                    OpCases.AssertExactly(start, actual, $"padding y[{r}][{q}]", replay);
                    continue;
                }
                double value = start, magnitude = Math.Abs(value);
                for (int j = 0; j < shape.Columns; j++)
                {
                    double product = (double)weights[(gate * shape.Units + unit) * shape.Columns + j] * x[r * shape.XStride + j];
                    value += product;
                    magnitude += Math.Abs(product);
                }
                if (integers)
                {
                    OpCases.AssertExactly((float)value, actual, $"y[{r}][gate {gate}, unit {unit}] (integers: exact in any order)", replay);
                }
                else
                {
                    OpCases.AssertWithin(actual, Approx.Sum(value, magnitude, 1 + shape.Columns), $"y[{r}][gate {gate}, unit {unit}]", replay);
                }
            }
        }
        x.AssertGuardsIntact("x", replay);
        bias.AssertGuardsIntact("bias", replay);
        y.AssertGuardsIntact("y", replay);
    }
}
