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

    // Taylor coefficients 1/k! for k = 2..7; the k = 8 term is < 6e-9 relative on |r| <= ln2/2.
    private const float C2 = 1f / 2, C3 = 1f / 6, C4 = 1f / 24, C5 = 1f / 120, C6 = 1f / 720, C7 = 1f / 5040;

    /// <summary>exp(x); max error 2 ulp (1.7 measured), +Inf above ~88.72, 0 below ~-103.97, NaN kept.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Exp<TOps, TV>(TV x) where TOps : struct, ISimdOps<TV> where TV : struct
    {
        // One-instruction clamps; a NaN lane comes out as some finite value and is put back at the end.
        TV xc = TOps.MinNative(TOps.MaxNative(x, TOps.Broadcast(ExpLow)), TOps.Broadcast(ExpHigh));

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

    // Below this |x| tanh uses its odd Taylor series; above, 1 - 2/(e^{2|x|}+1) has no harmful cancellation.
    private const float TanhSeriesLimit = 0.5f;

    // tanh x = x + x^3 (T3 + x^2 (T5 + ...)): Taylor coefficients up to x^17; on |x| < 0.5 the first
    // omitted term (x^19) is below 1e-9 relative.
    private const float T3 = -1f / 3, T5 = 2f / 15, T7 = -17f / 315, T9 = 62f / 2835, T11 = -1382f / 155925,
        T13 = 21844f / 6081075, T15 = -929569f / 638512875, T17 = 6404582f / 10854718875;

    /// <summary>tanh(x); max error 3 ulp (2.1 measured); ±1 for large |x| (no NaN from overflow), sign of zero kept.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Tanh<TOps, TV>(TV x) where TOps : struct, ISimdOps<TV> where TV : struct
    {
        TV a = TOps.Abs(x);

        // Both branches work on |x| and the sign is copied back at the end, so tanh(-0) = -0.
        TV x2 = TOps.Multiply(a, a);
        // T3 + T5 x² + ... + T17 x^14 (eight terms in x²) by Estrin's scheme, as in Exp.
        TV x4 = TOps.Multiply(x2, x2);
        TV x8 = TOps.Multiply(x4, x4);
        TV q01 = TOps.MultiplyAdd(TOps.Broadcast(T5), x2, TOps.Broadcast(T3));
        TV q23 = TOps.MultiplyAdd(TOps.Broadcast(T9), x2, TOps.Broadcast(T7));
        TV q45 = TOps.MultiplyAdd(TOps.Broadcast(T13), x2, TOps.Broadcast(T11));
        TV q67 = TOps.MultiplyAdd(TOps.Broadcast(T17), x2, TOps.Broadcast(T15));
        TV q03 = TOps.MultiplyAdd(q23, x4, q01);
        TV q47 = TOps.MultiplyAdd(q67, x4, q45);
        TV p = TOps.MultiplyAdd(q47, x8, q03);
        TV small = TOps.MultiplyAdd(TOps.Multiply(a, x2), p, a);

        // e^{2|x|} overflows to +Inf for |x| > 44: 2/(Inf+1) = 0 and the result is exactly ±1.
        TV e = Exp<TOps, TV>(TOps.Add(a, a));
        TV large = TOps.Subtract(TOps.Broadcast(1f), TOps.Divide(TOps.Broadcast(2f), TOps.Add(e, TOps.Broadcast(1f))));

        // NaN fails the comparison and takes the "large" path, where it propagates.
        return TOps.CopySign(TOps.Select(TOps.LessThan(a, TOps.Broadcast(TanhSeriesLimit)), small, large), x);
    }
}
