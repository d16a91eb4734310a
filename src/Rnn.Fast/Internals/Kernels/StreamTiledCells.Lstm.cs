using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Rnn.Fast.Internals;

internal abstract partial class StreamTiledCells<TOps, TV>
{
    public sealed override void LstmSteps(ReadOnlySpan<float> pre, ReadOnlySpan<float> hPrev, ReadOnlySpan<float> cPrev, PackedMatrix wh,
        int streams, Span<float> cNext, Span<float> hNext, Span<float> gates)
    {
        var step = new LstmTileArgs
        {
            Keep = !gates.IsEmpty,
            Hp = wh.Blocks * TOps.Lanes,
            Gw = wh.RowWidth,
            Hidden = wh.Columns,
            BlockStride = wh.BlockStride,
        };
        ref float preRef = ref MemoryMarshal.GetReference(pre);
        ref float hRef = ref MemoryMarshal.GetReference(hPrev);
        ref float cRef = ref MemoryMarshal.GetReference(cPrev);
        ref float cNextRef = ref MemoryMarshal.GetReference(cNext);
        ref float hNextRef = ref MemoryMarshal.GetReference(hNext);
        ref float gRef = ref MemoryMarshal.GetReference(gates);
        ref float whRef = ref MemoryMarshal.GetArrayDataReference(wh.Values);
        int tile = WideRegisterFile ? 6 : 2;
        for (int b = 0; b < wh.Blocks; b++)
        {
            ref float w = ref Unsafe.Add(ref whRef, b * step.BlockStride);
            int s = 0;
            if (tile == 6)
            {
                for (; s + 5 < streams; s += 6)
                {
                    LstmTile<SixStreams>(in step, b, ref w, ref Unsafe.Add(ref preRef, s * step.Gw), ref Unsafe.Add(ref hRef, s * step.Hp),
                        ref Unsafe.Add(ref cRef, s * step.Hp), ref Unsafe.Add(ref cNextRef, s * step.Hp), ref Unsafe.Add(ref hNextRef, s * step.Hp),
                        ref Unsafe.Add(ref gRef, s * step.Gw));
                }
                for (; s + 3 < streams; s += 4)
                {
                    LstmTile<FourStreams>(in step, b, ref w, ref Unsafe.Add(ref preRef, s * step.Gw), ref Unsafe.Add(ref hRef, s * step.Hp),
                        ref Unsafe.Add(ref cRef, s * step.Hp), ref Unsafe.Add(ref cNextRef, s * step.Hp), ref Unsafe.Add(ref hNextRef, s * step.Hp),
                        ref Unsafe.Add(ref gRef, s * step.Gw));
                }
            }
            for (; s + 1 < streams; s += 2)
            {
                LstmTile<TwoStreams>(in step, b, ref w, ref Unsafe.Add(ref preRef, s * step.Gw), ref Unsafe.Add(ref hRef, s * step.Hp),
                    ref Unsafe.Add(ref cRef, s * step.Hp), ref Unsafe.Add(ref cNextRef, s * step.Hp), ref Unsafe.Add(ref hNextRef, s * step.Hp),
                    ref Unsafe.Add(ref gRef, s * step.Gw));
            }
            if (s < streams)
            {
                LstmTile<OneStream>(in step, b, ref w, ref Unsafe.Add(ref preRef, s * step.Gw), ref Unsafe.Add(ref hRef, s * step.Hp),
                    ref Unsafe.Add(ref cRef, s * step.Hp), ref Unsafe.Add(ref cNextRef, s * step.Hp), ref Unsafe.Add(ref hNextRef, s * step.Hp),
                    ref Unsafe.Add(ref gRef, s * step.Gw));
            }
        }
    }

    private struct LstmTileArgs
    {
        public bool Keep;
        public int Hp;            // state row stride
        public int Gw;            // pre-activation and gate row stride (4·Hp)
        public int Hidden;        // H: columns of W_hh
        public int BlockStride;   // H·4·V
    }

