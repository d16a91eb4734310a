using System.Runtime.CompilerServices;

namespace Rnn.Fast.Internals;

/// <summary>
/// exp, sigmoid and tanh written once over <see cref="ISimdOps{TV}"/>, so every width (and the scalar
/// path) computes the same function. Accurate by default: the error bounds below are measured over the
/// whole float range by the activation tests against double precision.
/// </summary>
internal static class SimdMath
{
    // exp(x) = 2^n * exp(r), n = round(x / ln 2), r = x - n ln 2 in [-ln2/2, ln2/2].
    // ln 2 is split in a high part with 9 trailing zero bits (so n * Ln2High is exact for |n| < 512)
    // and a low part; this Cody–Waite reduction keeps r accurate to a few ulp of r.
    private const float Log2E = 1.44269504088896341f;
    private const float Ln2High = 0.693145751953125f;
    private const float Ln2Low = 1.42860682030941723212e-6f;

    // Inputs are clamped to [ExpLow, ExpHigh] before the reduction. The clamp needs no fix-up afterwards:
    // e^89 is past float's range, so every x above ~88.72 still rounds to +Inf through 2^n; e^-104 is below
    // half the smallest subnormal, so every x below ~-103.97 still rounds to 0.
    private const float ExpHigh = 89f;
    private const float ExpLow = -104f;
    private const float ExpTiny = 1.4901161e-8f; // 2^-26

    // Taylor coefficients 1/k! for k = 2..7; the k = 8 term is < 6e-9 relative on |r| <= ln2/2.
    private const float C2 = 1f / 2, C3 = 1f / 6, C4 = 1f / 24, C5 = 1f / 120, C6 = 1f / 720, C7 = 1f / 5040;

    /// <summary>exp(x); max error 2 ulp (1.7 measured), +Inf above ~88.72, 0 below ~-103.97, NaN kept.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Exp<TOps, TV>(TV x) where TOps : struct, ISimdOps<TV> where TV : struct
    {
        // One-instruction clamps; a NaN lane comes out as some finite value and is put back at the end.
        TV xc = TOps.MinNative(TOps.MaxNative(x, TOps.Broadcast(ExpLow)), TOps.Broadcast(ExpHigh));
        // e^x rounds to exactly 1 for |x| < 2^-26; computing that as e^0 keeps r², r⁴ out of the subnormal
        // range, where arithmetic can be many times slower (a state decaying in silence drives gate inputs there).
        xc = TOps.Select(TOps.LessThan(TOps.Abs(xc), TOps.Broadcast(ExpTiny)), TOps.Zero, xc);

        // n = round(x log2 e) by the 1.5·2²³ trick: the sum's low mantissa bits hold n as an integer, which
        // PowersOfTwo reads directly, so no float→int conversion (and its saturation fix-ups) is needed.
        TV rounded = TOps.MultiplyAdd(xc, TOps.Broadcast(Log2E), TOps.Broadcast(SimdConstants.RoundingMagic));
        TV n = TOps.Subtract(rounded, TOps.Broadcast(SimdConstants.RoundingMagic));
        TV r = TOps.MultiplyAdd(n, TOps.Broadcast(-Ln2High), xc);
        r = TOps.MultiplyAdd(n, TOps.Broadcast(-Ln2Low), r);

        // 1 + r + ... + C7 r^7 by Estrin's scheme: four independent pairs, then two levels, so the chain is
        // three FMAs deep instead of seven (this exp sits on the critical path of every gate).
        TV r2 = TOps.Multiply(r, r);
        TV p01 = TOps.Add(TOps.Broadcast(1f), r);
        TV p23 = TOps.MultiplyAdd(TOps.Broadcast(C3), r, TOps.Broadcast(C2));
        TV p45 = TOps.MultiplyAdd(TOps.Broadcast(C5), r, TOps.Broadcast(C4));
        TV p67 = TOps.MultiplyAdd(TOps.Broadcast(C7), r, TOps.Broadcast(C6));
        TV r4 = TOps.Multiply(r2, r2);
        TV p03 = TOps.MultiplyAdd(p23, r2, p01);
        TV p47 = TOps.MultiplyAdd(p67, r2, p45);
        TV p = TOps.MultiplyAdd(p47, r4, p03);

        // n spans [-150, 128], beyond one exponent field: scale by two halves so results near the overflow
        // edge stay finite and subnormal results are produced instead of flushing to zero.
        TOps.PowersOfTwo(rounded, out TV first, out TV second);
        TV result = TOps.Multiply(TOps.Multiply(p, first), second);
        return TOps.Select(TOps.IsNaN(x), x, result);
    }

