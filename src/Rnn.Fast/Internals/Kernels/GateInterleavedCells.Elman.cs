using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Rnn.Fast.Internals;

internal abstract partial class GateInterleavedCells<TOps, TV>
{
    public sealed override void ElmanStepFused(Activation nonlinearity, ReadOnlySpan<float> x, ReadOnlySpan<float> hPrev,
        PackedMatrix wx, PackedMatrix wh, ReadOnlySpan<float> bias, Span<float> hNext) =>
        ElmanRows(nonlinearity, bias, 0, wx, x, hPrev, wh, streams: 1, hNext);

    public sealed override void ElmanSteps(Activation nonlinearity, ReadOnlySpan<float> pre, ReadOnlySpan<float> hPrev, PackedMatrix wh,
        int streams, Span<float> hNext) =>
        ElmanRows(nonlinearity, pre, wh.RowWidth, null, default, hPrev, wh, streams, hNext);

    // The activation is a type argument, so the choice costs no branch per block.
    private static void ElmanRows(Activation nonlinearity, ReadOnlySpan<float> init, int initStride, PackedMatrix? wx,
        ReadOnlySpan<float> x, ReadOnlySpan<float> hPrev, PackedMatrix wh, int streams, Span<float> hNext)
    {
        switch (nonlinearity)
        {
            case Activation.Tanh: ElmanRows<TanhOperator>(init, initStride, wx, x, hPrev, wh, streams, hNext); break;
            case Activation.Relu: ElmanRows<ReluOperator>(init, initStride, wx, x, hPrev, wh, streams, hNext); break;
            case Activation.Sigmoid: ElmanRows<SigmoidOperator>(init, initStride, wx, x, hPrev, wh, streams, hNext); break;
            case Activation.Identity: ElmanRows<IdentityOperator>(init, initStride, wx, x, hPrev, wh, streams, hNext); break;
            default: throw new ArgumentOutOfRangeException(nameof(nonlinearity), nonlinearity, "Not a recurrent nonlinearity.");
        }
    }

    private static void ElmanRows<TAct>(ReadOnlySpan<float> init /* [S, Hp] (stride initStride) */, int initStride, PackedMatrix? wx,
        ReadOnlySpan<float> x /* [I] */, ReadOnlySpan<float> hPrev /* [S, Hp] */, PackedMatrix wh, int streams, Span<float> hNext /* [S, Hp] */)
        where TAct : struct, IActivationOperator
    {
        int v = TOps.Lanes;
        int hp = wh.Blocks * v;
        int inputs = wx?.Columns ?? 0;
        int hidden = wh.Columns;
        ref float wxRef = ref wx is null ? ref MemoryMarshal.GetReference(x) : ref MemoryMarshal.GetArrayDataReference(wx.Values);
        ref float xRef = ref MemoryMarshal.GetReference(x);
        ref float whRef = ref MemoryMarshal.GetArrayDataReference(wh.Values);
        for (int s = 0; s < streams; s++)
        {
            ref float initRef = ref Unsafe.Add(ref MemoryMarshal.GetReference(init), s * initStride);
            ref float hRef = ref Unsafe.Add(ref MemoryMarshal.GetReference(hPrev), s * hp);
            ref float outRef = ref Unsafe.Add(ref MemoryMarshal.GetReference(hNext), s * hp);
            for (int b = 0; b < wh.Blocks; b++)
            {
                TV a0 = TOps.Load(in Unsafe.Add(ref initRef, b * v));
                TV a1 = TOps.Zero, a2 = TOps.Zero, a3 = TOps.Zero, a4 = TOps.Zero, a5 = TOps.Zero, a6 = TOps.Zero, a7 = TOps.Zero;
                AccumulateOne(ref Unsafe.Add(ref wxRef, b * inputs * v), ref xRef, inputs, ref a0, ref a1, ref a2, ref a3, ref a4, ref a5, ref a6, ref a7);
                AccumulateOne(ref Unsafe.Add(ref whRef, b * hidden * v), ref hRef, hidden, ref a0, ref a1, ref a2, ref a3, ref a4, ref a5, ref a6, ref a7);
                TV sum = TOps.Add(TOps.Add(TOps.Add(a0, a1), TOps.Add(a2, a3)), TOps.Add(TOps.Add(a4, a5), TOps.Add(a6, a7)));
                TOps.Store(StateActivation.Invoke<TAct, TOps, TV>(sum), ref Unsafe.Add(ref outRef, b * v));
            }
        }
    }
}
