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

    // exp(-s) = 1 - s + s²·Q(-s) on |s| <= ln2/2 with Q a degree-5 minimax fit for the relative error of exp
    // (tools/minimax/fit_activation_polynomials.py: 0.012 ulp before rounding; degree 4 saves an FMA but its
    // 0.5 ulp took σ past 3 ulp in an exhaustive check, where e's error lands near the top of σ's binade), every
    // coefficient pre-scaled by 2^-64 (exact): p·2^(n+64) then lands on e^-|x| with a single rounding, even
    // where e^-|x| is subnormal, with one normal power of two instead of two factors.
    private const float Q0 = 0.5f, Q1 = 0.166666641831398f, Q2 = 0.04166656360030174f, Q3 = 0.008334347046911716f,
        Q4 = 0.0013923876686021686f, Q5 = 0.00019128574058413506f;
    private const float SigmoidScale = 5.421010862427522e-20f; // 2^-64
    private const float SigmoidBias = 64f;
    // e^-104 is below half the smallest subnormal, so σ is 0 (x < 0) or 1 (x > 0) in float past |x| = 104;
    // below 2^-26, σ rounds to 0.5 and computing it there keeps s², s⁴ out of the subnormals.
    private const float SigmoidHigh = 104f;

    /// <summary>σ(x) = 1 / (1 + e^-x); max error 3 ulp, including the subnormal tail; exactly 1 for large x, never NaN from overflow.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Sigmoid<TOps, TV>(TV x) where TOps : struct, ISimdOps<TV> where TV : struct =>
        Sigmoid<TOps, TV>(x, TOps.PreferReciprocal);

    /// <summary>σ(x) with its quotient divided, or (<paramref name="reciprocal"/>) from a corrected reciprocal estimate; the tests measure both forms.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static TV Sigmoid<TOps, TV>(TV x, bool reciprocal) where TOps : struct, ISimdOps<TV> where TV : struct =>
        Sigmoid<TOps, TV>(x, reciprocal, SigmoidHigh);

    // Just under ln 2^63 = 43.668: σ(−GateHigh) = 1.0932e-19, above 2^-63 by more than the function's error, so a gate is
    // never below the flush threshold (and a product of a gate with a flushed value never below 2^-126).
    private const float GateHigh = 43.66f;

    /// <summary>
    /// σ(x) as a cell's gate: <see cref="Sigmoid{TOps, TV}(TV)"/> for x ≥ −43.66, and σ(−43.66) ≈ 1.01·2^-63 below, where σ itself
    /// falls under the engine's flush threshold (<see cref="FlushTiny{TOps, TV}"/>) and, below −87.3, into the subnormals,
    /// which every product with the gate would then pay a microcode assist for on x86 (a saturated gate from large
    /// inputs, every step). The change is the clamp's constant: nothing on the chain; the error it adds is under 1.1e-19
    /// absolute, and a gate times any flushed value (0 or at least 2^-63) is normal.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static TV GateSigmoid<TOps, TV>(TV x) where TOps : struct, ISimdOps<TV> where TV : struct =>
        Sigmoid<TOps, TV>(x, TOps.PreferReciprocal, GateHigh);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV Sigmoid<TOps, TV>(TV x, bool reciprocal, float clamp) where TOps : struct, ISimdOps<TV> where TV : struct
    {
        // With e = e^-|x| in (0, 1]: σ(x) = 1/(1+e) for x >= 0 and e/(1+e) for x < 0. The exp never
        // overflows, and for very negative x the result follows e^x down into the subnormals instead
        // of flushing to 0 as 1/(1+e^-x) would once e^-x overflows.
        // The clamps take the constant first: x86 min/max return their second operand when either is NaN (and
        // ARM's propagate NaN), so a NaN lane stays NaN through every step below without a final select.
        TV a = TOps.MinNative(TOps.Broadcast(clamp), TOps.MaxNative(TOps.Broadcast(ExpTiny), TOps.Abs(x)));

        // e^-a = 2^-k e^-s with k = round(a log2 e), s = a - k ln 2. The rounding constant carries the +64 bias, so
        // `rounded` holds n = 64 - k in its low bits, ready for PowerOfTwo, and `minusK` comes out of one subtraction.
        const float biasedMagic = SimdConstants.RoundingMagic + SigmoidBias;
        TV rounded = TOps.MultiplyAdd(a, TOps.Broadcast(-Log2E), TOps.Broadcast(biasedMagic));
        TV minusK = TOps.Subtract(rounded, TOps.Broadcast(biasedMagic));
        TV s = TOps.MultiplyAdd(minusK, TOps.Broadcast(Ln2High), a);
        s = TOps.MultiplyAdd(minusK, TOps.Broadcast(Ln2Low), s);

        // 2^-64 e^-s = 2^-64 + 2^-64 [−s + s²(Q0 − Q1 s) + s⁴((Q2 − Q3 s) + s²(Q4 − Q5 s))]: Estrin, with the 1 added
        // last so the bracket (|.| < 0.5) rounds far below an ulp of the result and p carries one rounding that
        // matters, not three (x < 0 passes e's error straight into σ, which an exhaustive check showed).
        TV s2 = TOps.Multiply(s, s);
        TV s4 = TOps.Multiply(s2, s2);
        TV linear = TOps.Multiply(s, TOps.Broadcast(-SigmoidScale));
        TV q01 = TOps.MultiplyAdd(s, TOps.Broadcast(-Q1 * SigmoidScale), TOps.Broadcast(Q0 * SigmoidScale));
        TV q23 = TOps.MultiplyAdd(s, TOps.Broadcast(-Q3 * SigmoidScale), TOps.Broadcast(Q2 * SigmoidScale));
        TV q45 = TOps.MultiplyAdd(s, TOps.Broadcast(-Q5 * SigmoidScale), TOps.Broadcast(Q4 * SigmoidScale));
        TV low = TOps.MultiplyAdd(q01, s2, linear);
        TV high = TOps.MultiplyAdd(q45, s2, q23);
        TV p = TOps.Add(TOps.MultiplyAdd(high, s4, low), TOps.Broadcast(SigmoidScale));
        TV e = TOps.Multiply(p, TOps.PowerOfTwo(rounded));

        TV one = TOps.Broadcast(1f);
        TV numerator = TOps.Select(TOps.LessThan(x, TOps.Zero), e, one);
        return DivideInRange<TOps, TV>(numerator, TOps.Add(one, e), reciprocal);
    }

    // For |x| above this tanh is ±1 in float (1 − tanh 9 ≈ 3e-8 < half an ulp of 1); clamping there keeps
    // 2^n of the reduction a normal float.
    private const float TanhSaturation = 9.1f;
    private const float TanhTiny = 1.2207031e-4f; // 2^-13

    // expm1(r) = r + r²·R(r) on |r| <= ln2/2, R a degree-4 minimax fit for the relative error of expm1 (same
    // script: 0.26 ulp before rounding; tanh stayed within 2.5 ulp over every float in an exhaustive check).
    // tanh evaluates it at r = -2ρ, so the coefficients of -expm1(-2ρ) = 2ρ + ρ²(T0 + T1 ρ + ... + T4 ρ⁴) are
    // those of R times -4·(-2)^k, exact in float.
    private const float R0 = 0.5f, R1 = 0.16666531562805176f, R2 = 0.04166616126894951f, R3 = 0.008368097245693207f, R4 = 0.001397591200657189f;
    private const float T0 = -4f * R0, T1 = 8f * R1, T2 = -16f * R2, T3 = 32f * R3, T4 = -64f * R4;

    /// <summary>tanh(x); max error 3 ulp; ±1 for large |x| (no NaN from overflow), sign of zero kept.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Tanh<TOps, TV>(TV x) where TOps : struct, ISimdOps<TV> where TV : struct =>
        Tanh<TOps, TV>(x, TOps.PreferReciprocal);

    /// <summary>tanh(x) with its quotient divided, or (<paramref name="reciprocal"/>) from a corrected reciprocal estimate; the tests measure both forms.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static TV Tanh<TOps, TV>(TV x, bool reciprocal) where TOps : struct, ISimdOps<TV> where TV : struct =>
        Tanh<TOps, TV>(x, reciprocal, flushTiny: false);

    /// <summary>
    /// tanh(x), except that where |x| is below 2^-63 it is zero of x's sign (<see cref="FlushTiny{TOps, TV}"/>), where
    /// tanh(x) rounds to x itself. The tiny lanes take the value from a select tanh makes anyway, and the flush of x is
    /// computed beside the polynomial, so on a cell's dependency chain this flush costs nothing (a flush of the result
    /// costs about 6 cycles of latency).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static TV TanhFlushingTiny<TOps, TV>(TV x) where TOps : struct, ISimdOps<TV> where TV : struct =>
        Tanh<TOps, TV>(x, TOps.PreferReciprocal, flushTiny: true);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV Tanh<TOps, TV>(TV x, bool reciprocal, bool flushTiny) where TOps : struct, ISimdOps<TV> where TV : struct
    {
        // tanh|x| = m / (2 − m) with m = −expm1(−2|x|) in [0, 1). expm1 keeps full relative accuracy near 0,
        // where 1 − 2/(e^{2x}+1) would cancel, so one branch-free path serves the whole range.
        // Below 2^-13, tanh x rounds to x (x³/3 is under half an ulp): those lanes take x itself, and the
        // polynomial runs on 2^-13 instead, so no intermediate goes subnormal (slow on some hardware).
        // Constant-first clamps keep NaN lanes NaN, as in Sigmoid.
        TV magnitude = TOps.Abs(x);
        TV tiny = TOps.LessThan(magnitude, TOps.Broadcast(TanhTiny));
        TV a = TOps.MinNative(TOps.Broadcast(TanhSaturation), TOps.MaxNative(TOps.Broadcast(TanhTiny), magnitude));

        // −2a = n ln2 + r with n = round(−2a log2 e) <= 0; reducing a by n·(ln2/2) instead gives ρ = −r/2 in
        // |ρ| <= ln2/4 without forming −2a (halving the Cody–Waite constants is exact).
        TV rounded = TOps.MultiplyAdd(a, TOps.Broadcast(-2f * Log2E), TOps.Broadcast(SimdConstants.RoundingMagic));
        TV n = TOps.Subtract(rounded, TOps.Broadcast(SimdConstants.RoundingMagic));
        TV rho = TOps.MultiplyAdd(n, TOps.Broadcast(0.5f * Ln2High), a);
        rho = TOps.MultiplyAdd(n, TOps.Broadcast(0.5f * Ln2Low), rho);

        // −expm1(−2ρ) = 2ρ + ρ²[(T0 + T1 ρ) + ρ²((T2 + T3 ρ) + T4 ρ²)], Estrin.
        TV rho2 = TOps.Multiply(rho, rho);
        TV rho4 = TOps.Multiply(rho2, rho2);
        TV twoRho = TOps.Add(rho, rho);
        TV t01 = TOps.MultiplyAdd(rho, TOps.Broadcast(T1), TOps.Broadcast(T0));
        TV t23 = TOps.MultiplyAdd(rho, TOps.Broadcast(T3), TOps.Broadcast(T2));
        TV t24 = TOps.MultiplyAdd(rho2, TOps.Broadcast(T4), t23);
        TV low = TOps.MultiplyAdd(t01, rho2, twoRho);
        TV p = TOps.MultiplyAdd(t24, rho4, low);                    // −expm1(r)

        // m = −expm1(n ln2 + r) = 2^n·(−expm1(r)) + (1 − 2^n), 1 − 2^n exact for the n that matter here; and
        // 2 − m formed the same way from p rather than from the rounded m, so the two roundings are independent
        // (2 − m would inherit m's error with the opposite sign and double it in the quotient), and the denominator
        // is ready at the same time as m instead of one operation later.
        TV scale = TOps.PowerOfTwo(rounded);
        TV one = TOps.Broadcast(1f);
        TV m = TOps.MultiplyAdd(scale, p, TOps.Subtract(one, scale));
        TV denominator = TOps.MultiplyAdd(TOps.Subtract(TOps.Zero, scale), p, TOps.Add(one, scale));
        TV t = DivideInRange<TOps, TV>(m, denominator, reciprocal);
        return TOps.Select(tiny, flushTiny ? FlushTiny<TOps, TV>(x) : x, TOps.CopySign(t, x));
    }

    /// <summary>
    /// The magnitude, 2^-63, below which the engine reads what it carries from step to step (h, c, and in training the
    /// gradients dc and dL/d(pre-activation)) and what callers pass in (inputs, <see cref="TinyInputs"/>) as zero:
    /// <see cref="FlushTiny{TOps, TV}"/>.
    /// </summary>
    internal const float FlushBelow = 1.0842021724855044e-19f;

    /// <summary>
    /// <paramref name="value"/> with every lane of magnitude below 2^-63 set to zero of its sign (as hardware
    /// flush-to-zero does); NaN, ±Inf and everything else kept bit for bit.
    /// </summary>
    /// <remarks>
    /// x86 cores run a multiply or FMA whose input or result is subnormal as a microcode assist, on the order of a
    /// hundred cycles instead of four (AMD's cores mostly do not), and .NET cannot set the FTZ/DAZ bits that make
    /// hardware flush instead. A state that decays (silence into an LSTM with small biases, a GRU holding still) passes
    /// through the subnormals, and so do vanishing gradients in BPTT with a loss on the last step only: measured on
    /// Emerald Rapids, a 1×16 LSTM stepping a state that decays in silence took up to 4.2 µs per step (26× its median)
    /// for the ~60 steps its state spent there, and an LSTM training step with the loss on its last step 680 ms against
    /// 46 ms with it on every step. So the kernels flush at the store. The threshold is 2^-63 rather than the smallest
    /// normal float (2^-126) so that a product of two flushed values (state or input times gradient), or of a flushed
    /// value and a weight of magnitude at least 2^-63, is itself normal: the products that follow stay out of the
    /// subnormals too. What it changes is below 2^-63 per element, beneath float's resolution of anything a step adds to
    /// it (a bias, an input, a loss gradient), as the flush-to-zero of PyTorch (<c>torch.set_flush_denormal</c>),
    /// TensorFlow and audio hosts' denormal guards is.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV FlushTiny<TOps, TV>(TV value) where TOps : struct, ISimdOps<TV> where TV : struct =>
        TOps.Select(TOps.LessThan(TOps.Abs(value), TOps.Broadcast(FlushBelow)), TOps.CopySign(TOps.Zero, value), value);

    // n / d for d in [1, 2] and n in [0, 2] (the activations' quotients; 1 + e and 2 − m are never 0, subnormal or
    // infinite): a division, or where that width's division is slow (ISimdOps.PreferReciprocal), a corrected estimate: q = n·r with
    // r ≈ 1/d to 2^-14, then q + (n − q·d)·r. The fused residual is exact, so the correction leaves an error of about
    // 2^-28 relative before the last rounding: a division's accuracy (n·Reciprocal(d), one rounding more, measured 3.19
    // ulp on tanh in an exhaustive check; this form stays with the division's 2.4) in four pipelined operations, where
    // a 512-bit division holds Intel's one divider for about 10 cycles.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV DivideInRange<TOps, TV>(TV n, TV d, bool reciprocal) where TOps : struct, ISimdOps<TV> where TV : struct
    {
        if (!reciprocal)
        {
            return TOps.Divide(n, d);
        }
        TV r = TOps.ReciprocalEstimate(d);
        TV q = TOps.Multiply(n, r);
        return TOps.MultiplyAdd(TOps.MultiplyAddNegated(q, d, n), r, q);
    }
}
