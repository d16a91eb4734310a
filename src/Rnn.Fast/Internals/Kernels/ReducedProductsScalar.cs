using System.Runtime.CompilerServices;

namespace Rnn.Fast.Internals;

/// <summary>
/// Reduced-precision products one value at a time: the definition the vector widths are tested against, and the
/// fallback on any hardware. Lanes is the packing's block width (a scalar kernel packs 1-lane blocks, but the same
/// loops read any width, which the tests use to check every layout).
/// </summary>
internal sealed class ReducedProductsScalar(int lanes = 1) : ReducedProductKernel
{
    public override int Lanes { get; } = lanes;

    public override void MultiplyRows(ReadOnlySpan<float> x, int rows, int xStride, ReducedMatrix w, ReadOnlySpan<float> bias,
        bool accumulate, Span<float> y, Span<short> scratch)
    {
        int width = w.RowWidth;
        int v = w.Lanes, gates = w.Gates, pairs = w.Pairs;
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<float> xRow = x.Slice(r * xStride, w.Columns);
            Span<float> yRow = y.Slice(r * width, width);
            if (!accumulate)
            {
                yRow.Clear();
            }
            if (!bias.IsEmpty)
            {
                for (int c = 0; c < width; c++)
                {
                    yRow[c] += bias[c];
                }
            }
            if (w.Precision == WeightPrecision.BFloat16)
            {
                for (int b = 0; b < w.Blocks; b++)
                {
                    for (int g = 0; g < gates; g++)
                    {
                        for (int lane = 0; lane < v; lane++)
                        {
                            float sum = 0f;
                            for (int j = 0; j < w.Columns; j++)
                            {
                                int index = (((b * pairs + j / 2) * gates + g) * v + lane) * 2 + (j & 1);
                                sum = MathF.FusedMultiplyAdd(WeightQuantization.FromBFloat16(w.Half[index]), xRow[j], sum);
                            }
                            yRow[(b * gates + g) * v + lane] += sum;
                        }
                    }
                }
                continue;
            }
            Span<short> q = scratch.Slice(0, pairs * 2);
            float sx = QuantizeActivations(xRow, q);
            for (int b = 0; b < w.Blocks; b++)
            {
                for (int g = 0; g < gates; g++)
                {
                    for (int lane = 0; lane < v; lane++)
                    {
                        float sum = 0f;
                        for (int p0 = 0; p0 < pairs; p0 += PairsPerRun)
                        {
                            int run = 0;
                            for (int p = p0; p < Math.Min(pairs, p0 + PairsPerRun); p++)
                            {
                                int index = (((b * pairs + p) * gates + g) * v + lane) * 2;
                                run += w.Bytes[index] * q[2 * p] + w.Bytes[index + 1] * q[2 * p + 1];
                            }
                            sum += run;
                        }
                        int c = (b * gates + g) * v + lane;
                        yRow[c] = Scale(sum, w.Scales[c], sx, yRow[c]);
                    }
                }
            }
        }
    }

    // (sum · s_w) · s_x + base; NaN for every output when x held a non-finite value (s_x NaN). Not sum · (s_w · s_x): the
    // two scales' product can overflow (large weights, large x) where the product itself is finite, and 0 · Inf is NaN.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Scale(float sum, float weightScale, float activationScale, float baseValue) =>
        MathF.FusedMultiplyAdd(sum * weightScale, activationScale, baseValue);
}
