using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Rnn.Fast.Internals;

internal abstract partial class StreamTiledCells<TOps, TV>
{
    public sealed override void GruSteps(ReadOnlySpan<float> pre, ReadOnlySpan<float> hPrev, PackedMatrix wh, ReadOnlySpan<float> biasHn,
        int streams, Span<float> hNext, Span<float> gates)
    {
        var step = new GruTileArgs
        {
            Keep = !gates.IsEmpty,
            Hp = wh.Blocks * TOps.Lanes,
            Gw = wh.RowWidth,
            Hidden = wh.Columns,
        };
        int gateStride = 4 * step.Hp;   // kept gates: r, z, n, W_hn h + b_hn per block
        ref float preRef = ref MemoryMarshal.GetReference(pre);
        ref float hRef = ref MemoryMarshal.GetReference(hPrev);
        ref float hNextRef = ref MemoryMarshal.GetReference(hNext);
        ref float gRef = ref MemoryMarshal.GetReference(gates);
        ref float bhnRef = ref MemoryMarshal.GetReference(biasHn);
        ref float whRef = ref MemoryMarshal.GetArrayDataReference(wh.Values);
        int tile = WideRegisterFile ? 4 : 2;
        for (int b = 0; b < wh.Blocks; b++)
        {
            ref float w = ref Unsafe.Add(ref whRef, b * wh.BlockStride);
            TV bhn = TOps.Load(in Unsafe.Add(ref bhnRef, b * TOps.Lanes));
            int s = 0;
            if (tile == 4)
            {
                for (; s + 3 < streams; s += 4)
                {
                    GruTile<FourStreams>(in step, b, ref w, bhn, ref Unsafe.Add(ref preRef, s * step.Gw), ref Unsafe.Add(ref hRef, s * step.Hp),
                        ref Unsafe.Add(ref hNextRef, s * step.Hp), ref Unsafe.Add(ref gRef, s * gateStride));
                }
            }
            for (; s + 1 < streams; s += 2)
            {
                GruTile<TwoStreams>(in step, b, ref w, bhn, ref Unsafe.Add(ref preRef, s * step.Gw), ref Unsafe.Add(ref hRef, s * step.Hp),
                    ref Unsafe.Add(ref hNextRef, s * step.Hp), ref Unsafe.Add(ref gRef, s * gateStride));
            }
            if (s < streams)
            {
                GruTile<OneStream>(in step, b, ref w, bhn, ref Unsafe.Add(ref preRef, s * step.Gw), ref Unsafe.Add(ref hRef, s * step.Hp),
                    ref Unsafe.Add(ref hNextRef, s * step.Hp), ref Unsafe.Add(ref gRef, s * gateStride));
            }
        }
    }

    private struct GruTileArgs
    {
        public bool Keep;
        public int Hp;            // state row stride
        public int Gw;            // pre-activation row stride (3·Hp)
        public int Hidden;        // H: columns of W_hh
    }

    // Block b of S streams: the h columns feed (r, z, W_hn h), 3·S accumulators; r and z start from their
    // pre-activations (x and both biases), W_hn h from b_hn. The x part of n joins in the epilogue, after r.
    private static void GruTile<TS>(in GruTileArgs a, int b, ref float w /* [H, 3, V] block b */, TV bhn, ref float pre /* [S, gw] */,
        ref float h /* [S, Hp] */, ref float hNext, ref float gates /* [S, 4·Hp] */)
        where TS : struct, IStreamTile
    {
        int v = TOps.Lanes;
        ref float p = ref Unsafe.Add(ref pre, b * 3 * v);
        var sums = new TileAccumulators<TV>();
        GruProduct<TS>(ref w, a.Hidden, ref p, a.Gw, bhn, ref h, a.Hp, ref sums);
        for (int s = 0; s < TS.Streams; s++)
        {
            int at = s * a.Hp + b * v;
            FinishGru(sums[3 * s], sums[3 * s + 1], sums[3 * s + 2], TOps.Load(in Unsafe.Add(ref p, s * a.Gw + 2 * v)),
                ref Unsafe.Add(ref h, at), ref Unsafe.Add(ref hNext, at), a.Keep, ref Unsafe.Add(ref gates, s * 4 * a.Hp + b * 4 * v));
        }
    }

