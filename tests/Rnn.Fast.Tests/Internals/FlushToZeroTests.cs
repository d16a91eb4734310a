using System.Runtime.Intrinsics;
using Rnn.Fast.Internals;

namespace Rnn.Fast.Tests.Internals;

/// <summary>
/// The engine's flush-to-zero: <see cref="SimdMath.FlushTiny{TOps, TV}"/> at every width, and <see cref="TinyInputs"/>
/// at every length around the vector widths, on the edges of the 2^-63 threshold and the special values.
/// </summary>
[Trait("Category", "Kernel")]
public sealed class FlushToZeroTests
{
    private static readonly float s_threshold = MathF.ScaleB(1f, -63);

    // Below the threshold (flushed): subnormals of both signs, the smallest normal, 2^-64, the float just under 2^-63.
    private static readonly float[] s_tiny =
    [
        float.Epsilon, -float.Epsilon, 1e-40f, -1e-39f, 1.17549435e-38f, -1.17549435e-38f, MathF.ScaleB(1f, -64),
        -MathF.ScaleB(1f, -64), MathF.BitDecrement(s_threshold), -MathF.BitDecrement(s_threshold), 1e-30f,
    ];

    // At or above it (kept bit for bit), and the values a flush must never touch.
    private static readonly float[] s_kept =
    [
        0f, -0f, s_threshold, -s_threshold, MathF.BitIncrement(s_threshold), 1e-10f, -0.5f, 1f, 3.4e38f, float.MaxValue,
        float.PositiveInfinity, float.NegativeInfinity, float.NaN, -float.NaN,
    ];

    [Theory]
    [MemberData(nameof(ActivationAccuracyTests.Widths), MemberType = typeof(ActivationAccuracyTests))]
    public void FlushTiny_EveryWidth_ZeroBelowTwoToMinus63_EverythingElseBitForBit(string width)
    {
        // Every value in every lane position: the list is repeated with a shift, so each value meets each lane.
        float[] values = [.. s_tiny, .. s_kept];
        int n = values.Length * 16;
        float[] input = new float[n];
        for (int i = 0; i < n; i++)
        {
            input[i] = values[(i + i / values.Length) % values.Length];
        }
        float[] output = width switch
        {
            "Vector512" => Flush<Vector512Ops, Vector512<float>>(input),
            "Vector256" => Flush<Vector256Ops, Vector256<float>>(input),
            "Vector128" => Flush<Vector128Ops, Vector128<float>>(input),
            _ => Flush<ScalarOps, float>(input),
        };
        for (int i = 0; i < n; i++)
        {
            bool tiny = input[i] != 0 && MathF.Abs(input[i]) < s_threshold;
            int expected = BitConverter.SingleToInt32Bits(tiny ? MathF.CopySign(0f, input[i]) : input[i]);
            Assert.True(expected == BitConverter.SingleToInt32Bits(output[i]) || (float.IsNaN(input[i]) && float.IsNaN(output[i])),
                $"{width}: FlushTiny({input[i]:R}) = {output[i]:R} at {i}, expected {(tiny ? "a zero of its sign" : "the input")}");
        }
    }

