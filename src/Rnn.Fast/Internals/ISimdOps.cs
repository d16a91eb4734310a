namespace Rnn.Fast.Internals;

/// <summary>
/// The handful of lane-wise operations the kernels need, abstracted over one vector width.
/// Kernels are generic over a struct implementing this interface, so the JIT specialises and inlines
/// every call: one kernel source serves Vector512, Vector256, Vector128 and plain float.
/// </summary>
/// <typeparam name="TV">The register type: <c>Vector512&lt;float&gt;</c>, <c>Vector256&lt;float&gt;</c>,
/// <c>Vector128&lt;float&gt;</c> or <c>float</c>.</typeparam>
internal interface ISimdOps<TV> where TV : struct
{
    /// <summary>Floats per register.</summary>
    static abstract int Lanes { get; }

    static abstract TV Zero { get; }
    static abstract TV Broadcast(float value);
    static abstract TV Load(ref readonly float source);
    static abstract void Store(TV value, ref float destination);

    static abstract TV Add(TV a, TV b);
    static abstract TV Subtract(TV a, TV b);
    static abstract TV Multiply(TV a, TV b);
    static abstract TV Divide(TV a, TV b);

    /// <summary>
    /// 1 / <paramref name="a"/> within about 0.5 ulp for normal <paramref name="a"/> (not 0, ±Inf or subnormal):
    /// a hardware estimate refined by Newton–Raphson where the ISA has one (rcp14 + one step, rcpps + two steps,
    /// all with FMA), an exact division otherwise.
    /// </summary>
    static abstract TV Reciprocal(TV a);

    /// <summary>
    /// 1 / <paramref name="a"/> within a relative error of 2^-14 for normal <paramref name="a"/>: the raw hardware
    /// estimate where it has 14 bits (rcp14), the 12-bit one with a Newton–Raphson step, or an exact division where the
    /// ISA has no estimate. A start for a corrected quotient, not a result.
    /// </summary>
    static abstract TV ReciprocalEstimate(TV a);

    /// <summary>
    /// Whether the activations' quotients use <see cref="ReciprocalEstimate"/> and a correction step instead of
    /// a division at this width: true only where that is faster. No width is, on the CPUs measured so far (Zen 4 and
    /// Intel Emerald Rapids: ActivationBenchmarks, Math = Divide vs Reciprocal). A constant, so the JIT drops the branch.
    /// </summary>
    static abstract bool PreferReciprocal { get; }

    /// <summary><c>a * b + c</c>; fused where the hardware has FMA, else multiply then add.</summary>
    static abstract TV MultiplyAdd(TV a, TV b, TV c);

    /// <summary><c>c − a * b</c>; fused where the hardware has FMA (then exact before its one rounding), else not.</summary>
    static abstract TV MultiplyAddNegated(TV a, TV b, TV c);

    /// <summary>Lane-wise maximum that returns NaN when either lane is NaN (ReLU must keep NaN).</summary>
    static abstract TV MaxPropagateNaN(TV a, TV b);
    static abstract TV Abs(TV a);

    /// <summary>Lane-wise min/max as the hardware does it (one instruction); a NaN lane may give either operand.</summary>
    static abstract TV MinNative(TV a, TV b);
    /// <inheritdoc cref="MinNative"/>
    static abstract TV MaxNative(TV a, TV b);

    /// <summary>
    /// From <paramref name="rounded"/> = n + 1.5·2²³ (an integer n in [-150, 128] held in the low mantissa
    /// bits, as left by the round-to-nearest trick), the factors 2^⌊n/2⌋ and 2^(n−⌊n/2⌋), built with
    /// integer operations on the exponent field; their product is 2^n even where 2^n alone is not a normal float.
    /// </summary>
    static abstract void PowersOfTwo(TV rounded, out TV first, out TV second);

    /// <summary>2^n from <paramref name="rounded"/> = n + 1.5·2²³ as above, for n in [-126, 127] (a normal float).</summary>
    static abstract TV PowerOfTwo(TV rounded);
    static abstract TV CopySign(TV magnitude, TV sign);

    /// <summary>All-ones lanes where <c>a &lt; b</c>.</summary>
    static abstract TV LessThan(TV a, TV b);
    /// <summary>All-ones lanes where <c>a</c> is NaN.</summary>
    static abstract TV IsNaN(TV a);
    static abstract TV Select(TV mask, TV ifTrue, TV ifFalse);

    /// <summary>Sum of all lanes (order fixed per width, so results are deterministic).</summary>
    static abstract float Sum(TV a);
}
