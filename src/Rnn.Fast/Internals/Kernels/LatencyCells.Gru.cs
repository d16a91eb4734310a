using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Rnn.Fast.Internals;

internal abstract partial class LatencyCells<TOps, TV>
{
    // One GRU step of one stream (PyTorch nn.GRU), block by block; returns the fused head's partial sums.
    // n needs its x part and its h part apart (r multiplies only the h part): x columns feed (r, z, nx), h columns
    // (r, z, nh); the odd columns go to a second set of accumulators.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static TV Gru(PackedLayer layer, ref float x /* [I] */, ref float h /* [Hp] */, ref float hNext /* [Hp] */,
        bool fuseHead, ref float headWeight /* [Hp] */, bool inputChain = false)
    {
        int v = TOps.Lanes;
        int inputs = layer.InputSize, hidden = layer.HiddenSize, blocks = layer.Blocks;
        ref float wx = ref MemoryMarshal.GetArrayDataReference(layer.Wx.Values);     // [nb, I, 3, V]
        ref float wh = ref MemoryMarshal.GetArrayDataReference(layer.Wh.Values);     // [nb, H, 3, V]
        ref float bias = ref MemoryMarshal.GetArrayDataReference(layer.Bias);        // [nb, 3, V]
        ref float biasHn = ref MemoryMarshal.GetArrayDataReference(layer.BiasHn);    // [Hp]
        ref float hOld = ref h;                                                       // h block by block, for the blend
        TV head = TOps.Zero;
        for (int b = 0; b < blocks; b++)
        {
            TV ar = TOps.Load(in bias), az = TOps.Load(in Unsafe.Add(ref bias, v));
            TV anx = TOps.Load(in Unsafe.Add(ref bias, 2 * v)), anh = TOps.Load(in biasHn);
            TV br = TOps.Zero, bz = TOps.Zero, bnx = TOps.Zero, bnh = TOps.Zero;
            wx = ref inputChain
                ? ref AccumulateThree(ref wx, ref x, inputs, ref ar, ref az, ref anx, ref br, ref bz, ref bnx, chain: true)
                : ref AccumulateThree(ref wx, ref x, inputs, ref ar, ref az, ref anx, ref br, ref bz, ref bnx);
            wh = ref AccumulateThree(ref wh, ref h, hidden, ref ar, ref az, ref anh, ref br, ref bz, ref bnh);
            TV hb = FinishGru(TOps.Add(ar, br), TOps.Add(az, bz), TOps.Add(anx, bnx), TOps.Add(anh, bnh), ref hOld, ref hNext);
            if (fuseHead)
            {
                head = TOps.MultiplyAdd(TOps.Load(in headWeight), hb, head);
                headWeight = ref Unsafe.Add(ref headWeight, v);
            }
            bias = ref Unsafe.Add(ref bias, 3 * v);
            biasHn = ref Unsafe.Add(ref biasHn, v);
            hOld = ref Unsafe.Add(ref hOld, v);
            hNext = ref Unsafe.Add(ref hNext, v);
        }
        return head;
    }

    // Two streams sharing every weight load: eight accumulators (r, z, nx, nh per stream).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void GruPair(PackedLayer layer, ref float x /* [2, xStride] */, int xStride, ref float h /* [2, hp] */, int hp,
        ref float hNext /* [2, hp] */)
    {
        int v = TOps.Lanes;
        int inputs = layer.InputSize, hidden = layer.HiddenSize, blocks = layer.Blocks;
        ref float wx = ref MemoryMarshal.GetArrayDataReference(layer.Wx.Values);
        ref float wh = ref MemoryMarshal.GetArrayDataReference(layer.Wh.Values);
        ref float bias = ref MemoryMarshal.GetArrayDataReference(layer.Bias);
        ref float biasHn = ref MemoryMarshal.GetArrayDataReference(layer.BiasHn);
        ref float x1 = ref Unsafe.Add(ref x, xStride);
        ref float h1 = ref Unsafe.Add(ref h, hp);
        ref float hOld = ref h;
        for (int b = 0; b < blocks; b++)
        {
            TV r0 = TOps.Load(in bias), z0 = TOps.Load(in Unsafe.Add(ref bias, v));
            TV nx0 = TOps.Load(in Unsafe.Add(ref bias, 2 * v)), nh0 = TOps.Load(in biasHn);
            TV r1 = r0, z1 = z0, nx1 = nx0, nh1 = nh0;
            for (int j = 0; j < inputs; j++)
            {
                TV wr = TOps.Load(in wx), wz = TOps.Load(in Unsafe.Add(ref wx, v)), wn = TOps.Load(in Unsafe.Add(ref wx, 2 * v));
                TV s0 = TOps.Broadcast(Unsafe.Add(ref x, j)), s1 = TOps.Broadcast(Unsafe.Add(ref x1, j));
                r0 = TOps.MultiplyAdd(wr, s0, r0); r1 = TOps.MultiplyAdd(wr, s1, r1);
                z0 = TOps.MultiplyAdd(wz, s0, z0); z1 = TOps.MultiplyAdd(wz, s1, z1);
                nx0 = TOps.MultiplyAdd(wn, s0, nx0); nx1 = TOps.MultiplyAdd(wn, s1, nx1);
                wx = ref Unsafe.Add(ref wx, 3 * v);
            }
            // h columns alternate between two sets per stream, as the sequence engine's one-stream step sums them
            // (bit-identical batch Step and Run).
            TV r0b = TOps.Zero, z0b = TOps.Zero, nh0b = TOps.Zero, r1b = TOps.Zero, z1b = TOps.Zero, nh1b = TOps.Zero;
            int j2 = 0;
            for (; j2 + 1 < hidden; j2 += 2)
            {
                TV s0 = TOps.Broadcast(Unsafe.Add(ref h, j2)), s1 = TOps.Broadcast(Unsafe.Add(ref h1, j2));
                TV t0 = TOps.Broadcast(Unsafe.Add(ref h, j2 + 1)), t1 = TOps.Broadcast(Unsafe.Add(ref h1, j2 + 1));
                TV wr = TOps.Load(in wh), wz = TOps.Load(in Unsafe.Add(ref wh, v)), wn = TOps.Load(in Unsafe.Add(ref wh, 2 * v));
                r0 = TOps.MultiplyAdd(wr, s0, r0); r1 = TOps.MultiplyAdd(wr, s1, r1);
                z0 = TOps.MultiplyAdd(wz, s0, z0); z1 = TOps.MultiplyAdd(wz, s1, z1);
                nh0 = TOps.MultiplyAdd(wn, s0, nh0); nh1 = TOps.MultiplyAdd(wn, s1, nh1);
                wr = TOps.Load(in Unsafe.Add(ref wh, 3 * v)); wz = TOps.Load(in Unsafe.Add(ref wh, 4 * v)); wn = TOps.Load(in Unsafe.Add(ref wh, 5 * v));
                r0b = TOps.MultiplyAdd(wr, t0, r0b); r1b = TOps.MultiplyAdd(wr, t1, r1b);
                z0b = TOps.MultiplyAdd(wz, t0, z0b); z1b = TOps.MultiplyAdd(wz, t1, z1b);
                nh0b = TOps.MultiplyAdd(wn, t0, nh0b); nh1b = TOps.MultiplyAdd(wn, t1, nh1b);
                wh = ref Unsafe.Add(ref wh, 6 * v);
            }
            if (j2 < hidden)
            {
                TV s0 = TOps.Broadcast(Unsafe.Add(ref h, j2)), s1 = TOps.Broadcast(Unsafe.Add(ref h1, j2));
                TV wr = TOps.Load(in wh), wz = TOps.Load(in Unsafe.Add(ref wh, v)), wn = TOps.Load(in Unsafe.Add(ref wh, 2 * v));
                r0 = TOps.MultiplyAdd(wr, s0, r0); r1 = TOps.MultiplyAdd(wr, s1, r1);
                z0 = TOps.MultiplyAdd(wz, s0, z0); z1 = TOps.MultiplyAdd(wz, s1, z1);
                nh0 = TOps.MultiplyAdd(wn, s0, nh0); nh1 = TOps.MultiplyAdd(wn, s1, nh1);
                wh = ref Unsafe.Add(ref wh, 3 * v);
            }
            r0 = TOps.Add(r0, r0b); z0 = TOps.Add(z0, z0b); nh0 = TOps.Add(nh0, nh0b);
            r1 = TOps.Add(r1, r1b); z1 = TOps.Add(z1, z1b); nh1 = TOps.Add(nh1, nh1b);
            FinishGru(r0, z0, nx0, nh0, ref hOld, ref hNext);
            FinishGru(r1, z1, nx1, nh1, ref Unsafe.Add(ref hOld, hp), ref Unsafe.Add(ref hNext, hp));
            bias = ref Unsafe.Add(ref bias, 3 * v);
            biasHn = ref Unsafe.Add(ref biasHn, v);
            hOld = ref Unsafe.Add(ref hOld, v);
            hNext = ref Unsafe.Add(ref hNext, v);
        }
    }

    // r, z = σ; n = tanh(nx + r⊙nh); h' = (1 − z) n + z h = n + z (h − n), one FMA (reads the whole block of h).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV FinishGru(TV preR, TV preZ, TV preNx, TV preNh, ref float hOld, ref float hNext)
    {
        TV r = SimdMath.GateSigmoid<TOps, TV>(preR);
        TV z = SimdMath.GateSigmoid<TOps, TV>(preZ);
        TV n = SimdMath.Tanh<TOps, TV>(TOps.MultiplyAdd(r, preNh, preNx));
        TV hb = SimdMath.FlushTiny<TOps, TV>(TOps.MultiplyAdd(z, TOps.Subtract(TOps.Load(in hOld), n), n));
        TOps.Store(hb, ref hNext);
        return hb;
    }

    // Column-broadcast accumulation for three gates, w [k, 3, V]; returns w advanced past the block's k columns.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ref float AccumulateThree(ref float w, scoped ref float x /* [k] */, int k,
        scoped ref TV a0, scoped ref TV a1, scoped ref TV a2, scoped ref TV b0, scoped ref TV b1, scoped ref TV b2, bool chain = false)
    {
        int v = TOps.Lanes;
        int j = 0;
        // chain: one chain per gate over the columns in order (the b set unused), as the sequence engine sums x.
        for (; chain && j < k; j++)
        {
            TV x0 = TOps.Broadcast(Unsafe.Add(ref x, j));
            a0 = TOps.MultiplyAdd(TOps.Load(in w), x0, a0);
            a1 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w, v)), x0, a1);
            a2 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w, 2 * v)), x0, a2);
            w = ref Unsafe.Add(ref w, 3 * v);
        }
        for (; j + 1 < k; j += 2)
        {
            TV x0 = TOps.Broadcast(Unsafe.Add(ref x, j));
            TV x1 = TOps.Broadcast(Unsafe.Add(ref x, j + 1));
            a0 = TOps.MultiplyAdd(TOps.Load(in w), x0, a0);
            a1 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w, v)), x0, a1);
            a2 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w, 2 * v)), x0, a2);
            b0 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w, 3 * v)), x1, b0);
            b1 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w, 4 * v)), x1, b1);
            b2 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w, 5 * v)), x1, b2);
            w = ref Unsafe.Add(ref w, 6 * v);
        }
        if (j < k)
        {
            TV x0 = TOps.Broadcast(Unsafe.Add(ref x, j));
            a0 = TOps.MultiplyAdd(TOps.Load(in w), x0, a0);
            a1 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w, v)), x0, a1);
            a2 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w, 2 * v)), x0, a2);
            w = ref Unsafe.Add(ref w, 3 * v);
        }
        return ref w;
    }
}
