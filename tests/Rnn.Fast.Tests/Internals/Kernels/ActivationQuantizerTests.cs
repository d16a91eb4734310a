using Rnn.Fast.Internals;

namespace Rnn.Fast.Tests.Internals.Kernels;

/// <summary>The vectorized int16 quantization of an x row equals the contract's definition bit for bit.</summary>
[Trait("Category", "Kernel")]
public sealed class ActivationQuantizerTests
{
    [Fact]
    public void Quantize_EveryLengthAndScale_EqualsTheDefinition()
    {
        // Scales across the float range: 1e-36 makes 32767 / m overflow (the definition's clamp decides there),
        // 1e-42 is subnormal; exact ties (x · inverse = n + 1/2) come from small integers.
        double[] scales = [1, 1e30, 1e-30, 1e-36, 1e-42, 3e38];
        int[] lengths = [.. Enumerable.Range(0, 71), 127, 128, 129, 255, 256, 257, 511, 512, 513];
        foreach (double scale in scales)
        {
            foreach (int k in lengths)
            {
                int seed = OpCases.Seed("Quantize", k, (int)Math.Log10(scale));
                var random = new Random(seed);
                float[] x = OpCases.Uniform(random, k, scale);
                if (k > 3 && scale == 1)
                {
                    // Ties: with m = 32767 · 2, x = n + 1/2 maps to n/2 + 1/4… and x = 2n + 1 to exactly n + 1/2.
                    x[0] = 65534f;
                    for (int j = 1; j < k; j++)
                    {
                        x[j] = random.Next(-2000, 2000) * 2 + 1;
                    }
                }
                Check(x, $"seed={seed} K={k} scale={scale}");
            }
        }
    }

    [Fact]
    public void Quantize_NonFiniteAndZeroRows_EqualTheDefinition()
    {
        foreach (float bad in (float[])[float.NaN, float.PositiveInfinity, float.NegativeInfinity, -0f, 0f])
        {
            foreach (int k in (int[])[1, 7, 8, 9, 33, 513])
            {
                for (int at = 0; at < k; at += Math.Max(1, k / 5))
                {
                    float[] x = bad == 0 ? new float[k] : OpCases.Uniform(new Random(k + at), k, 1);
                    x[at] = bad;
                    Check(x, $"K={k} x[{at}]={bad}");
                }
            }
        }
    }

    private static void Check(float[] x, string replay)
    {
        int length = (x.Length + 1) / 2 * 2;
        short[] expected = new short[length], actual = new short[length];
        actual.AsSpan().Fill(-999);
        expected.AsSpan().Fill(-999);
        float sxExpected = ReducedProductKernel.QuantizeActivations(x, expected);
        float sxActual = ActivationQuantizer.Quantize(x, actual);
        Assert.True(BitConverter.SingleToInt32Bits(sxExpected) == BitConverter.SingleToInt32Bits(sxActual),
            $"s_x {sxActual:R}, definition {sxExpected:R}; {replay}");
        Assert.True(expected.AsSpan().SequenceEqual(actual), $"q differs at {expected.AsSpan().CommonPrefixLength(actual)}; {replay}");
    }
}
