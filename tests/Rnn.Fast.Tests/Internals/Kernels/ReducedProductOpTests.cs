using Rnn.Fast.Internals;

namespace Rnn.Fast.Tests.Internals.Kernels;

/// <summary>
/// <see cref="ReducedProductKernel.MultiplyRows"/> of every reduced kernel (<see cref="ReducedKernels"/>) against
/// plain double-precision loops over the dequantized weights, and against the scalar definition
/// (<see cref="ReducedProductsScalar"/>) where the two must agree bit for bit.
/// </summary>
/// <remarks>
/// <para><b>bf16.</b> The dequantized weights are exact floats, so the product is a float32 sum of K products plus
/// its start (y and/or the bias): <see cref="ErrorBound.Sum"/> with K + 2 terms. The vector kernels run the scalar
/// definition's operations in its order (one FMA chain per output from 0, then start + chain), so where both fuse
/// every multiply-add they must equal it exactly.</para>
/// <para><b>int8.</b> With W_rj = q_rj · s_r (exact, in double), m = max_j |x_j| and R = ceil(Pairs / 256) runs: the
/// kernel computes fma(S, fl(s_w · s_x), start) where S is the float sum of R exact int32 run sums of q_w · q_x. Each
/// dequantized activation x̂_j = q_j · s_x is within s_x / 2 + γ₃|x_j| of x_j (the rounding to an integer, plus the
/// roundings of 32767 / m, of x_j times it, and of s_x = m / 32767), so Σ_j |W_rj| |x̂_j − x_j| ≤ A·(1 + u) + γ₃·Σ|W x|
/// with the activation term A = (m / 65534)·Σ_j |W_rj|. The float work after the exact integer sums (R conversions,
/// R − 1 additions, the scale product, the fma and the start's own addition) adds at most γ_(2R+4) of the magnitudes.
/// Together: |y − ref| ≤ A·(1 + 2u) + γ_(2R+8)·(|start| + Σ_j|W_rj x_j| + A) (+ underflow η per operation). The
/// integer sums are exact, so every kernel must equal the scalar definition bit for bit on every ISA.</para>
/// <para>Sizes: every K in 0–70, 127–129, 255–257 and 511–513 (the int8 runs change at 512 columns), then the same
/// as H; rows cycle through 0–9 (the 4-row tile, its 2- and 1-row remainders), gates through 1, 3, 4, 2, block
/// counts across the 4- and 2-column tiles; accumulate and bias on and off. x rows are read only up to K, so their
/// padding holds the NaN sentinel.</para>
/// </remarks>
[Trait("Category", "Kernel")]
public sealed class ReducedProductOpTests
{
    private static readonly int[] s_gates = [1, 3, 4, 2];
    private static readonly int[] s_xPadding = [0, 1, 5];
    private static readonly int[] s_lengths = [.. OpCases.Lengths, 511, 512, 513];

    public static TheoryData<string, WeightPrecision> Cases
    {
        get
        {
            var data = new TheoryData<string, WeightPrecision>();
            foreach (string name in ReducedKernels.Names)
            {
                data.Add(name, WeightPrecision.BFloat16);
                data.Add(name, WeightPrecision.Int8);
            }
            return data;
        }
    }

    /// <summary>A product: rows of x, output units per gate (H), input columns (K), gates, x row padding, and what y starts from.</summary>
    private readonly record struct Shape(int Rows, int Units, int Columns, int Gates, int XPadding, bool Accumulate, bool Bias)
    {
        public int XStride => Columns + XPadding;

        public override string ToString() =>
            $"rows={Rows} units={Units} K={Columns} gates={Gates} xStride={XStride} accumulate={Accumulate} bias={Bias}";
    }

    /// <summary>How the values are drawn: x uniform in ±<see cref="XScale"/>, weights in ±1 with one element per row
    /// of <see cref="HugeWeight"/> where it is not 0.</summary>
    private readonly record struct Values(double XScale, float HugeWeight)
    {
        public static Values Plain => new(1, 0);
    }

