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
        int n = TS.Streams;
        int hp = a.Hp, gw = a.Gw;
        ref float p = ref Unsafe.Add(ref pre, b * 3 * v);
        TV a0r = TOps.Load(in p), a0z = TOps.Load(in Unsafe.Add(ref p, v)), a0n = bhn;
        TV a1r = default, a1z = default, a1n = default;
        TV a2r = default, a2z = default, a2n = default;
        TV a3r = default, a3z = default, a3n = default;
        if (n > 1)
        {
            a1r = TOps.Load(in Unsafe.Add(ref p, gw)); a1z = TOps.Load(in Unsafe.Add(ref p, gw + v)); a1n = bhn;
        }
        if (n > 2)
        {
            a2r = TOps.Load(in Unsafe.Add(ref p, 2 * gw)); a2z = TOps.Load(in Unsafe.Add(ref p, 2 * gw + v)); a2n = bhn;
            a3r = TOps.Load(in Unsafe.Add(ref p, 3 * gw)); a3z = TOps.Load(in Unsafe.Add(ref p, 3 * gw + v)); a3n = bhn;
        }
        ref float h1 = ref Unsafe.Add(ref h, hp);
        ref float h2 = ref Unsafe.Add(ref h, 2 * hp);
        ref float h3 = ref Unsafe.Add(ref h, 3 * hp);
        int k = a.Hidden;
        for (int j = 0; j < k; j++)
        {
            ref float wj = ref Unsafe.Add(ref w, j * 3 * v);
            TV wr = TOps.Load(in wj), wz = TOps.Load(in Unsafe.Add(ref wj, v)), wn = TOps.Load(in Unsafe.Add(ref wj, 2 * v));
            Fma3(wr, wz, wn, Unsafe.Add(ref h, j), ref a0r, ref a0z, ref a0n);
            if (n > 1)
            {
                Fma3(wr, wz, wn, Unsafe.Add(ref h1, j), ref a1r, ref a1z, ref a1n);
            }
            if (n > 2)
            {
                Fma3(wr, wz, wn, Unsafe.Add(ref h2, j), ref a2r, ref a2z, ref a2n);
                Fma3(wr, wz, wn, Unsafe.Add(ref h3, j), ref a3r, ref a3z, ref a3n);
            }
        }
        int at = b * v;
        int g = b * 4 * v;
        FinishGru(a0r, a0z, a0n, TOps.Load(in Unsafe.Add(ref p, 2 * v)), ref Unsafe.Add(ref h, at), ref Unsafe.Add(ref hNext, at), a.Keep, ref Unsafe.Add(ref gates, g));
        if (n > 1)
        {
            FinishGru(a1r, a1z, a1n, TOps.Load(in Unsafe.Add(ref p, gw + 2 * v)), ref Unsafe.Add(ref h, hp + at), ref Unsafe.Add(ref hNext, hp + at),
                a.Keep, ref Unsafe.Add(ref gates, 4 * hp + g));
        }
        if (n > 2)
        {
            FinishGru(a2r, a2z, a2n, TOps.Load(in Unsafe.Add(ref p, 2 * gw + 2 * v)), ref Unsafe.Add(ref h, 2 * hp + at), ref Unsafe.Add(ref hNext, 2 * hp + at),
                a.Keep, ref Unsafe.Add(ref gates, 8 * hp + g));
            FinishGru(a3r, a3z, a3n, TOps.Load(in Unsafe.Add(ref p, 3 * gw + 2 * v)), ref Unsafe.Add(ref h, 3 * hp + at), ref Unsafe.Add(ref hNext, 3 * hp + at),
                a.Keep, ref Unsafe.Add(ref gates, 12 * hp + g));
        }
    }

    // r, z, n and the blend for one block of one stream; optionally keeps r, z, n and W_hn h + b_hn.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FinishGru(TV preR, TV preZ, TV hn, TV preNx, ref float h, ref float hNext, bool keep, ref float gates)
    {
        int v = TOps.Lanes;
        TV r = SimdMath.Sigmoid<TOps, TV>(preR);
        TV z = SimdMath.Sigmoid<TOps, TV>(preZ);
        TV n = SimdMath.Tanh<TOps, TV>(TOps.MultiplyAdd(r, hn, preNx));
        if (keep)
        {
            TOps.Store(r, ref gates);
            TOps.Store(z, ref Unsafe.Add(ref gates, v));
            TOps.Store(n, ref Unsafe.Add(ref gates, 2 * v));
            TOps.Store(hn, ref Unsafe.Add(ref gates, 3 * v));
        }
        // (1 − z) n + z h = n + z (h − n): one FMA.
        TOps.Store(TOps.MultiplyAdd(z, TOps.Subtract(TOps.Load(in h), n), n), ref hNext);
    }
}