    // Block b of S streams starting at the given rows: the product into 4·S accumulators, then the S epilogues.
    private static void LstmTile<TS>(in LstmTileArgs a, int b, ref float w /* [H, 4, V] block b */, ref float pre /* [S, gw] */,
        ref float h /* [S, Hp] */, ref float cPrev, ref float cNext, ref float hNext, ref float gates /* [S, gw] */)
        where TS : struct, IStreamTile
    {
        int v = TOps.Lanes;
        var sums = new TileAccumulators<TV>();
        LstmProduct<TS>(ref w, a.Hidden, ref Unsafe.Add(ref pre, b * 4 * v), a.Gw, ref h, a.Hp, ref sums);
        for (int s = 0; s < TS.Streams; s++)
        {
            int at = s * a.Hp + b * v;
            FinishLstm(sums[4 * s], sums[4 * s + 1], sums[4 * s + 2], sums[4 * s + 3], ref Unsafe.Add(ref cPrev, at),
                ref Unsafe.Add(ref cNext, at), ref Unsafe.Add(ref hNext, at), a.Keep, ref Unsafe.Add(ref gates, s * a.Gw + b * 4 * v));
        }
    }

    // sums[4s + gate] = pre[s][gate] + Σ_j w[j][gate] · h[s][j]: per column j, 4 weight loads and S broadcasts feed
    // 4·S FMAs. Its own method, with the sums written to memory only at the end: with the epilogue in the same
    // method the JIT kept some accumulators on the stack inside the loop.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void LstmProduct<TS>(ref float w /* [H, 4, V] */, int k, ref float p /* [S, gw] at block b */, int gw,
        ref float h /* [S, Hp] */, int hp, ref TileAccumulators<TV> sums)
        where TS : struct, IStreamTile
    {
        int v = TOps.Lanes;
        int n = TS.Streams;
        // Rows of streams the tile does not have alias its last stream (n is a JIT constant): their accumulators
        // are never used and vanish.
        ref float p1 = ref Unsafe.Add(ref p, Math.Min(1, n - 1) * gw);
        ref float p2 = ref Unsafe.Add(ref p, Math.Min(2, n - 1) * gw);
        ref float p3 = ref Unsafe.Add(ref p, Math.Min(3, n - 1) * gw);
        ref float h1 = ref Unsafe.Add(ref h, Math.Min(1, n - 1) * hp);
        ref float h2 = ref Unsafe.Add(ref h, Math.Min(2, n - 1) * hp);
        ref float h3 = ref Unsafe.Add(ref h, Math.Min(3, n - 1) * hp);
        ref float p4 = ref Unsafe.Add(ref p, Math.Min(4, n - 1) * gw);
        ref float p5 = ref Unsafe.Add(ref p, Math.Min(5, n - 1) * gw);
        ref float h4 = ref Unsafe.Add(ref h, Math.Min(4, n - 1) * hp);
        ref float h5 = ref Unsafe.Add(ref h, Math.Min(5, n - 1) * hp);
        TV a0i = TOps.Load(in p), a0f = TOps.Load(in Unsafe.Add(ref p, v)), a0g = TOps.Load(in Unsafe.Add(ref p, 2 * v)), a0o = TOps.Load(in Unsafe.Add(ref p, 3 * v));
        TV a1i = TOps.Load(in p1), a1f = TOps.Load(in Unsafe.Add(ref p1, v)), a1g = TOps.Load(in Unsafe.Add(ref p1, 2 * v)), a1o = TOps.Load(in Unsafe.Add(ref p1, 3 * v));
        TV a2i = TOps.Load(in p2), a2f = TOps.Load(in Unsafe.Add(ref p2, v)), a2g = TOps.Load(in Unsafe.Add(ref p2, 2 * v)), a2o = TOps.Load(in Unsafe.Add(ref p2, 3 * v));
        TV a3i = TOps.Load(in p3), a3f = TOps.Load(in Unsafe.Add(ref p3, v)), a3g = TOps.Load(in Unsafe.Add(ref p3, 2 * v)), a3o = TOps.Load(in Unsafe.Add(ref p3, 3 * v));
        TV a4i = TOps.Load(in p4), a4f = TOps.Load(in Unsafe.Add(ref p4, v)), a4g = TOps.Load(in Unsafe.Add(ref p4, 2 * v)), a4o = TOps.Load(in Unsafe.Add(ref p4, 3 * v));
        TV a5i = TOps.Load(in p5), a5f = TOps.Load(in Unsafe.Add(ref p5, v)), a5g = TOps.Load(in Unsafe.Add(ref p5, 2 * v)), a5o = TOps.Load(in Unsafe.Add(ref p5, 3 * v));
        for (int j = 0; j < k; j++)
        {
            ref float wj = ref Unsafe.Add(ref w, j * 4 * v);
            TV wi = TOps.Load(in wj), wf = TOps.Load(in Unsafe.Add(ref wj, v));
            TV wg = TOps.Load(in Unsafe.Add(ref wj, 2 * v)), wo = TOps.Load(in Unsafe.Add(ref wj, 3 * v));
            TV x0 = TOps.Broadcast(Unsafe.Add(ref h, j));
            a0i = TOps.MultiplyAdd(wi, x0, a0i); a0f = TOps.MultiplyAdd(wf, x0, a0f);
            a0g = TOps.MultiplyAdd(wg, x0, a0g); a0o = TOps.MultiplyAdd(wo, x0, a0o);
            if (n > 1)
            {
                TV x1 = TOps.Broadcast(Unsafe.Add(ref h1, j));
                a1i = TOps.MultiplyAdd(wi, x1, a1i); a1f = TOps.MultiplyAdd(wf, x1, a1f);
                a1g = TOps.MultiplyAdd(wg, x1, a1g); a1o = TOps.MultiplyAdd(wo, x1, a1o);
            }
            if (n > 2)
            {
                TV x2 = TOps.Broadcast(Unsafe.Add(ref h2, j));
                a2i = TOps.MultiplyAdd(wi, x2, a2i); a2f = TOps.MultiplyAdd(wf, x2, a2f);
                a2g = TOps.MultiplyAdd(wg, x2, a2g); a2o = TOps.MultiplyAdd(wo, x2, a2o);
                TV x3 = TOps.Broadcast(Unsafe.Add(ref h3, j));
                a3i = TOps.MultiplyAdd(wi, x3, a3i); a3f = TOps.MultiplyAdd(wf, x3, a3f);
                a3g = TOps.MultiplyAdd(wg, x3, a3g); a3o = TOps.MultiplyAdd(wo, x3, a3o);
            }
            if (n > 4)
            {
                TV x4 = TOps.Broadcast(Unsafe.Add(ref h4, j));
                a4i = TOps.MultiplyAdd(wi, x4, a4i); a4f = TOps.MultiplyAdd(wf, x4, a4f);
                a4g = TOps.MultiplyAdd(wg, x4, a4g); a4o = TOps.MultiplyAdd(wo, x4, a4o);
                TV x5 = TOps.Broadcast(Unsafe.Add(ref h5, j));
                a5i = TOps.MultiplyAdd(wi, x5, a5i); a5f = TOps.MultiplyAdd(wf, x5, a5f);
                a5g = TOps.MultiplyAdd(wg, x5, a5g); a5o = TOps.MultiplyAdd(wo, x5, a5o);
            }
        }
        sums[0] = a0i; sums[1] = a0f; sums[2] = a0g; sums[3] = a0o;
        if (n > 1)
        {
            sums[4] = a1i; sums[5] = a1f; sums[6] = a1g; sums[7] = a1o;
        }
        if (n > 2)
        {
            sums[8] = a2i; sums[9] = a2f; sums[10] = a2g; sums[11] = a2o;
            sums[12] = a3i; sums[13] = a3f; sums[14] = a3g; sums[15] = a3o;
        }
        if (n > 4)
        {
            sums[16] = a4i; sums[17] = a4f; sums[18] = a4g; sums[19] = a4o;
            sums[20] = a5i; sums[21] = a5f; sums[22] = a5g; sums[23] = a5o;
        }
    }

    // The epilogue is the one-stream family's: activations, cell update and h' in registers (c read before written).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FinishLstm(TV preI, TV preF, TV preG, TV preO, ref float cPrev, ref float cNext, ref float hNext,
        bool keep, ref float gates) =>
        GateInterleavedCells<TOps, TV>.FinishLstmBlock(preI, preF, preG, preO, ref cPrev, ref cNext, ref hNext, keep, ref gates);
}
