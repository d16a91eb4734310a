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
        int tile = WideRegisterFile ? 4 : 2;
        for (int b = 0; b < wh.Blocks; b++)
        {
            ref float w = ref Unsafe.Add(ref whRef, b * step.BlockStride);
            int s = 0;
            if (tile == 4)
            {
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

    // Block b of S streams starting at the given rows: 4·S accumulators start from the pre-activations, take
    // 4 weight loads and S broadcasts per column j, then the S epilogues.
    private static void LstmTile<TS>(in LstmTileArgs a, int b, ref float w /* [H, 4, V] block b */, ref float pre /* [S, gw] */,
        ref float h /* [S, Hp] */, ref float cPrev, ref float cNext, ref float hNext, ref float gates /* [S, gw] */)
        where TS : struct, IStreamTile
    {
        int v = TOps.Lanes;
        int n = TS.Streams;
        int hp = a.Hp, gw = a.Gw;
        ref float p = ref Unsafe.Add(ref pre, b * 4 * v);
        TV a0i = TOps.Load(in p), a0f = TOps.Load(in Unsafe.Add(ref p, v)), a0g = TOps.Load(in Unsafe.Add(ref p, 2 * v)), a0o = TOps.Load(in Unsafe.Add(ref p, 3 * v));
        TV a1i = default, a1f = default, a1g = default, a1o = default;
        TV a2i = default, a2f = default, a2g = default, a2o = default;
        TV a3i = default, a3f = default, a3g = default, a3o = default;
        if (n > 1)
        {
            ref float p1 = ref Unsafe.Add(ref p, gw);
            a1i = TOps.Load(in p1); a1f = TOps.Load(in Unsafe.Add(ref p1, v)); a1g = TOps.Load(in Unsafe.Add(ref p1, 2 * v)); a1o = TOps.Load(in Unsafe.Add(ref p1, 3 * v));
        }
        if (n > 2)
        {
            ref float p2 = ref Unsafe.Add(ref p, 2 * gw);
            a2i = TOps.Load(in p2); a2f = TOps.Load(in Unsafe.Add(ref p2, v)); a2g = TOps.Load(in Unsafe.Add(ref p2, 2 * v)); a2o = TOps.Load(in Unsafe.Add(ref p2, 3 * v));
            ref float p3 = ref Unsafe.Add(ref p, 3 * gw);
            a3i = TOps.Load(in p3); a3f = TOps.Load(in Unsafe.Add(ref p3, v)); a3g = TOps.Load(in Unsafe.Add(ref p3, 2 * v)); a3o = TOps.Load(in Unsafe.Add(ref p3, 3 * v));
        }
        ref float h1 = ref Unsafe.Add(ref h, hp);
        ref float h2 = ref Unsafe.Add(ref h, 2 * hp);
        ref float h3 = ref Unsafe.Add(ref h, 3 * hp);
        int k = a.Hidden;
        for (int j = 0; j < k; j++)
        {
            ref float wj = ref Unsafe.Add(ref w, j * 4 * v);
            TV wi = TOps.Load(in wj), wf = TOps.Load(in Unsafe.Add(ref wj, v));
            TV wg = TOps.Load(in Unsafe.Add(ref wj, 2 * v)), wo = TOps.Load(in Unsafe.Add(ref wj, 3 * v));
            Fma4(wi, wf, wg, wo, Unsafe.Add(ref h, j), ref a0i, ref a0f, ref a0g, ref a0o);
            if (n > 1)
            {
                Fma4(wi, wf, wg, wo, Unsafe.Add(ref h1, j), ref a1i, ref a1f, ref a1g, ref a1o);
            }
            if (n > 2)
            {
                Fma4(wi, wf, wg, wo, Unsafe.Add(ref h2, j), ref a2i, ref a2f, ref a2g, ref a2o);
                Fma4(wi, wf, wg, wo, Unsafe.Add(ref h3, j), ref a3i, ref a3f, ref a3g, ref a3o);
            }
        }
        int at = b * v;
        int g = b * 4 * v;
        FinishLstm(a0i, a0f, a0g, a0o, ref Unsafe.Add(ref cPrev, at), ref Unsafe.Add(ref cNext, at), ref Unsafe.Add(ref hNext, at), a.Keep, ref Unsafe.Add(ref gates, g));
        if (n > 1)
        {
            FinishLstm(a1i, a1f, a1g, a1o, ref Unsafe.Add(ref cPrev, hp + at), ref Unsafe.Add(ref cNext, hp + at), ref Unsafe.Add(ref hNext, hp + at),
                a.Keep, ref Unsafe.Add(ref gates, gw + g));
        }
        if (n > 2)
        {
            FinishLstm(a2i, a2f, a2g, a2o, ref Unsafe.Add(ref cPrev, 2 * hp + at), ref Unsafe.Add(ref cNext, 2 * hp + at), ref Unsafe.Add(ref hNext, 2 * hp + at),
                a.Keep, ref Unsafe.Add(ref gates, 2 * gw + g));
            FinishLstm(a3i, a3f, a3g, a3o, ref Unsafe.Add(ref cPrev, 3 * hp + at), ref Unsafe.Add(ref cNext, 3 * hp + at), ref Unsafe.Add(ref hNext, 3 * hp + at),
                a.Keep, ref Unsafe.Add(ref gates, 3 * gw + g));
        }
    }

    // Gate activations, the cell update and h' for one block of one stream, in registers; optionally keeps i, f, g, o.
    // c is read before it is written, so cNext may be cPrev.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FinishLstm(TV preI, TV preF, TV preG, TV preO, ref float cPrev, ref float cNext, ref float hNext,
        bool keep, ref float gates)
    {
        int v = TOps.Lanes;
        TV i = SimdMath.Sigmoid<TOps, TV>(preI);
        TV f = SimdMath.Sigmoid<TOps, TV>(preF);
        TV g = SimdMath.Tanh<TOps, TV>(preG);
        TV o = SimdMath.Sigmoid<TOps, TV>(preO);
        if (keep)
        {
            TOps.Store(i, ref gates);
            TOps.Store(f, ref Unsafe.Add(ref gates, v));
            TOps.Store(g, ref Unsafe.Add(ref gates, 2 * v));
            TOps.Store(o, ref Unsafe.Add(ref gates, 3 * v));
        }
        TV c = TOps.MultiplyAdd(f, TOps.Load(in cPrev), TOps.Multiply(i, g));
        TOps.Store(c, ref cNext);
        TOps.Store(TOps.Multiply(o, SimdMath.Tanh<TOps, TV>(c)), ref hNext);
    }
}
