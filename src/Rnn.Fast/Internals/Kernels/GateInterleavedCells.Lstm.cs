using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Rnn.Fast.Internals;

internal abstract partial class GateInterleavedCells<TOps, TV>
{
    public sealed override void LstmStepFused(ReadOnlySpan<float> x, ReadOnlySpan<float> hPrev, ReadOnlySpan<float> cPrev,
        PackedMatrix wx, PackedMatrix wh, ReadOnlySpan<float> bias, Span<float> cNext, Span<float> hNext) =>
        LstmOne(ref MemoryMarshal.GetReference(bias), ref MemoryMarshal.GetArrayDataReference(wx.Values), ref MemoryMarshal.GetReference(x), wx.Columns,
            wh, ref MemoryMarshal.GetReference(hPrev), ref MemoryMarshal.GetReference(cPrev), ref MemoryMarshal.GetReference(cNext),
            ref MemoryMarshal.GetReference(hNext), keep: false, ref MemoryMarshal.GetReference(Span<float>.Empty));

    public sealed override void LstmSteps(ReadOnlySpan<float> pre, ReadOnlySpan<float> hPrev, ReadOnlySpan<float> cPrev, PackedMatrix wh,
        int streams, Span<float> cNext, Span<float> hNext, Span<float> gates)
    {
        bool keep = !gates.IsEmpty;
        int hp = wh.Blocks * TOps.Lanes;
        int gw = wh.RowWidth;
        ref float preRef = ref MemoryMarshal.GetReference(pre);
        ref float hRef = ref MemoryMarshal.GetReference(hPrev);
        ref float cRef = ref MemoryMarshal.GetReference(cPrev);
        ref float cNextRef = ref MemoryMarshal.GetReference(cNext);
        ref float hNextRef = ref MemoryMarshal.GetReference(hNext);
        ref float gRef = ref MemoryMarshal.GetReference(gates);
        int s = 0;
        // Streams in pairs share every load of W_hh (see LstmPair); an odd last stream steps alone.
        for (; s + 1 < streams; s += 2)
        {
            LstmPair(ref Unsafe.Add(ref preRef, s * gw), gw, wh, ref Unsafe.Add(ref hRef, s * hp), hp,
                ref Unsafe.Add(ref cRef, s * hp), ref Unsafe.Add(ref cNextRef, s * hp), ref Unsafe.Add(ref hNextRef, s * hp),
                keep, ref Unsafe.Add(ref gRef, s * gw));
        }
        for (; s < streams; s++)
        {
            LstmOne(ref Unsafe.Add(ref preRef, s * gw), ref preRef, ref preRef, 0, wh, ref Unsafe.Add(ref hRef, s * hp),
                ref Unsafe.Add(ref cRef, s * hp), ref Unsafe.Add(ref cNextRef, s * hp), ref Unsafe.Add(ref hNextRef, s * hp),
                keep, ref Unsafe.Add(ref gRef, s * gw));
        }
    }

    // One stream: init (bias, or a precomputed pre-activation row) + Wx·x (inputs = 0 skips it) + Wh·h.
    private static void LstmOne(ref float init /* [nb, 4, V] */, ref float wx /* [nb, I, 4, V] */, ref float x /* [I] */, int inputs,
        PackedMatrix wh, ref float h /* [Hp] */, ref float cPrev, ref float cNext, ref float hNext, bool keep, ref float gates)
    {
        int v = TOps.Lanes;
        int hidden = wh.Columns;
        ref float whRef = ref MemoryMarshal.GetArrayDataReference(wh.Values);
        for (int b = 0; b < wh.Blocks; b++)
        {
            ref float gateInit = ref Unsafe.Add(ref init, b * 4 * v);
            TV ai = TOps.Load(in gateInit);
            TV af = TOps.Load(in Unsafe.Add(ref gateInit, v));
            TV ag = TOps.Load(in Unsafe.Add(ref gateInit, 2 * v));
            TV ao = TOps.Load(in Unsafe.Add(ref gateInit, 3 * v));
            TV bi = TOps.Zero, bf = TOps.Zero, bg = TOps.Zero, bo = TOps.Zero;
            AccumulateFour(ref Unsafe.Add(ref wx, b * inputs * 4 * v), ref x, inputs, ref ai, ref af, ref ag, ref ao, ref bi, ref bf, ref bg, ref bo);
            AccumulateFour(ref Unsafe.Add(ref whRef, b * hidden * 4 * v), ref h, hidden, ref ai, ref af, ref ag, ref ao, ref bi, ref bf, ref bg, ref bo);
            FinishLstmBlock(TOps.Add(ai, bi), TOps.Add(af, bf), TOps.Add(ag, bg), TOps.Add(ao, bo),
                ref Unsafe.Add(ref cPrev, b * v), ref Unsafe.Add(ref cNext, b * v), ref Unsafe.Add(ref hNext, b * v), keep, ref Unsafe.Add(ref gates, b * 4 * v));
        }
    }