    private static List<Shape> SweepShapes()
    {
        var shapes = new List<Shape>();
        for (int i = 0; i < s_lengths.Length; i++)
        {
            int k = s_lengths[i];
            shapes.Add(new Shape(OpCases.Rows[i % OpCases.Rows.Length], (k * 13 + 7) % 71, k, s_gates[i % 4], s_xPadding[i % 3], i % 2 == 1, i % 5 < 3));
        }
        for (int i = 0; i < s_lengths.Length; i++)
        {
            int units = s_lengths[i];
            shapes.Add(new Shape(OpCases.Rows[(i + 4) % OpCases.Rows.Length], units, (units * 29 + 5) % 71, s_gates[(i + 1) % 4], s_xPadding[(i + 1) % 3],
                i % 2 == 0, i % 5 >= 2));
        }
        return shapes;
    }

    // Rows 0–9 × gates 1–4 × 1–3 blocks (register columns 1, 2, 3, 4, 6, 8, 9, 12: across the 4- and 2-column tiles),
    // K odd and even.
    private static IEnumerable<Shape> TileShapes(int lanes)
    {
        foreach (int rows in OpCases.Rows)
        {
            foreach (int gates in (int[])[1, 2, 3, 4])
            {
                for (int blocks = 1; blocks <= 3; blocks++)
                {
                    foreach (int k in (int[])[1, 2, 5, 8])
                    {
                        yield return new Shape(rows, (blocks - 1) * lanes + 1 + (k % 2) * (lanes - 1), k, gates, k % 3, (rows + k) % 2 == 0, gates != 2);
                    }
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void MultiplyRows_EveryShape_WithinBoundOfReference(string kernelName, WeightPrecision precision)
    {
        ReducedKernelUnderTest kernel = ReducedKernels.Get(kernelName);
        foreach (Shape shape in SweepShapes())
        {
            Run(kernel, precision, shape, Values.Plain);
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void MultiplyRows_EveryTile_WithinBoundOfReference(string kernelName, WeightPrecision precision)
    {
        ReducedKernelUnderTest kernel = ReducedKernels.Get(kernelName);
        foreach (Shape shape in TileShapes(kernel.Lanes))
        {
            Run(kernel, precision, shape, Values.Plain);
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void MultiplyRows_ExtremeValues_WithinBoundOfReference(string kernelName, WeightPrecision precision)
    {
        // x of magnitude 1e30 and 1e-30 (the int8 activation scale spans both without overflow or underflow), and
        // rows dominated by one huge weight (its int8 row scale rounds the others to few levels, or to zero).
        ReducedKernelUnderTest kernel = ReducedKernels.Get(kernelName);
        Values[] values = [new(1e30, 0), new(1e-30, 0), new(1, 1e4f), new(1e-30, 3e4f)];
        for (int i = 0; i < values.Length; i++)
        {
            foreach (int k in (int[])[1, 7, 64, 257, 513])
            {
                Run(kernel, precision, new Shape(1 + (k + i) % 6, 2 * kernel.Lanes + 3, k, 4, 1, i % 2 == 0, true), values[i]);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void MultiplyRows_NonFiniteRow_GivesNaNInThatRowOnly(string kernelName, WeightPrecision precision)
    {
        ReducedKernelUnderTest kernel = ReducedKernels.Get(kernelName);
        foreach (float bad in (float[])[float.NaN, float.PositiveInfinity, float.NegativeInfinity])
        {
            foreach (int k in (int[])[1, 6, 129, 513])
            {
                const int Rows = 6;
                int seed = OpCases.Seed("NonFinite", k, (int)BitConverter.SingleToInt32Bits(bad));
                string replay = $"replay: kernel={kernel} precision={precision} seed={seed} K={k} value={bad}";
                var random = new Random(seed);
                ReducedMatrix w = Matrix(random, precision, units: kernel.Lanes + 1, k, gates: 3, kernel.Lanes, Values.Plain);
                float[] x = OpCases.Uniform(random, Rows * k, 1);
                x[2 * k + k / 2] = bad;        // row 2
                x[5 * k + k - 1] = bad;        // row 5, last column
                float[] bias = OpCases.Uniform(random, w.RowWidth, 1);
                float[] y = new float[Rows * w.RowWidth];
                float[] expected = new float[Rows * w.RowWidth];
                kernel.Kernel.MultiplyRows(x, Rows, k, w, bias, accumulate: false, y, new short[ReducedProductKernel.ScratchLength(Rows, k)]);
                new ReducedProductsScalar(kernel.Lanes).MultiplyRows(x, Rows, k, w, bias, accumulate: false, expected,
                    new short[ReducedProductKernel.ScratchLength(Rows, k)]);
                for (int r = 0; r < Rows; r++)
                {
                    for (int c = 0; c < w.RowWidth; c++)
                    {
                        float actual = y[r * w.RowWidth + c];
                        if (r is 2 or 5)
                        {
                            // int8: s_x is NaN, so every output is; bf16: each output multiplies the bad value (a
                            // zero padding weight too, 0 · ±Inf being NaN), so none is finite.
                            bool ok = precision == WeightPrecision.Int8 ? float.IsNaN(actual) : !float.IsFinite(actual);
                            Assert.True(ok, $"y[{r}][{c}] = {actual} should be {(precision == WeightPrecision.Int8 ? "NaN" : "non-finite")}; {replay}");
                        }
                        else if (precision == WeightPrecision.Int8 || kernel.FusedLikeScalar)
                        {
                            OpCases.AssertExactly(expected[r * w.RowWidth + c], actual, $"finite row y[{r}][{c}] vs scalar", replay);
                        }
                        else
                        {
                            Assert.True(float.IsFinite(actual), $"finite row y[{r}][{c}] = {actual}; {replay}");
                        }
                    }
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void MultiplyRows_ZeroRows_GiveTheStartExactly(string kernelName, WeightPrecision precision)
    {
        ReducedKernelUnderTest kernel = ReducedKernels.Get(kernelName);
        foreach (int k in (int[])[0, 1, 2, 33, 600])
        {
            foreach (bool accumulate in (bool[])[false, true])
            {
                const int Rows = 5;
                int seed = OpCases.Seed("ZeroRows", k, accumulate ? 1 : 0);
                string replay = $"replay: kernel={kernel} precision={precision} seed={seed} K={k} accumulate={accumulate}";
                var random = new Random(seed);
                ReducedMatrix w = Matrix(random, precision, units: 2 * kernel.Lanes - 1, k, gates: 4, kernel.Lanes, Values.Plain);
                float[] bias = OpCases.Uniform(random, w.RowWidth, 1);
                float[] y0 = OpCases.Uniform(random, Rows * w.RowWidth, 1);
                float[] y = [.. y0];
                kernel.Kernel.MultiplyRows(new float[Rows * k], Rows, k, w, bias, accumulate, y, new short[ReducedProductKernel.ScratchLength(Rows, k)]);
                for (int i = 0; i < y.Length; i++)
                {
                    float start = accumulate ? y0[i] + bias[i % w.RowWidth] : bias[i % w.RowWidth];
                    OpCases.AssertExactly(start, y[i], $"y[{i / w.RowWidth}][{i % w.RowWidth}]", replay);
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(ReducedKernels.All), MemberType = typeof(ReducedKernels))]
    public void MultiplyRows_Int8WorstCaseSums_DoNotOverflow(string kernelName)
    {
        // Every weight ±127 (rows of ±1 quantize to q = ±127, scale 1/127) and every activation ±max (q = ±32767), with
        // signs that make every product +127·32767: a run of 256 pairs sums to 2,130,572,288 < 2³¹, and K = 4096 is
        // eight runs. A sum that wrapped would be off by 2³², far outside the bound, and differ from the scalar.
        ReducedKernelUnderTest kernel = ReducedKernels.Get(kernelName);
        const int K = 4096;
        int units = kernel.Lanes + 1;
        foreach (int rows in (int[])[1, 2, 3, 4, 5])
        {
            int seed = OpCases.Seed("Int8WorstCase", rows);
            string replay = $"replay: kernel={kernel} seed={seed} rows={rows}";
            var random = new Random(seed);
            var signs = new float[K];
            for (int j = 0; j < K; j++)
            {
                signs[j] = random.Next(2) == 0 ? -1f : 1f;
            }
            var weights = new float[units * K];
            for (int u = 0; u < units; u++)
            {
                signs.CopyTo(weights, u * K);
            }
            ReducedMatrix w = ReducedMatrix.FromRows(weights, units, K, 1, kernel.Lanes, WeightPrecision.Int8);
            var x = new float[rows * K];
            for (int r = 0; r < rows; r++)
            {
                float max = r % 2 == 0 ? 3.5f : 1e20f;
                for (int j = 0; j < K; j++)
                {
                    x[r * K + j] = (r % 3 == 2 ? -1 : 1) * signs[j] * max;
                }
            }
            float[] y = new float[rows * w.RowWidth];
            float[] expected = new float[rows * w.RowWidth];
            kernel.Kernel.MultiplyRows(x, rows, K, w, default, accumulate: false, y, new short[ReducedProductKernel.ScratchLength(rows, K)]);
            new ReducedProductsScalar(kernel.Lanes).MultiplyRows(x, rows, K, w, default, accumulate: false, expected,
                new short[ReducedProductKernel.ScratchLength(rows, K)]);
            for (int r = 0; r < rows; r++)
            {
                double exact = (r % 3 == 2 ? -1 : 1) * (double)K * Math.Abs(x[r * K]);
                for (int u = 0; u < units; u++)
                {
                    float actual = y[r * w.RowWidth + u];
                    OpCases.AssertExactly(expected[r * w.RowWidth + u], actual, $"y[{r}][{u}] vs scalar", replay);
                    Assert.True(Math.Abs(actual - exact) <= 1e-5 * Math.Abs(exact), $"y[{r}][{u}] = {actual}, expected {exact}; {replay}");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void MultiplyRows_Warm_AllocatesNothing(string kernelName, WeightPrecision precision)
    {
        ReducedKernelUnderTest kernel = ReducedKernels.Get(kernelName);
        const int Rows = 70, K = 300;
        var random = new Random(OpCases.Seed("Allocation", K));
        ReducedMatrix w = Matrix(random, precision, units: 40, K, gates: 4, kernel.Lanes, Values.Plain);
        float[] x = OpCases.Uniform(random, Rows * K, 1), bias = OpCases.Uniform(random, w.RowWidth, 1), y = new float[Rows * w.RowWidth];
        short[] scratch = new short[ReducedProductKernel.ScratchLength(Rows, K)];
        void Call() => kernel.Kernel.MultiplyRows(x, Rows, K, w, bias, accumulate: false, y, scratch);
        Call();
        Assert.Equal(0, AllocationMeter.MinBytesPerWindow(Call, 5));
    }

    [Fact]
    public void Registry_EveryVectorKernel_HasVectorReducedProductsOfItsLanes()
    {
        foreach (RnnKernel kernel in KernelRegistry.Available)
        {
            Assert.Equal(kernel.Lanes, kernel.Reduced.Lanes);
            if (kernel.Name != "Scalar")
            {
                Assert.IsNotType<ReducedProductsScalar>(kernel.Reduced);
            }
        }
    }

    [Theory]
    [MemberData(nameof(ReducedKernels.All), MemberType = typeof(ReducedKernels))]
    public void MultiplyRows_MatrixOfOtherLanes_Throws(string kernelName)
    {
        ReducedKernelUnderTest kernel = ReducedKernels.Get(kernelName);
        if (kernel.Kernel is ReducedProductsScalar)
        {
            return; // the definition reads any block width
        }
        ReducedMatrix w = ReducedMatrix.FromRows(new float[4 * 3], 3, 4, 1, kernel.Lanes * 2, WeightPrecision.BFloat16);
        Assert.Throws<ArgumentException>(() => kernel.Kernel.MultiplyRows(new float[4], 1, 4, w, default, false, new float[w.RowWidth], default));
    }

    // PyTorch-layout weights [G·H, K] in ±1 (with one huge element per row if asked), quantized.
    private static ReducedMatrix Matrix(Random random, WeightPrecision precision, int units, int k, int gates, int lanes, Values values)
    {
        float[] weights = OpCases.Uniform(random, gates * units * k, 1);
        if (values.HugeWeight != 0 && k > 0)
        {
            for (int row = 0; row < gates * units; row++)
            {
                weights[row * k + random.Next(k)] = random.Next(2) == 0 ? values.HugeWeight : -values.HugeWeight;
            }
        }
        return ReducedMatrix.FromRows(weights, units, k, gates, lanes, precision);
    }

    // The exact dequantized weight in double (ValueAt rounds q · s to float; the kernels never form that product).
    private static double Weight(ReducedMatrix w, int row, int column) => w.Precision == WeightPrecision.BFloat16
        ? w.ValueAt(row, column)
        : w.Bytes[w.IndexOf(row, column)] * (double)w.Scales[w.ScaleIndexOf(row)];

    private static void Run(ReducedKernelUnderTest kernel, WeightPrecision precision, Shape shape, Values values)
    {
        int v = kernel.Lanes;
        string op = $"MultiplyRows.{precision}";
        int seed = OpCases.Seed(op, shape.Rows, shape.Units, shape.Columns, shape.Gates, shape.XPadding, shape.Accumulate ? 1 : 0,
            shape.Bias ? 1 : 0, (int)Math.Log10(values.XScale), (int)values.HugeWeight);
        string replay = $"replay: op={op} kernel={kernel} lanes={v} seed={seed} {shape} xScale={values.XScale} huge={values.HugeWeight}";
        var random = new Random(seed);
        ReducedMatrix w = Matrix(random, precision, shape.Units, shape.Columns, shape.Gates, v, values);
        int width = w.RowWidth, k = shape.Columns;
        var x = new Guarded(shape.Rows * shape.XStride);
        x.Span.Fill(Guarded.Sentinel);
        for (int r = 0; r < shape.Rows; r++)
        {
            OpCases.Uniform(random, k, values.XScale).CopyTo(x.Span[(r * shape.XStride)..]);
        }
        Guarded bias = shape.Bias ? new Guarded(width) : new Guarded(0);
        for (int c = 0; c < bias.Length; c++)
        {
            // Padding lanes of the bias are zero, as the packed layer keeps them.
            bias[c] = c / (shape.Gates * v) * v + c % v < shape.Units ? OpCases.Uniform(random, 1) : 0f;
        }
        Guarded y = shape.Accumulate ? Guarded.InOut(OpCases.Uniform(random, shape.Rows * width, 1)) : Guarded.Output(shape.Rows * width);
        float[] y0 = y.ToArray();
        var scratch = new short[ReducedProductKernel.ScratchLength(shape.Rows, k)];

        kernel.Kernel.MultiplyRows(x.Span, shape.Rows, shape.XStride, w, bias.Span, shape.Accumulate, y.Span, scratch);

        float[] definition = [.. y0];
        new ReducedProductsScalar(v).MultiplyRows(x.Span, shape.Rows, shape.XStride, w, bias.Span, shape.Accumulate, definition,
            new short[ReducedProductKernel.ScratchLength(shape.Rows, k)]);
        bool exact = precision == WeightPrecision.Int8 || kernel.FusedLikeScalar;
        int runs = Math.Max(1, (w.Pairs + ReducedProductKernel.PairsPerRun - 1) / ReducedProductKernel.PairsPerRun);
        for (int r = 0; r < shape.Rows; r++)
        {
            double max = 0;
            for (int j = 0; j < k; j++)
            {
                max = Math.Max(max, Math.Abs(x[r * shape.XStride + j]));
            }
            for (int c = 0; c < width; c++)
            {
                int unit = c / (shape.Gates * v) * v + c % v, gate = c / v % shape.Gates;
                float actual = y[r * width + c];
                if (exact)
                {
                    OpCases.AssertExactly(definition[r * width + c], actual, $"y[{r}][{c}] vs the scalar definition", replay);
                }
                double start = (shape.Accumulate ? y0[r * width + c] : 0) + (shape.Bias ? bias[c] : 0);
                if (unit >= shape.Units)
                {
                    // Zero weights (and scale 0): the padding lane keeps its start.
                    OpCases.AssertExactly((float)start, actual, $"padding y[{r}][{c}]", replay);
                    continue;
                }
                int row = gate * shape.Units + unit;
                double value = start, magnitude = Math.Abs(start), absWeights = 0;
                for (int j = 0; j < k; j++)
                {
                    double weight = Weight(w, row, j), product = weight * x[r * shape.XStride + j];
                    value += product;
                    magnitude += Math.Abs(product);
                    absWeights += Math.Abs(weight);
                }
                Approx expected;
                if (precision == WeightPrecision.BFloat16)
                {
                    expected = Approx.Sum(value, magnitude, k + 2);
                }
                else
                {
                    double activation = max / 65534 * absWeights;
                    expected = new Approx(value, activation * (1 + 2 * ErrorBound.U) + ErrorBound.Sum(2 * runs + 8, magnitude + activation));
                }
                OpCases.AssertWithin(actual, expected, $"y[{r}][gate {gate}, unit {unit}]", replay);
            }
        }
        x.AssertGuardsIntact("x", replay);
        bias.AssertGuardsIntact("bias", replay);
        y.AssertGuardsIntact("y", replay);
    }
}
