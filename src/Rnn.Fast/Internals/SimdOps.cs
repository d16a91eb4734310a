using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Rnn.Fast.Internals;

/// <summary>Constants shared by the ops structs.</summary>
internal static class SimdConstants
{
    /// <summary>1.5·2²³: adding it rounds a float in ±2²² to an integer held in the low mantissa bits.</summary>
    public const float RoundingMagic = 12582912f;

    /// <summary>The bit pattern of <see cref="RoundingMagic"/> (0x4B400000).</summary>
    public const int RoundingBits = 0x4B400000;

    /// <summary>The bits of 1f (127 &lt;&lt; 23): added to n &lt;&lt; 23 it gives the bits of 2^n.</summary>
    public const int OneBits = 0x3F800000;
}

// The four widths. Each method is a one-line forward to the cross-platform intrinsic API, which
// lowers to AVX-512 / AVX2+FMA / SSE / NEON as the hardware allows. MultiplyAddEstimate emits a
// fused multiply-add where the ISA has one and a multiply plus an add where it does not
// (DOTNET_EnableAVX2=0 also turns FMA off), never a slow software emulation of fusing.
// PowerOfTwo shifts the bits of n + 1.5·2²³ left by 23: the magic's own bits (0x4B400000 has 22 trailing zero
// bits) shift out of the word, leaving n << 23, and adding the bits of 1f makes it the exponent field of 2^n.

