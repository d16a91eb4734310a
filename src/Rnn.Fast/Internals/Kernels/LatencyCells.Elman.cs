using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Rnn.Fast.Internals;

internal abstract partial class LatencyCells<TOps, TV>
{
    // The nonlinearity is a type argument, so the choice costs one switch per layer step and no branch per block.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static TV Elman(PackedLayer layer, ref float x, ref float h, ref float hNext, bool fuseHead, ref float headWeight, bool inputChain = false) =>
        layer.Nonlinearity switch
        {
            Activation.Tanh => Elman<TanhOperator>(layer, ref x, ref h, ref hNext, fuseHead, ref headWeight, inputChain),
            Activation.Relu => Elman<ReluOperator>(layer, ref x, ref h, ref hNext, fuseHead, ref headWeight, inputChain),
            Activation.Sigmoid => Elman<SigmoidOperator>(layer, ref x, ref h, ref hNext, fuseHead, ref headWeight, inputChain),
            _ => Elman<IdentityOperator>(layer, ref x, ref h, ref hNext, fuseHead, ref headWeight, inputChain),
        };

    // One Elman step of one stream: one gate per unit, so eight accumulators over consecutive columns provide the
    // independent FMA chains the LSTM gets from its gates (summed in the sequence engine's order). Returns the fused
    // head's partial sums. inputChain: x summed in one chain in column order, as the engine's input projection does.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV Elman<TAct>(PackedLayer layer, ref float x /* [I] */, ref float h /* [Hp] */, ref float hNext /* [Hp] */,
        bool fuseHead, ref float headWeight /* [Hp] */, bool inputChain) where TAct : struct, IActivationOperator
    {
        int v = TOps.Lanes;
        int inputs = layer.InputSize, hidden = layer.HiddenSize, blocks = layer.Blocks;
        ref float wx = ref MemoryMarshal.GetArrayDataReference(layer.Wx.Values);   // [nb, I, 1, V]
        ref float wh = ref MemoryMarshal.GetArrayDataReference(layer.Wh.Values);   // [nb, H, 1, V]
        ref float bias = ref MemoryMarshal.GetArrayDataReference(layer.Bias);      // [nb, 1, V]
        TV head = TOps.Zero;
        for (int b = 0; b < blocks; b++)
        {
            TV a0 = TOps.Load(in bias), a1 = TOps.Zero, a2 = TOps.Zero, a3 = TOps.Zero, a4 = TOps.Zero, a5 = TOps.Zero, a6 = TOps.Zero, a7 = TOps.Zero;
            if (inputChain)
            {
                for (int j = 0; j < inputs; j++)
                {
                    a0 = TOps.MultiplyAdd(TOps.Load(in wx), TOps.Broadcast(Unsafe.Add(ref x, j)), a0);
                    wx = ref Unsafe.Add(ref wx, v);
                }
            }
            else
            {
                wx = ref AccumulateEight(ref wx, ref x, inputs, ref a0, ref a1, ref a2, ref a3, ref a4, ref a5, ref a6, ref a7);
            }
            wh = ref AccumulateEight(ref wh, ref h, hidden, ref a0, ref a1, ref a2, ref a3, ref a4, ref a5, ref a6, ref a7);
            TV sum = TOps.Add(TOps.Add(TOps.Add(a0, a1), TOps.Add(a2, a3)), TOps.Add(TOps.Add(a4, a5), TOps.Add(a6, a7)));
            TV hb = StateActivation.Invoke<TAct, TOps, TV>(sum);
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

    // w [k, 1, V]: eight accumulators over columns j..j+7, the rest into a0; returns w advanced past the k columns.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ref float AccumulateEight(ref float w, scoped ref float x /* [k] */, int k,
        scoped ref TV a0, scoped ref TV a1, scoped ref TV a2, scoped ref TV a3, scoped ref TV a4, scoped ref TV a5, scoped ref TV a6, scoped ref TV a7)
    {
        int v = TOps.Lanes;
        int j = 0;
        for (; j + 7 < k; j += 8)
        {
            ref float x0 = ref Unsafe.Add(ref x, j);
            a0 = TOps.MultiplyAdd(TOps.Load(in w), TOps.Broadcast(x0), a0);
            a1 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w, v)), TOps.Broadcast(Unsafe.Add(ref x0, 1)), a1);
            a2 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w, 2 * v)), TOps.Broadcast(Unsafe.Add(ref x0, 2)), a2);
            a3 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w, 3 * v)), TOps.Broadcast(Unsafe.Add(ref x0, 3)), a3);
            a4 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w, 4 * v)), TOps.Broadcast(Unsafe.Add(ref x0, 4)), a4);
            a5 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w, 5 * v)), TOps.Broadcast(Unsafe.Add(ref x0, 5)), a5);
            a6 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w, 6 * v)), TOps.Broadcast(Unsafe.Add(ref x0, 6)), a6);
            a7 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w, 7 * v)), TOps.Broadcast(Unsafe.Add(ref x0, 7)), a7);
            w = ref Unsafe.Add(ref w, 8 * v);
        }
        for (; j < k; j++)
        {
            a0 = TOps.MultiplyAdd(TOps.Load(in w), TOps.Broadcast(Unsafe.Add(ref x, j)), a0);
            w = ref Unsafe.Add(ref w, v);
        }
        return ref w;
    }
}
