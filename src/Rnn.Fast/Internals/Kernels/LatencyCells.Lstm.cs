using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Rnn.Fast.Internals;

internal abstract partial class LatencyCells<TOps, TV>
{
    // One LSTM step of one stream, block by block; returns the fused head's partial sums (zero unless fuseHead).
    // Weights, bias, c, h' and the head row are walked by pointers that advance one block at a time. Each cell body
    // is its own method, not inlined into the dispatcher: inlined together, the cells' many vector locals exceed
    // what the JIT tracks in registers and everything spilled (measured: GRU at 8 streams 3x slower).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static TV Lstm(PackedLayer layer, ref float x /* [I] */, ref float h /* [Hp] */, ref float c /* [Hp] in place */,
        ref float hNext /* [Hp] */, bool fuseHead, ref float headWeight /* [Hp] */, bool inputChain = false)
    {
        int v = TOps.Lanes;
        int inputs = layer.InputSize, hidden = layer.HiddenSize, blocks = layer.Blocks;
        ref float wx = ref MemoryMarshal.GetArrayDataReference(layer.Wx.Values);   // [nb, I, 4, V]
        ref float wh = ref MemoryMarshal.GetArrayDataReference(layer.Wh.Values);   // [nb, H, 4, V]
        ref float bias = ref MemoryMarshal.GetArrayDataReference(layer.Bias);      // [nb, 4, V]
        TV head = TOps.Zero;
        for (int b = 0; b < blocks; b++)
        {
            TV ai = TOps.Load(in bias), af = TOps.Load(in Unsafe.Add(ref bias, v));
            TV ag = TOps.Load(in Unsafe.Add(ref bias, 2 * v)), ao = TOps.Load(in Unsafe.Add(ref bias, 3 * v));
            TV bi = TOps.Zero, bf = TOps.Zero, bg = TOps.Zero, bo = TOps.Zero;
            wx = ref inputChain
                ? ref AccumulateFourChain(ref wx, ref x, inputs, ref ai, ref af, ref ag, ref ao)
                : ref AccumulateFour(ref wx, ref x, inputs, ref ai, ref af, ref ag, ref ao, ref bi, ref bf, ref bg, ref bo);
            wh = ref AccumulateFour(ref wh, ref h, hidden, ref ai, ref af, ref ag, ref ao, ref bi, ref bf, ref bg, ref bo);
            TV hb = FinishLstm(TOps.Add(ai, bi), TOps.Add(af, bf), TOps.Add(ag, bg), TOps.Add(ao, bo), ref c, ref hNext);
            if (fuseHead)
            {
                head = TOps.MultiplyAdd(TOps.Load(in headWeight), hb, head);
                headWeight = ref Unsafe.Add(ref headWeight, v);
            }
            bias = ref Unsafe.Add(ref bias, 4 * v);
            c = ref Unsafe.Add(ref c, v);
            hNext = ref Unsafe.Add(ref hNext, v);
        }
        return head;
    }

    // Two streams (x rows xStride apart, h/c rows hp apart): four weight loads and two broadcasts feed eight FMAs.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void LstmPair(PackedLayer layer, ref float x /* [2, xStride] */, int xStride, ref float h /* [2, hp] */, int hp,
        ref float c /* [2, hp] */, ref float hNext /* [2, hp] */)
    {
        int v = TOps.Lanes;
        int inputs = layer.InputSize, hidden = layer.HiddenSize, blocks = layer.Blocks;
        ref float wx = ref MemoryMarshal.GetArrayDataReference(layer.Wx.Values);
        ref float wh = ref MemoryMarshal.GetArrayDataReference(layer.Wh.Values);
        ref float bias = ref MemoryMarshal.GetArrayDataReference(layer.Bias);
        for (int b = 0; b < blocks; b++)
        {
            TV ai = TOps.Load(in bias), af = TOps.Load(in Unsafe.Add(ref bias, v));
            TV ag = TOps.Load(in Unsafe.Add(ref bias, 2 * v)), ao = TOps.Load(in Unsafe.Add(ref bias, 3 * v));
            TV bi = ai, bf = af, bg = ag, bo = ao;
            wx = ref AccumulatePairFour(ref wx, ref x, xStride, inputs, ref ai, ref af, ref ag, ref ao, ref bi, ref bf, ref bg, ref bo);
            wh = ref AccumulatePairFour(ref wh, ref h, hp, hidden, ref ai, ref af, ref ag, ref ao, ref bi, ref bf, ref bg, ref bo);
            FinishLstm(ai, af, ag, ao, ref c, ref hNext);
            FinishLstm(bi, bf, bg, bo, ref Unsafe.Add(ref c, hp), ref Unsafe.Add(ref hNext, hp));
            bias = ref Unsafe.Add(ref bias, 4 * v);
            c = ref Unsafe.Add(ref c, v);
            hNext = ref Unsafe.Add(ref hNext, v);
        }
    }

    // Gate activations, c' = f⊙c + i⊙g (stored over c) and h' = o⊙tanh(c') (stored, and returned for the head).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV FinishLstm(TV preI, TV preF, TV preG, TV preO, ref float c, ref float hNext)
    {
        TV i = SimdMath.GateSigmoid<TOps, TV>(preI);
        TV f = SimdMath.GateSigmoid<TOps, TV>(preF);
        TV g = SimdMath.Tanh<TOps, TV>(preG);
        TV o = SimdMath.GateSigmoid<TOps, TV>(preO);
        // The state's flush below 2^-63 kept off the chain from c' to h' (GateInterleavedCells.FinishLstmBlock says how).
        TV cNew = TOps.MultiplyAdd(f, TOps.Load(in c), TOps.Multiply(i, g));
        TOps.Store(SimdMath.FlushTiny<TOps, TV>(cNew), ref c);
        TV hb = TOps.Multiply(SimdMath.FlushTiny<TOps, TV>(o), SimdMath.TanhFlushingTiny<TOps, TV>(cNew));
        TOps.Store(hb, ref hNext);
        return hb;
    }

    // Column-broadcast accumulation of one block, w [k, 4, V]: two sets of four accumulators (even and odd columns)
    // keep eight FMA chains in flight. Returns w advanced past the block's k columns.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ref float AccumulateFour(ref float w, scoped ref float x /* [k] */, int k,
        scoped ref TV ai, scoped ref TV af, scoped ref TV ag, scoped ref TV ao, scoped ref TV bi, scoped ref TV bf, scoped ref TV bg, scoped ref TV bo)
    {
        int v = TOps.Lanes;
        int j = 0;
        for (; j + 1 < k; j += 2)
        {
            TV x0 = TOps.Broadcast(Unsafe.Add(ref x, j));
            TV x1 = TOps.Broadcast(Unsafe.Add(ref x, j + 1));
            ai = TOps.MultiplyAdd(TOps.Load(in w), x0, ai);
            af = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w, v)), x0, af);
            ag = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w, 2 * v)), x0, ag);
            ao = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w, 3 * v)), x0, ao);
            bi = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w, 4 * v)), x1, bi);
            bf = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w, 5 * v)), x1, bf);
            bg = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w, 6 * v)), x1, bg);
            bo = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w, 7 * v)), x1, bo);
            w = ref Unsafe.Add(ref w, 8 * v);
        }
        if (j < k)
        {
            TV x0 = TOps.Broadcast(Unsafe.Add(ref x, j));
            ai = TOps.MultiplyAdd(TOps.Load(in w), x0, ai);
            af = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w, v)), x0, af);
            ag = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w, 2 * v)), x0, ag);
            ao = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w, 3 * v)), x0, ao);
            w = ref Unsafe.Add(ref w, 4 * v);
        }
        return ref w;
    }

    // The same for two streams whose inputs are `stride` apart: a* take stream 0, b* stream 1.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ref float AccumulatePairFour(ref float w, scoped ref float x /* [2, stride] */, int stride, int k,
        scoped ref TV ai, scoped ref TV af, scoped ref TV ag, scoped ref TV ao, scoped ref TV bi, scoped ref TV bf, scoped ref TV bg, scoped ref TV bo)
    {
        int v = TOps.Lanes;
        ref float x1 = ref Unsafe.Add(ref x, stride);
        for (int j = 0; j < k; j++)
        {
            TV wi = TOps.Load(in w), wf = TOps.Load(in Unsafe.Add(ref w, v));
            TV wg = TOps.Load(in Unsafe.Add(ref w, 2 * v)), wo = TOps.Load(in Unsafe.Add(ref w, 3 * v));
            TV s0 = TOps.Broadcast(Unsafe.Add(ref x, j));
            TV s1 = TOps.Broadcast(Unsafe.Add(ref x1, j));
            ai = TOps.MultiplyAdd(wi, s0, ai); bi = TOps.MultiplyAdd(wi, s1, bi);
            af = TOps.MultiplyAdd(wf, s0, af); bf = TOps.MultiplyAdd(wf, s1, bf);
            ag = TOps.MultiplyAdd(wg, s0, ag); bg = TOps.MultiplyAdd(wg, s1, bg);
            ao = TOps.MultiplyAdd(wo, s0, ao); bo = TOps.MultiplyAdd(wo, s1, bo);
            w = ref Unsafe.Add(ref w, 4 * v);
        }
        return ref w;
    }

    // One chain per gate over the k columns in order, as the sequence engine's input projection sums them: a batch
    // Step then computes bit for bit what Run and the training forward pass compute for the same rows.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ref float AccumulateFourChain(ref float w, scoped ref float x /* [k] */, int k, scoped ref TV ai, scoped ref TV af, scoped ref TV ag, scoped ref TV ao)
    {
        int v = TOps.Lanes;
        for (int j = 0; j < k; j++)
        {
            TV xj = TOps.Broadcast(Unsafe.Add(ref x, j));
            ai = TOps.MultiplyAdd(TOps.Load(in w), xj, ai);
            af = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w, v)), xj, af);
            ag = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w, 2 * v)), xj, ag);
            ao = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w, 3 * v)), xj, ao);
            w = ref Unsafe.Add(ref w, 4 * v);
        }
        return ref w;
    }
}