    [Theory]
    [MemberData(nameof(ActivationAccuracyTests.Widths), MemberType = typeof(ActivationAccuracyTests))]
    public void TanhFlushingTiny_EveryWidth_IsTanhAboveTwoToMinus63_ZeroOfItsSignBelow(string width)
    {
        // The special values, both sides of 2^-63 and of tanh's own 2^-13 edge, then a log-uniform sweep of magnitudes.
        var random = new Random(13);
        float[] edges = [.. s_tiny, .. s_kept, 1.2207031e-4f, -1.2207031e-4f, MathF.BitDecrement(1.2207031e-4f), 0.5f, -9.5f, 20f];
        float[] input = new float[1024];
        for (int i = 0; i < input.Length; i++)
        {
            input[i] = i < edges.Length ? edges[i] : (random.Next(2) == 0 ? -1 : 1) * MathF.Pow(2, (float)(random.NextDouble() * 160 - 150));
        }
        (float[] flushing, float[] plain) = width switch
        {
            "Vector512" => Tanhs<Vector512Ops, Vector512<float>>(input),
            "Vector256" => Tanhs<Vector256Ops, Vector256<float>>(input),
            "Vector128" => Tanhs<Vector128Ops, Vector128<float>>(input),
            _ => Tanhs<ScalarOps, float>(input),
        };
        for (int i = 0; i < input.Length; i++)
        {
            bool tiny = input[i] != 0 && MathF.Abs(input[i]) < s_threshold;
            float expected = tiny ? MathF.CopySign(0f, input[i]) : plain[i];
            Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(flushing[i]) ||
                (float.IsNaN(expected) && float.IsNaN(flushing[i])),
                $"{width}: TanhFlushingTiny({input[i]:R}) = {flushing[i]:R}, expected {expected:R}");
        }
    }

    [Theory]
    [MemberData(nameof(ActivationAccuracyTests.Widths), MemberType = typeof(ActivationAccuracyTests))]
    public void GateSigmoid_EveryWidth_IsSigmoidFromMinus43_JustAboveTwoToMinus63Below_NeverSubnormal(string width)
    {
        var random = new Random(43);
        float[] edges = [-43.6f, -43.65f, -43.66f, -43.67f, -43.7f, -50f, -87.3f, -95f, -103.9f, -104f, -1e30f, float.NegativeInfinity,
            float.PositiveInfinity, float.NaN, 0f, -0f, 1e-40f, 43.7f, 104f, -1f, 2.5f];
        float[] input = new float[1024];
        for (int i = 0; i < input.Length; i++)
        {
            input[i] = i < edges.Length ? edges[i] : (float)(random.NextDouble() * 300 - 200);
        }
        (float[] gate, float[] plain) = width switch
        {
            "Vector512" => Sigmoids<Vector512Ops, Vector512<float>>(input),
            "Vector256" => Sigmoids<Vector256Ops, Vector256<float>>(input),
            "Vector128" => Sigmoids<Vector128Ops, Vector128<float>>(input),
            _ => Sigmoids<ScalarOps, float>(input),
        };
        for (int i = 0; i < input.Length; i++)
        {
            float x = input[i];
            string what = $"{width}: GateSigmoid({x:R}) = {gate[i]:R}, Sigmoid = {plain[i]:R}";
            Assert.False(float.IsSubnormal(gate[i]), what);
            if (float.IsNaN(x) || x >= -43.65f)
            {
                Assert.True(BitConverter.SingleToInt32Bits(plain[i]) == BitConverter.SingleToInt32Bits(gate[i]) || (float.IsNaN(x) && float.IsNaN(gate[i])), what);
            }
            else
            {
                // σ(x) is about 2^-63 or less here: the gate stays at σ(−43.66) = 1.0932e-19, just above 2^-63 (never
                // below the flush threshold, never subnormal) and within 1.1e-19 of σ(x).
                Assert.True(gate[i] >= s_threshold && gate[i] <= 1.02f * s_threshold, what);
            }
        }
    }

    [Fact]
    public void TinyInputs_EveryLengthAndPosition_FlushesExactlyTheTinyValues()
    {
        var random = new Random(63);
        for (int n = 0; n <= 70; n++)
        {
            float[] clean = [.. Enumerable.Range(0, n).Select(_ => s_kept[random.Next(s_kept.Length)])];
            float[] scratch = new float[n];
            Assert.False(TinyInputs.AnyTiny(clean), $"n={n}: no tiny value, but AnyTiny said so");
            ReadOnlySpan<float> same = TinyInputs.Flushed(clean, scratch);
            Assert.True(same == clean.AsSpan(), $"n={n}: a clean span must be used in place, not copied");

            for (int at = 0; at < n; at++)
            {
                float[] dirty = (float[])clean.Clone();
                dirty[at] = s_tiny[random.Next(s_tiny.Length)];
                Assert.True(TinyInputs.AnyTiny(dirty), $"n={n}: {dirty[at]:R} at {at} not found");
                ReadOnlySpan<float> flushed = TinyInputs.Flushed(dirty, scratch);
                Assert.True(flushed == scratch.AsSpan(), $"n={n}: the flushed copy belongs in the scratch");
                for (int i = 0; i < n; i++)
                {
                    float expected = i == at ? MathF.CopySign(0f, dirty[at]) : clean[i];
                    Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(flushed[i]) ||
                        (float.IsNaN(expected) && float.IsNaN(flushed[i])), $"n={n}, tiny at {at}: [{i}] = {flushed[i]:R}, expected {expected:R}");
                }
            }
        }
    }

    private static (float[] Gate, float[] Plain) Sigmoids<TOps, TV>(float[] input) where TOps : struct, ISimdOps<TV> where TV : struct
    {
        float[] gate = new float[input.Length], plain = new float[input.Length];
        for (int i = 0; i < input.Length; i += TOps.Lanes)
        {
            TV x = TOps.Load(in input[i]);
            TOps.Store(SimdMath.GateSigmoid<TOps, TV>(x), ref gate[i]);
            TOps.Store(SimdMath.Sigmoid<TOps, TV>(x), ref plain[i]);
        }
        return (gate, plain);
    }

    private static (float[] Flushing, float[] Plain) Tanhs<TOps, TV>(float[] input) where TOps : struct, ISimdOps<TV> where TV : struct
    {
        float[] flushing = new float[input.Length], plain = new float[input.Length];
        for (int i = 0; i < input.Length; i += TOps.Lanes)
        {
            TV x = TOps.Load(in input[i]);
            TOps.Store(SimdMath.TanhFlushingTiny<TOps, TV>(x), ref flushing[i]);
            TOps.Store(SimdMath.Tanh<TOps, TV>(x), ref plain[i]);
        }
        return (flushing, plain);
    }

    private static float[] Flush<TOps, TV>(float[] input) where TOps : struct, ISimdOps<TV> where TV : struct
    {
        float[] output = new float[input.Length];
        for (int i = 0; i < input.Length; i += TOps.Lanes)
        {
            TOps.Store(SimdMath.FlushTiny<TOps, TV>(TOps.Load(in input[i])), ref output[i]);
        }
        return output;
    }
}
