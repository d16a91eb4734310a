using Rnn.Fast.Internals;

namespace Rnn.Fast.Tests.Kernels;

/// <summary>
/// The product role (<see cref="ProductKernel"/>) against double-precision loops on PyTorch's row-major layout, per
/// kernel, at tile edges: row counts around the 4- and 2-row tiles, register-column counts around the 2- and 4-column
/// tiles (units × gates not a multiple of the lanes), input columns around the 4-column outer tiles, padded x rows.
/// </summary>
[Trait("Category", "Kernel")]
public sealed class BlockedProductsTests
{
    private static readonly int[] s_rows = [1, 2, 3, 4, 5, 7, 9, 17];
    private static readonly (int Units, int Gates)[] s_shapes = [(1, 1), (3, 4), (5, 3), (17, 1), (20, 4), (33, 1)];
    private static readonly int[] s_columns = [1, 3, 5, 8, 17];

    private static float[] Random(Random random, int length)
    {
        var values = new float[length];
        for (int i = 0; i < length; i++)
        {
            values[i] = (float)(random.NextDouble() * 2 - 1);
        }
        return values;
    }

    // Position of (gate, unit) in a packed product row: [block, gate, lane].
    private static int Slot(int gate, int unit, int gates, int lanes) => (unit / lanes * gates + gate) * lanes + unit % lanes;

    private static void AssertClose(double expected, float actual, double scale, string what) =>
        Assert.True(Math.Abs(expected - actual) <= 1e-5 * (1 + scale), $"{what}: expected {expected}, got {actual}");

    [Theory]
    [MemberData(nameof(KernelData.Available), MemberType = typeof(KernelData))]
    public void Products_MultiplyRows_AndAccumulate_MatchDoublePrecision(string kernelName)
    {
        RnnKernel kernel = KernelRegistry.Get(kernelName);
        int lanes = kernel.Lanes;
        var random = new Random(1111);
        foreach ((int units, int gates) in s_shapes)
        {
            foreach (int k in s_columns)
            {
                float[] weights = Random(random, gates * units * k);   // [G·H, K]
                PackedMatrix w = PackedMatrix.FromRows(weights, units, k, gates, lanes);
                float[] bias = Random(random, w.RowWidth);
                foreach (int rows in s_rows)
                {
                    int xStride = k + 2;   // padded rows: the product reads only the first K
                    float[] x = Random(random, rows * xStride);
                    float[] y = new float[rows * w.RowWidth];
                    kernel.Products.MultiplyRows(x, rows, xStride, w, bias, y);
                    float[] start = Random(random, rows * w.RowWidth);
                    float[] accumulated = (float[])start.Clone();
                    kernel.Products.MultiplyRowsAccumulate(x, rows, xStride, w, accumulated);
                    for (int r = 0; r < rows; r++)
                    {
                        for (int g = 0; g < gates; g++)
                        {
                            for (int u = 0; u < units; u++)
                            {
                                double sum = 0, scale = 0;
                                for (int j = 0; j < k; j++)
                                {
                                    double term = (double)weights[(g * units + u) * k + j] * x[r * xStride + j];
                                    sum += term;
                                    scale += Math.Abs(term);
                                }
                                int at = r * w.RowWidth + Slot(g, u, gates, lanes);
                                string where = $"{kernelName} H={units} G={gates} K={k} rows={r}/{rows} g={g} u={u}";
                                AssertClose(sum + bias[Slot(g, u, gates, lanes)], y[at], scale, $"MultiplyRows {where}");
                                AssertClose(sum + start[at], accumulated[at], scale, $"MultiplyRowsAccumulate {where}");
                            }
                        }
                    }
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(KernelData.Available), MemberType = typeof(KernelData))]
    public void Products_AccumulateOuter_AndRowSums_MatchDoublePrecision(string kernelName)
    {
        RnnKernel kernel = KernelRegistry.Get(kernelName);
        int lanes = kernel.Lanes;
        var random = new Random(1112);
        foreach ((int units, int gates) in s_shapes)
        {
            foreach (int k in s_columns)
            {
                var shape = new PackedMatrix(units, k, gates, lanes);
                foreach (int rows in s_rows)
                {
                    int xStride = k + 1;
                    float[] d = Random(random, rows * shape.RowWidth);
                    float[] x = Random(random, rows * xStride);
                    float[] gradient = Random(random, shape.Values.Length);
                    float[] before = (float[])gradient.Clone();
                    kernel.Products.AccumulateOuter(d, x, rows, xStride, shape, gradient);
                    for (int g = 0; g < gates; g++)
                    {
                        for (int u = 0; u < units; u++)
                        {
                            for (int j = 0; j < k; j++)
                            {
                                double sum = 0, scale = 0;
                                for (int r = 0; r < rows; r++)
                                {
                                    double term = (double)d[r * shape.RowWidth + Slot(g, u, gates, lanes)] * x[r * xStride + j];
                                    sum += term;
                                    scale += Math.Abs(term);
                                }
                                int at = shape.IndexOf(g * units + u, j);
                                AssertClose(before[at] + sum, gradient[at], scale, $"AccumulateOuter {kernelName} H={units} G={gates} K={k} rows={rows} g={g} u={u} j={j}");
                            }
                        }
                    }

                    float[] sums = Random(random, shape.RowWidth);
                    float[] sumsBefore = (float[])sums.Clone();
                    kernel.Elementwise.AccumulateRowSum(d, rows, sums);
                    for (int c = 0; c < shape.RowWidth; c++)
                    {
                        double sum = sumsBefore[c], scale = Math.Abs(sumsBefore[c]);
                        for (int r = 0; r < rows; r++)
                        {
                            sum += d[r * shape.RowWidth + c];
                            scale += Math.Abs(d[r * shape.RowWidth + c]);
                        }
                        AssertClose(sum, sums[c], scale, $"AccumulateRowSum {kernelName} width={shape.RowWidth} rows={rows} c={c}");
                    }
                }
            }
        }
    }
}