internal readonly struct Vector512Ops : ISimdOps<Vector512<float>>
{
    public static int Lanes => Vector512<float>.Count;
    public static Vector512<float> Zero => Vector512<float>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Broadcast(float value) => Vector512.Create(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Load(ref readonly float source) => Vector512.LoadUnsafe(in source);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector512<float> value, ref float destination) => value.StoreUnsafe(ref destination);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Add(Vector512<float> a, Vector512<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Subtract(Vector512<float> a, Vector512<float> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Multiply(Vector512<float> a, Vector512<float> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Divide(Vector512<float> a, Vector512<float> b) => a / b;
    // rcp14 (relative error < 2^-14) and one Newton–Raphson step r' = r + r(1 − a r): error about 2^-28 before rounding.
    // Not preferred: the LSTM activation chain (ActivationBenchmarks, Math = Divide vs Reciprocal) measured a few percent
    // faster with divisions on Zen 4 and the same either way on Intel Emerald Rapids (family 6 model 207: 68.5 vs 67.4 ns
    // latency, 47.6 vs 46.0 ns throughput per chain), where the divider is not the bottleneck: the op count is.
    public static bool PreferReciprocal => false;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Reciprocal(Vector512<float> a)
    {
        if (!Avx512F.IsSupported)
        {
            return Vector512.Create(1f) / a;
        }
        Vector512<float> r = Avx512F.Reciprocal14(a);
        return Avx512F.FusedMultiplyAdd(r, Avx512F.FusedMultiplyAddNegated(a, r, Vector512.Create(1f)), r);
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> MultiplyAdd(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Vector512.MultiplyAddEstimate(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MultiplyAddNegated(Vector512<float> a, Vector512<float> b, Vector512<float> c) =>
        Avx512F.IsSupported ? Avx512F.FusedMultiplyAddNegated(a, b, c) : Vector512.MultiplyAddEstimate(-a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ReciprocalEstimate(Vector512<float> a) => Avx512F.IsSupported ? Avx512F.Reciprocal14(a) : Vector512.Create(1f) / a;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> MaxPropagateNaN(Vector512<float> a, Vector512<float> b) => Vector512.Max(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Abs(Vector512<float> a) => Vector512.Abs(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> MinNative(Vector512<float> a, Vector512<float> b) => Vector512.MinNative(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> MaxNative(Vector512<float> a, Vector512<float> b) => Vector512.MaxNative(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> PowerOfTwo(Vector512<float> rounded) =>
        (Vector512.ShiftLeft(rounded.AsInt32(), 23) + Vector512.Create(SimdConstants.OneBits)).AsSingle();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void PowersOfTwo(Vector512<float> rounded, out Vector512<float> first, out Vector512<float> second)
    {
        Vector512<int> n = rounded.AsInt32() - Vector512.Create(SimdConstants.RoundingBits);
        Vector512<int> half = Vector512.ShiftRightArithmetic(n, 1);
        first = Vector512.ShiftLeft(half + Vector512.Create(127), 23).AsSingle();
        second = Vector512.ShiftLeft(n - half + Vector512.Create(127), 23).AsSingle();
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> CopySign(Vector512<float> magnitude, Vector512<float> sign) => Vector512.CopySign(magnitude, sign);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> LessThan(Vector512<float> a, Vector512<float> b) => Vector512.LessThan(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> IsNaN(Vector512<float> a) => ~Vector512.Equals(a, a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Select(Vector512<float> mask, Vector512<float> ifTrue, Vector512<float> ifFalse) => Vector512.ConditionalSelect(mask, ifTrue, ifFalse);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vector512<float> a) => Vector256Ops.Sum(a.GetLower() + a.GetUpper());
}

internal readonly struct Vector256Ops : ISimdOps<Vector256<float>>
{
    public static int Lanes => Vector256<float>.Count;
    public static Vector256<float> Zero => Vector256<float>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Broadcast(float value) => Vector256.Create(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Load(ref readonly float source) => Vector256.LoadUnsafe(in source);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector256<float> value, ref float destination) => value.StoreUnsafe(ref destination);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Subtract(Vector256<float> a, Vector256<float> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Multiply(Vector256<float> a, Vector256<float> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Divide(Vector256<float> a, Vector256<float> b) => a / b;
    // rcp14 (AVX-512VL) and one Newton–Raphson step, or the 12-bit rcpps and two; without FMA, a division
    // (the steps would round e = 1 − a r badly and the estimate would cost more than it saves). Not
    // preferred: a division measured faster on Zen 4 and on Intel Emerald Rapids (56.5 vs 57.4 ns latency, 30.9 vs
    // 34.9 ns throughput per LSTM activation chain: the corrected estimate's three extra operations cost more).
    public static bool PreferReciprocal => false;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Reciprocal(Vector256<float> a)
    {
        Vector256<float> one = Vector256.Create(1f);
        if (Avx512F.VL.IsSupported)
        {
            Vector256<float> r = Avx512F.VL.Reciprocal14(a);
            return Fma.MultiplyAdd(r, Fma.MultiplyAddNegated(a, r, one), r);
        }
        if (Fma.IsSupported)
        {
            Vector256<float> r = Avx.Reciprocal(a);
            r = Fma.MultiplyAdd(r, Fma.MultiplyAddNegated(a, r, one), r);
            return Fma.MultiplyAdd(r, Fma.MultiplyAddNegated(a, r, one), r);
        }
        return one / a;
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> MultiplyAdd(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Vector256.MultiplyAddEstimate(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> MultiplyAddNegated(Vector256<float> a, Vector256<float> b, Vector256<float> c) =>
        Fma.IsSupported ? Fma.MultiplyAddNegated(a, b, c) : Vector256.MultiplyAddEstimate(-a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ReciprocalEstimate(Vector256<float> a)
    {
        Vector256<float> one = Vector256.Create(1f);
        if (Avx512F.VL.IsSupported)
        {
            return Avx512F.VL.Reciprocal14(a);
        }
        if (Fma.IsSupported)
        {
            // The 12-bit estimate and one step: 2^-23.
            Vector256<float> r = Avx.Reciprocal(a);
            return Fma.MultiplyAdd(r, Fma.MultiplyAddNegated(a, r, one), r);
        }
        return one / a;
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> MaxPropagateNaN(Vector256<float> a, Vector256<float> b) => Vector256.Max(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Abs(Vector256<float> a) => Vector256.Abs(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> MinNative(Vector256<float> a, Vector256<float> b) => Vector256.MinNative(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> MaxNative(Vector256<float> a, Vector256<float> b) => Vector256.MaxNative(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> PowerOfTwo(Vector256<float> rounded) =>
        (Vector256.ShiftLeft(rounded.AsInt32(), 23) + Vector256.Create(SimdConstants.OneBits)).AsSingle();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void PowersOfTwo(Vector256<float> rounded, out Vector256<float> first, out Vector256<float> second)
    {
        Vector256<int> n = rounded.AsInt32() - Vector256.Create(SimdConstants.RoundingBits);
        Vector256<int> half = Vector256.ShiftRightArithmetic(n, 1);
        first = Vector256.ShiftLeft(half + Vector256.Create(127), 23).AsSingle();
        second = Vector256.ShiftLeft(n - half + Vector256.Create(127), 23).AsSingle();
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> CopySign(Vector256<float> magnitude, Vector256<float> sign) => Vector256.CopySign(magnitude, sign);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> LessThan(Vector256<float> a, Vector256<float> b) => Vector256.LessThan(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> IsNaN(Vector256<float> a) => ~Vector256.Equals(a, a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Select(Vector256<float> mask, Vector256<float> ifTrue, Vector256<float> ifFalse) => Vector256.ConditionalSelect(mask, ifTrue, ifFalse);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vector256<float> a) => Vector128Ops.Sum(a.GetLower() + a.GetUpper());
}

internal readonly struct Vector128Ops : ISimdOps<Vector128<float>>
{
    public static int Lanes => Vector128<float>.Count;
    public static Vector128<float> Zero => Vector128<float>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Broadcast(float value) => Vector128.Create(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Load(ref readonly float source) => Vector128.LoadUnsafe(in source);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector128<float> value, ref float destination) => value.StoreUnsafe(ref destination);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Add(Vector128<float> a, Vector128<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Subtract(Vector128<float> a, Vector128<float> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Multiply(Vector128<float> a, Vector128<float> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Divide(Vector128<float> a, Vector128<float> b) => a / b;
    // As Vector256Ops.Reciprocal; other ISAs (ARM included, whose estimate is 8 bits) divide.
    public static bool PreferReciprocal => false;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Reciprocal(Vector128<float> a)
    {
        Vector128<float> one = Vector128.Create(1f);
        if (Avx512F.VL.IsSupported)
        {
            Vector128<float> r = Avx512F.VL.Reciprocal14(a);
            return Fma.MultiplyAdd(r, Fma.MultiplyAddNegated(a, r, one), r);
        }
        if (Fma.IsSupported)
        {
            Vector128<float> r = Sse.Reciprocal(a);
            r = Fma.MultiplyAdd(r, Fma.MultiplyAddNegated(a, r, one), r);
            return Fma.MultiplyAdd(r, Fma.MultiplyAddNegated(a, r, one), r);
        }
        return one / a;
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> MultiplyAdd(Vector128<float> a, Vector128<float> b, Vector128<float> c) => Vector128.MultiplyAddEstimate(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> MultiplyAddNegated(Vector128<float> a, Vector128<float> b, Vector128<float> c) =>
        Fma.IsSupported ? Fma.MultiplyAddNegated(a, b, c) : Vector128.MultiplyAddEstimate(-a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> ReciprocalEstimate(Vector128<float> a)
    {
        Vector128<float> one = Vector128.Create(1f);
        if (Avx512F.VL.IsSupported)
        {
            return Avx512F.VL.Reciprocal14(a);
        }
        if (Fma.IsSupported)
        {
            // The 12-bit estimate and one step: 2^-23.
            Vector128<float> r = Sse.Reciprocal(a);
            return Fma.MultiplyAdd(r, Fma.MultiplyAddNegated(a, r, one), r);
        }
        return one / a;
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> MaxPropagateNaN(Vector128<float> a, Vector128<float> b) => Vector128.Max(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Abs(Vector128<float> a) => Vector128.Abs(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> MinNative(Vector128<float> a, Vector128<float> b) => Vector128.MinNative(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> MaxNative(Vector128<float> a, Vector128<float> b) => Vector128.MaxNative(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> PowerOfTwo(Vector128<float> rounded) =>
        (Vector128.ShiftLeft(rounded.AsInt32(), 23) + Vector128.Create(SimdConstants.OneBits)).AsSingle();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void PowersOfTwo(Vector128<float> rounded, out Vector128<float> first, out Vector128<float> second)
    {
        Vector128<int> n = rounded.AsInt32() - Vector128.Create(SimdConstants.RoundingBits);
        Vector128<int> half = Vector128.ShiftRightArithmetic(n, 1);
        first = Vector128.ShiftLeft(half + Vector128.Create(127), 23).AsSingle();
        second = Vector128.ShiftLeft(n - half + Vector128.Create(127), 23).AsSingle();
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> CopySign(Vector128<float> magnitude, Vector128<float> sign) => Vector128.CopySign(magnitude, sign);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> LessThan(Vector128<float> a, Vector128<float> b) => Vector128.LessThan(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> IsNaN(Vector128<float> a) => ~Vector128.Equals(a, a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Select(Vector128<float> mask, Vector128<float> ifTrue, Vector128<float> ifFalse) => Vector128.ConditionalSelect(mask, ifTrue, ifFalse);
    // Pairwise: (l0+l2) + (l1+l3), a fixed order so every run gives the same bits.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Vector128<float> a)
    {
        Vector128<float> pairs = a + Vector128.Shuffle(a, Vector128.Create(2, 3, 0, 1));
        return pairs.ToScalar() + pairs.GetElement(1);
    }
}

/// <summary>One float per "register": the portable path that runs anywhere, with the same math as the vector paths.</summary>
internal readonly struct ScalarOps : ISimdOps<float>
{
    // Masks are floats whose bits are all ones (a NaN) or all zeros, like a vector lane.
    private static float AllOnes => BitConverter.Int32BitsToSingle(-1);

    public static int Lanes => 1;
    public static float Zero => 0f;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Broadcast(float value) => value;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Load(ref readonly float source) => source;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(float value, ref float destination) => destination = value;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Add(float a, float b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Subtract(float a, float b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Multiply(float a, float b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Divide(float a, float b) => a / b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Reciprocal(float a) => 1f / a;
    public static bool PreferReciprocal => false;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float MultiplyAdd(float a, float b, float c) => float.MultiplyAddEstimate(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float MultiplyAddNegated(float a, float b, float c) => float.MultiplyAddEstimate(-a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float ReciprocalEstimate(float a) => 1f / a;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float MaxPropagateNaN(float a, float b) => MathF.Max(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Abs(float a) => MathF.Abs(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float MinNative(float a, float b) => a < b ? a : b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float MaxNative(float a, float b) => a > b ? a : b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float PowerOfTwo(float rounded) =>
        BitConverter.Int32BitsToSingle((BitConverter.SingleToInt32Bits(rounded) << 23) + SimdConstants.OneBits);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void PowersOfTwo(float rounded, out float first, out float second)
    {
        int n = BitConverter.SingleToInt32Bits(rounded) - SimdConstants.RoundingBits;
        int half = n >> 1;
        first = BitConverter.Int32BitsToSingle((half + 127) << 23);
        second = BitConverter.Int32BitsToSingle((n - half + 127) << 23);
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float CopySign(float magnitude, float sign) => MathF.CopySign(magnitude, sign);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float LessThan(float a, float b) => a < b ? AllOnes : 0f;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float IsNaN(float a) => float.IsNaN(a) ? AllOnes : 0f;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Select(float mask, float ifTrue, float ifFalse) => BitConverter.SingleToInt32Bits(mask) != 0 ? ifTrue : ifFalse;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(float a) => a;
}