    // Out of line, sums written only at the end: see LstmProduct.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void GruProduct<TS>(ref float w /* [H, 3, V] */, int k, ref float p /* [S, gw] at block b */, int gw, TV bhn,
        ref float h /* [S, Hp] */, int hp, ref TileAccumulators<TV> sums)
        where TS : struct, IStreamTile
    {
        int v = TOps.Lanes;
        int n = TS.Streams;
        ref float p1 = ref Unsafe.Add(ref p, Math.Min(1, n - 1) * gw);
        ref float p2 = ref Unsafe.Add(ref p, Math.Min(2, n - 1) * gw);
        ref float p3 = ref Unsafe.Add(ref p, Math.Min(3, n - 1) * gw);
        ref float h1 = ref Unsafe.Add(ref h, Math.Min(1, n - 1) * hp);
        ref float h2 = ref Unsafe.Add(ref h, Math.Min(2, n - 1) * hp);
        ref float h3 = ref Unsafe.Add(ref h, Math.Min(3, n - 1) * hp);
        TV a0r = TOps.Load(in p), a0z = TOps.Load(in Unsafe.Add(ref p, v)), a0n = bhn;
        TV a1r = TOps.Load(in p1), a1z = TOps.Load(in Unsafe.Add(ref p1, v)), a1n = bhn;
        TV a2r = TOps.Load(in p2), a2z = TOps.Load(in Unsafe.Add(ref p2, v)), a2n = bhn;
        TV a3r = TOps.Load(in p3), a3z = TOps.Load(in Unsafe.Add(ref p3, v)), a3n = bhn;
        for (int j = 0; j < k; j++)
        {
            ref float wj = ref Unsafe.Add(ref w, j * 3 * v);
            TV wr = TOps.Load(in wj), wz = TOps.Load(in Unsafe.Add(ref wj, v)), wn = TOps.Load(in Unsafe.Add(ref wj, 2 * v));
            TV x0 = TOps.Broadcast(Unsafe.Add(ref h, j));
            a0r = TOps.MultiplyAdd(wr, x0, a0r); a0z = TOps.MultiplyAdd(wz, x0, a0z); a0n = TOps.MultiplyAdd(wn, x0, a0n);
            if (n > 1)
            {
                TV x1 = TOps.Broadcast(Unsafe.Add(ref h1, j));
                a1r = TOps.MultiplyAdd(wr, x1, a1r); a1z = TOps.MultiplyAdd(wz, x1, a1z); a1n = TOps.MultiplyAdd(wn, x1, a1n);
            }
            if (n > 2)
            {
                TV x2 = TOps.Broadcast(Unsafe.Add(ref h2, j));
                a2r = TOps.MultiplyAdd(wr, x2, a2r); a2z = TOps.MultiplyAdd(wz, x2, a2z); a2n = TOps.MultiplyAdd(wn, x2, a2n);
                TV x3 = TOps.Broadcast(Unsafe.Add(ref h3, j));
                a3r = TOps.MultiplyAdd(wr, x3, a3r); a3z = TOps.MultiplyAdd(wz, x3, a3z); a3n = TOps.MultiplyAdd(wn, x3, a3n);
            }
        }
        sums[0] = a0r; sums[1] = a0z; sums[2] = a0n;
        if (n > 1)
        {
            sums[3] = a1r; sums[4] = a1z; sums[5] = a1n;
        }
        if (n > 2)
        {
            sums[6] = a2r; sums[7] = a2z; sums[8] = a2n;
            sums[9] = a3r; sums[10] = a3z; sums[11] = a3n;
        }
    }

    // r, z, n and the blend for one block of one stream; optionally keeps r, z, n and W_hn h + b_hn.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FinishGru(TV preR, TV preZ, TV hn, TV preNx, ref float h, ref float hNext, bool keep, ref float gates)
    {
        int v = TOps.Lanes;
        TV r = SimdMath.GateSigmoid<TOps, TV>(preR);
        TV z = SimdMath.GateSigmoid<TOps, TV>(preZ);
        TV n = SimdMath.Tanh<TOps, TV>(TOps.MultiplyAdd(r, hn, preNx));
        if (keep)
        {
            TOps.Store(r, ref gates);
            TOps.Store(z, ref Unsafe.Add(ref gates, v));
            TOps.Store(n, ref Unsafe.Add(ref gates, 2 * v));
            TOps.Store(hn, ref Unsafe.Add(ref gates, 3 * v));
        }
        // (1 − z) n + z h = n + z (h − n): one FMA.
        TOps.Store(SimdMath.FlushTiny<TOps, TV>(TOps.MultiplyAdd(z, TOps.Subtract(TOps.Load(in h), n), n)), ref hNext);
    }
}