    /// <summary>σ(x) = 1 / (1 + e^-x); max error 3 ulp (2.3 measured), including the subnormal tail; exactly 1 for large x, never NaN from overflow.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Sigmoid<TOps, TV>(TV x) where TOps : struct, ISimdOps<TV> where TV : struct
    {
        // With e = e^-|x| in (0, 1]: σ(x) = 1/(1+e) for x >= 0 and e/(1+e) for x < 0. The exp never
        // overflows, and for very negative x the result follows e^x down into the subnormals instead
        // of flushing to 0 as 1/(1+e^-x) would once e^-x overflows. NaN propagates through e.
        TV e = Exp<TOps, TV>(TOps.Subtract(TOps.Zero, TOps.Abs(x)));
        TV one = TOps.Broadcast(1f);
        TV numerator = TOps.Select(TOps.LessThan(x, TOps.Zero), e, one);
        return TOps.Divide(numerator, TOps.Add(one, e));
    }

    // For |x| above this tanh is ±1 in float (1 − tanh 9 ≈ 3e-8 < half an ulp of 1); clamping there keeps
    // 2^n of the reduction a normal float.
    private const float TanhSaturation = 9.1f;
    private const float TanhTiny = 1.2207031e-4f; // 2^-13

    // expm1(r) = r + r² (E2 + E3 r + ... + E8 r⁶) on |r| <= ln2/2: Taylor coefficients 1/k!; the first
    // omitted term is below 1e-9 relative.
    private const float E2 = 1f / 2, E3 = 1f / 6, E4 = 1f / 24, E5 = 1f / 120, E6 = 1f / 720, E7 = 1f / 5040, E8 = 1f / 40320;

    /// <summary>tanh(x); max error 3 ulp (2.4 measured); ±1 for large |x| (no NaN from overflow), sign of zero kept.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Tanh<TOps, TV>(TV x) where TOps : struct, ISimdOps<TV> where TV : struct
    {
        // tanh|x| = −m / (2 + m) with m = expm1(−2|x|) in (−1, 0]. expm1 keeps full relative accuracy near 0,
        // where 1 − 2/(e^{2x}+1) would cancel, so one branch-free path serves the whole range.
        // Below 2^-13, tanh x rounds to x (x³/3 is under half an ulp): those lanes take x itself, and the
        // polynomial runs on 2^-13 instead, so no intermediate goes subnormal (slow on some hardware).
        TV magnitude = TOps.Abs(x);
        TV tiny = TOps.LessThan(magnitude, TOps.Broadcast(TanhTiny));
        TV a = TOps.MinNative(TOps.MaxNative(magnitude, TOps.Broadcast(TanhTiny)), TOps.Broadcast(TanhSaturation));
        TV y = TOps.Multiply(a, TOps.Broadcast(-2f));
        TV rounded = TOps.MultiplyAdd(y, TOps.Broadcast(Log2E), TOps.Broadcast(SimdConstants.RoundingMagic));
        TV n = TOps.Subtract(rounded, TOps.Broadcast(SimdConstants.RoundingMagic));
        TV r = TOps.MultiplyAdd(n, TOps.Broadcast(-Ln2High), y);
        r = TOps.MultiplyAdd(n, TOps.Broadcast(-Ln2Low), r);

        TV r2 = TOps.Multiply(r, r);
        TV r4 = TOps.Multiply(r2, r2);
        TV q23 = TOps.MultiplyAdd(TOps.Broadcast(E3), r, TOps.Broadcast(E2));
        TV q45 = TOps.MultiplyAdd(TOps.Broadcast(E5), r, TOps.Broadcast(E4));
        TV q67 = TOps.MultiplyAdd(TOps.Broadcast(E7), r, TOps.Broadcast(E6));
        TV q25 = TOps.MultiplyAdd(q45, r2, q23);
        TV q68 = TOps.MultiplyAdd(TOps.Broadcast(E8), r2, q67);
        TV q = TOps.MultiplyAdd(q68, r4, q25);
        TV p = TOps.MultiplyAdd(r2, q, r);                          // expm1(r)

        // expm1(n ln2 + r) = 2^n expm1(r) + (2^n − 1); 2^n − 1 is exact for the n that matter here.
        TV s = TOps.PowerOfTwo(rounded);
        TV m = TOps.MultiplyAdd(s, p, TOps.Subtract(s, TOps.Broadcast(1f)));
        TV t = TOps.Divide(TOps.Subtract(TOps.Zero, m), TOps.Add(TOps.Broadcast(2f), m));

        // NaN: Abs keeps it, MinNative may turn it into the bound, so put it back.
        return TOps.Select(tiny, x, TOps.Select(TOps.IsNaN(x), x, TOps.CopySign(t, x)));
    }
}