    // Two streams whose rows are `stride` apart: four loads and two broadcasts feed eight FMAs (one stream needs
    // four loads and one broadcast per four), which halves the weight traffic per stream where the recurrence is
    // bandwidth-bound.
    private static void LstmPair(ref float pre /* [2, gw] */, int gw, PackedMatrix wh, ref float h /* [2, Hp] */, int hp,
        ref float cPrev, ref float cNext, ref float hNext, bool keep, ref float gates /* [2, gw] */)
    {
        int v = TOps.Lanes;
        int hidden = wh.Columns;
        ref float whRef = ref MemoryMarshal.GetArrayDataReference(wh.Values);
        ref float h1Ref = ref Unsafe.Add(ref h, hp);
        for (int b = 0; b < wh.Blocks; b++)
        {
            ref float g0 = ref Unsafe.Add(ref pre, b * 4 * v);
            ref float g1 = ref Unsafe.Add(ref g0, gw);
            TV ai = TOps.Load(in g0), af = TOps.Load(in Unsafe.Add(ref g0, v));
            TV ag = TOps.Load(in Unsafe.Add(ref g0, 2 * v)), ao = TOps.Load(in Unsafe.Add(ref g0, 3 * v));
            TV bi = TOps.Load(in g1), bf = TOps.Load(in Unsafe.Add(ref g1, v));
            TV bg = TOps.Load(in Unsafe.Add(ref g1, 2 * v)), bo = TOps.Load(in Unsafe.Add(ref g1, 3 * v));
            ref float w = ref Unsafe.Add(ref whRef, b * hidden * 4 * v);
            for (int j = 0; j < hidden; j++)
            {
                ref float wj = ref Unsafe.Add(ref w, j * 4 * v);
                TV wi = TOps.Load(in wj), wf = TOps.Load(in Unsafe.Add(ref wj, v));
                TV wg = TOps.Load(in Unsafe.Add(ref wj, 2 * v)), wo = TOps.Load(in Unsafe.Add(ref wj, 3 * v));
                TV x0 = TOps.Broadcast(Unsafe.Add(ref h, j));
                TV x1 = TOps.Broadcast(Unsafe.Add(ref h1Ref, j));
                ai = TOps.MultiplyAdd(wi, x0, ai); bi = TOps.MultiplyAdd(wi, x1, bi);
                af = TOps.MultiplyAdd(wf, x0, af); bf = TOps.MultiplyAdd(wf, x1, bf);
                ag = TOps.MultiplyAdd(wg, x0, ag); bg = TOps.MultiplyAdd(wg, x1, bg);
                ao = TOps.MultiplyAdd(wo, x0, ao); bo = TOps.MultiplyAdd(wo, x1, bo);
            }
            FinishLstmBlock(ai, af, ag, ao, ref Unsafe.Add(ref cPrev, b * v), ref Unsafe.Add(ref cNext, b * v),
                ref Unsafe.Add(ref hNext, b * v), keep, ref Unsafe.Add(ref gates, b * 4 * v));
            FinishLstmBlock(bi, bf, bg, bo, ref Unsafe.Add(ref cPrev, hp + b * v), ref Unsafe.Add(ref cNext, hp + b * v),
                ref Unsafe.Add(ref hNext, hp + b * v), keep, ref Unsafe.Add(ref gates, gw + b * 4 * v));
        }
    }

    // Gate activations, the cell update and h' for one block, in registers; optionally keeps i, f, g, o.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void FinishLstmBlock(TV preI, TV preF, TV preG, TV preO, ref float cPrev, ref float cNext, ref float hNext,
        bool keep, ref float gates)
    {
        int v = TOps.Lanes;
        TV i = SimdMath.GateSigmoid<TOps, TV>(preI);
        TV f = SimdMath.GateSigmoid<TOps, TV>(preF);
        TV g = SimdMath.Tanh<TOps, TV>(preG);
        TV o = SimdMath.GateSigmoid<TOps, TV>(preO);
        if (keep)
        {
            TOps.Store(i, ref gates);
            TOps.Store(f, ref Unsafe.Add(ref gates, v));
            TOps.Store(g, ref Unsafe.Add(ref gates, 2 * v));
            TOps.Store(o, ref Unsafe.Add(ref gates, 3 * v));
        }
        // The state never turns subnormal (SimdMath.FlushTiny), and the flush stays off the chain c' → tanh(c') → h' that
        // the next step waits for (a flush there costs ~6 cycles twice): c' is stored flushed below 2^-63 while tanh reads
        // it unflushed; tanh's own select for tiny arguments returns them flushed; and o (a gate, at least 2^-63 by
        // SimdMath.GateSigmoid) is flushed beside the chain all the same. h' is then a product of two factors each 0 or at
        // least 2^-63, so 0 or at least 2^-126: never subnormal. At the end of a decay it can sit below 2^-63 for a step
        // (o < 1 times a c' just above 2^-63) before c' falls under the flush and h' is 0.
        TV c = TOps.MultiplyAdd(f, TOps.Load(in cPrev), TOps.Multiply(i, g));
        TOps.Store(SimdMath.FlushTiny<TOps, TV>(c), ref cNext);
        TOps.Store(TOps.Multiply(SimdMath.FlushTiny<TOps, TV>(o), SimdMath.TanhFlushingTiny<TOps, TV>(c)), ref hNext);
    }
}
