using System.Runtime.CompilerServices;

namespace Rnn.Fast.Internals;

/// <summary>An element-wise activation applied in registers; kernels are generic over it so the choice costs no branch per lane.</summary>
internal interface IActivationOperator
{
    static abstract TV Invoke<TOps, TV>(TV x) where TOps : struct, ISimdOps<TV> where TV : struct;
}

internal readonly struct IdentityOperator : IActivationOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Invoke<TOps, TV>(TV x) where TOps : struct, ISimdOps<TV> where TV : struct => x;
}

internal readonly struct TanhOperator : IActivationOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Invoke<TOps, TV>(TV x) where TOps : struct, ISimdOps<TV> where TV : struct => SimdMath.Tanh<TOps, TV>(x);
}

internal readonly struct ReluOperator : IActivationOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Invoke<TOps, TV>(TV x) where TOps : struct, ISimdOps<TV> where TV : struct => TOps.MaxPropagateNaN(x, TOps.Zero);
}

internal readonly struct SigmoidOperator : IActivationOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Invoke<TOps, TV>(TV x) where TOps : struct, ISimdOps<TV> where TV : struct => SimdMath.Sigmoid<TOps, TV>(x);
}

internal readonly struct ExpOperator : IActivationOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Invoke<TOps, TV>(TV x) where TOps : struct, ISimdOps<TV> where TV : struct => SimdMath.Exp<TOps, TV>(x);
}

/// <summary>A recurrent nonlinearity applied to a new state: its value flushed below 2^-63 (<see cref="SimdMath.FlushTiny{TOps, TV}"/>).</summary>
internal static class StateActivation
{
    /// <summary>
    /// f(x) flushed. For tanh the flush folds into tanh's own select for tiny arguments
    /// (<see cref="SimdMath.TanhFlushingTiny{TOps, TV}"/>), which keeps it off the step's serial chain; the others flush
    /// their result, sigmoid computed as a gate (<see cref="SimdMath.GateSigmoid{TOps, TV}"/>, never subnormal inside)
    /// (the JIT resolves the type tests per instantiation).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Invoke<TAct, TOps, TV>(TV x) where TAct : struct, IActivationOperator where TOps : struct, ISimdOps<TV> where TV : struct =>
        typeof(TAct) == typeof(TanhOperator) ? SimdMath.TanhFlushingTiny<TOps, TV>(x)
        : typeof(TAct) == typeof(SigmoidOperator) ? SimdMath.FlushTiny<TOps, TV>(SimdMath.GateSigmoid<TOps, TV>(x))
        : SimdMath.FlushTiny<TOps, TV>(TAct.Invoke<TOps, TV>(x));
}
