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
