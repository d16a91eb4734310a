using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Rnn.Fast.Internals;

internal abstract partial class LatencyCells<TOps, TV>
{
    // The nonlinearity is a type argument, so the choice costs one switch per layer step and no branch per block.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static TV Elman(PackedLayer layer, ref float x, ref float h, ref float hNext, bool fuseHead, ref float headWeight) =>
        layer.Nonlinearity switch
        {
            Activation.Tanh => Elman<TanhOperator>(layer, ref x, ref h, ref hNext, fuseHead, ref headWeight),
            Activation.Relu => Elman<ReluOperator>(layer, ref x, ref h, ref hNext, fuseHead, ref headWeight),
            Activation.Sigmoid => Elman<SigmoidOperator>(layer, ref x, ref h, ref hNext, fuseHead, ref headWeight),
            _ => Elman<IdentityOperator>(layer, ref x, ref h, ref hNext, fuseHead, ref headWeight),
        };

    // One Elman step of one stream: one gate per unit, so four accumulators over consecutive columns provide the
    // independent FMA chains the LSTM gets from its gates. Returns the fused head's partial sums.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV Elman<TAct>(PackedLayer layer, ref float x /* [I] */, ref float h /* [Hp] */, ref float hNext /* [Hp] */,
        bool fuseHead, ref float headWeight /* [Hp] */) where TAct : struct, IActivationOperator
    {
        int v = TOps.Lanes;
        int inputs = layer.InputSize, hidden = layer.HiddenSize, blocks = layer.Blocks;
        ref float wx = ref MemoryMarshal.GetArrayDataReference(layer.Wx.Values);   // [nb, I, 1, V]
        ref float wh = ref MemoryMarshal.GetArrayDataReference(layer.Wh.Values);   // [nb, H, 1, V]
        ref float bias = ref MemoryMarshal.GetArrayDataReference(layer.Bias);      // [nb, 1, V]
        TV head = TOps.Zero;
        for (int b = 0; b < blocks; b++)
        {
            TV a0 = TOps.Load(in bias), a1 = TOps.Zero, a2 = TOps.Zero, a3 = TOps.Zero;
            wx = ref AccumulateOne(ref wx, ref x, inputs, ref a0, ref a1, ref a2, ref a3);
            wh = ref AccumulateOne(ref wh, ref h, hidden, ref a0, ref a1, ref a2, ref a3);
            TV hb = TAct.Invoke<TOps, TV>(TOps.Add(TOps.Add(a0, a1), TOps.Add(a2, a3)));
            TOps.Store(hb, ref hNext);
            if (fuseHead)
            {
                head = TOps.MultiplyAdd(TOps.Load(in headWeight), hb, head);
                headWeight = ref Unsafe.Add(ref headWeight, v);
            }
            bias = ref Unsafe.Add(ref bias, v);
            hNext = ref Unsafe.Add(ref hNext, v);
        }
        return head;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ElmanPair(PackedLayer layer, ref float x, int xStride, ref float h, int hp, ref float hNext)
    {
        switch (layer.Nonlinearity)
        {
            case Activation.Tanh: ElmanPair<TanhOperator>(layer, ref x, xStride, ref h, hp, ref hNext); break;
            case Activation.Relu: ElmanPair<ReluOperator>(layer, ref x, xStride, ref h, hp, ref hNext); break;
            case Activation.Sigmoid: ElmanPair<SigmoidOperator>(layer, ref x, xStride, ref h, hp, ref hNext); break;
            default: ElmanPair<IdentityOperator>(layer, ref x, xStride, ref h, hp, ref hNext); break;
        }
    }

    // Two streams sharing every weight load, two accumulators each (even and odd columns).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ElmanPair<TAct>(PackedLayer layer, ref float x /* [2, xStride] */, int xStride, ref float h /* [2, hp] */, int hp,
        ref float hNext /* [2, hp] */) where TAct : struct, IActivationOperator
    {
        int v = TOps.Lanes;
        int inputs = layer.InputSize, hidden = layer.HiddenSize, blocks = layer.Blocks;
        ref float wx = ref MemoryMarshal.GetArrayDataReference(layer.Wx.Values);
        ref float wh = ref MemoryMarshal.GetArrayDataReference(layer.Wh.Values);
        ref float bias = ref MemoryMarshal.GetArrayDataReference(layer.Bias);
        for (int b = 0; b < blocks; b++)
        {
            TV a0 = TOps.Load(in bias), a1 = TOps.Zero, b0 = a0, b1 = TOps.Zero;
            wx = ref AccumulatePairOne(ref wx, ref x, xStride, inputs, ref a0, ref a1, ref b0, ref b1);
            wh = ref AccumulatePairOne(ref wh, ref h, hp, hidden, ref a0, ref a1, ref b0, ref b1);
            TOps.Store(TAct.Invoke<TOps, TV>(TOps.Add(a0, a1)), ref hNext);
            TOps.Store(TAct.Invoke<TOps, TV>(TOps.Add(b0, b1)), ref Unsafe.Add(ref hNext, hp));
            bias = ref Unsafe.Add(ref bias, v);
            hNext = ref Unsafe.Add(ref hNext, v);
        }
    }

    // w [k, 1, V]: four accumulators over columns j..j+3; returns w advanced past the k columns.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ref float AccumulateOne(ref float w, scoped ref float x /* [k] */, int k, scoped ref TV a0, scoped ref TV a1, scoped ref TV a2, scoped ref TV a3)
    {
        int v = TOps.Lanes;
        int j = 0;
        for (; j + 3 < k; j += 4)
        {
            a0 = TOps.MultiplyAdd(TOps.Load(in w), TOps.Broadcast(Unsafe.Add(ref x, j)), a0);
            a1 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w, v)), TOps.Broadcast(Unsafe.Add(ref x, j + 1)), a1);
            a2 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w, 2 * v)), TOps.Broadcast(Unsafe.Add(ref x, j + 2)), a2);
            a3 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w, 3 * v)), TOps.Broadcast(Unsafe.Add(ref x, j + 3)), a3);
            w = ref Unsafe.Add(ref w, 4 * v);
        }
        for (; j < k; j++)
        {
            a0 = TOps.MultiplyAdd(TOps.Load(in w), TOps.Broadcast(Unsafe.Add(ref x, j)), a0);
            w = ref Unsafe.Add(ref w, v);
        }
        return ref w;
    }

    // Two streams, inputs `stride` apart: (a0, a1) stream 0, (b0, b1) stream 1, even and odd columns.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ref float AccumulatePairOne(ref float w, scoped ref float x /* [2, stride] */, int stride, int k, scoped ref TV a0, scoped ref TV a1, scoped ref TV b0, scoped ref TV b1)
    {
        int v = TOps.Lanes;
        ref float x1 = ref Unsafe.Add(ref x, stride);
        int j = 0;
        for (; j + 1 < k; j += 2)
        {
            TV w0 = TOps.Load(in w), w1 = TOps.Load(in Unsafe.Add(ref w, v));
            a0 = TOps.MultiplyAdd(w0, TOps.Broadcast(Unsafe.Add(ref x, j)), a0);
            b0 = TOps.MultiplyAdd(w0, TOps.Broadcast(Unsafe.Add(ref x1, j)), b0);
            a1 = TOps.MultiplyAdd(w1, TOps.Broadcast(Unsafe.Add(ref x, j + 1)), a1);
            b1 = TOps.MultiplyAdd(w1, TOps.Broadcast(Unsafe.Add(ref x1, j + 1)), b1);
            w = ref Unsafe.Add(ref w, 2 * v);
        }
        if (j < k)
        {
            TV w0 = TOps.Load(in w);
            a0 = TOps.MultiplyAdd(w0, TOps.Broadcast(Unsafe.Add(ref x, j)), a0);
            b0 = TOps.MultiplyAdd(w0, TOps.Broadcast(Unsafe.Add(ref x1, j)), b0);
            w = ref Unsafe.Add(ref w, v);
        }
        return ref w;
    }
}
