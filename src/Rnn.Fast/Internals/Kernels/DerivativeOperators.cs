using System.Runtime.CompilerServices;

namespace Rnn.Fast.Internals;

/// <summary>
/// The derivative of an activation written in terms of its output y = f(x), applied in registers: backward keeps
/// the outputs forward produced, so it never recomputes f.
/// </summary>
internal interface IDerivativeOperator
{
    static abstract TV FromOutput<TOps, TV>(TV y) where TOps : struct, ISimdOps<TV> where TV : struct;
}

internal readonly struct IdentityDerivative : IDerivativeOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV FromOutput<TOps, TV>(TV y) where TOps : struct, ISimdOps<TV> where TV : struct => TOps.Broadcast(1f);
}

/// <summary>tanh' = 1 − y².</summary>
internal readonly struct TanhDerivative : IDerivativeOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV FromOutput<TOps, TV>(TV y) where TOps : struct, ISimdOps<TV> where TV : struct =>
        TOps.Subtract(TOps.Broadcast(1f), TOps.Multiply(y, y));
}

/// <summary>σ' = y (1 − y).</summary>
internal readonly struct SigmoidDerivative : IDerivativeOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV FromOutput<TOps, TV>(TV y) where TOps : struct, ISimdOps<TV> where TV : struct =>
        TOps.Multiply(y, TOps.Subtract(TOps.Broadcast(1f), y));
}

/// <summary>ReLU' = 1 where y &gt; 0, else 0 (PyTorch's choice at 0).</summary>
internal readonly struct ReluDerivative : IDerivativeOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV FromOutput<TOps, TV>(TV y) where TOps : struct, ISimdOps<TV> where TV : struct =>
        TOps.Select(TOps.LessThan(TOps.Zero, y), TOps.Broadcast(1f), TOps.Zero);
}
