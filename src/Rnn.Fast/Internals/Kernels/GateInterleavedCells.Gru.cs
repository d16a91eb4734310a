using System.Runtime.InteropServices;
using System.Runtime.CompilerServices;

namespace Rnn.Fast.Internals;

internal abstract partial class GateInterleavedCells<TOps, TV>
{
    public sealed override void GruStepFused(ReadOnlySpan<float> x, ReadOnlySpan<float> hPrev, PackedMatrix wx, PackedMatrix wh,
        ReadOnlySpan<float> bias, ReadOnlySpan<float> biasHn, Span<float> hNext) =>
        GruOne(ref MemoryMarshal.GetReference(bias), ref MemoryMarshal.GetArrayDataReference(wx.Values), ref MemoryMarshal.GetReference(x), wx.Columns,
            wh, ref MemoryMarshal.GetReference(biasHn), ref MemoryMarshal.GetReference(hPrev), ref MemoryMarshal.GetReference(hNext),
            keep: false, ref MemoryMarshal.GetReference(Span<float>.Empty));

    public sealed override void GruSteps(ReadOnlySpan<float> pre, ReadOnlySpan<float> hPrev, PackedMatrix wh, ReadOnlySpan<float> biasHn,
        int streams, Span<float> hNext, Span<float> gates)
    {
        bool keep = !gates.IsEmpty;
        int hp = wh.Blocks * TOps.Lanes;
        int gw = wh.RowWidth;
        ref float preRef = ref MemoryMarshal.GetReference(pre);
        ref float hRef = ref MemoryMarshal.GetReference(hPrev);
        ref float hNextRef = ref MemoryMarshal.GetReference(hNext);
        ref float gRef = ref MemoryMarshal.GetReference(gates);
        ref float bhnRef = ref MemoryMarshal.GetReference(biasHn);
        for (int s = 0; s < streams; s++)
        {
            GruOne(ref Unsafe.Add(ref preRef, s * gw), ref preRef, ref preRef, 0, wh, ref bhnRef, ref Unsafe.Add(ref hRef, s * hp),
                ref Unsafe.Add(ref hNextRef, s * hp), keep, ref Unsafe.Add(ref gRef, s * 4 * hp));
        }
    }

    // One stream: init (bias, or a precomputed pre-activation row) + Wx·x (inputs = 0 skips it) + Wh·h.
    private static void GruOne(ref float init /* [nb, 3, V] */, ref float wx /* [nb, I, 3, V] */, ref float x /* [I] */, int inputs,
        PackedMatrix wh, ref float biasHn /* [Hp] */, ref float h /* [Hp] */, ref float hNext, bool keep, ref float gates /* [nb, 4, V] */)
    {
        int v = TOps.Lanes;
        int hidden = wh.Columns;
        ref float whRef = ref MemoryMarshal.GetArrayDataReference(wh.Values);
        for (int b = 0; b < wh.Blocks; b++)
        {
            ref float gateInit = ref Unsafe.Add(ref init, b * 3 * v);
            TV ar = TOps.Load(in gateInit);
            TV az = TOps.Load(in Unsafe.Add(ref gateInit, v));
            TV anx = TOps.Load(in Unsafe.Add(ref gateInit, 2 * v));
            TV anh = TOps.Load(in Unsafe.Add(ref biasHn, b * v));

            // n needs its x part and its h part apart (r multiplies only the h part), so the x columns feed
            // (r, z, nx) and the h columns feed (r, z, nh); the second set of three accumulators takes the odd
            // columns, as in the LSTM, to keep enough FMA chains in flight.
            TV br = TOps.Zero, bz = TOps.Zero, bnx = TOps.Zero, bnh = TOps.Zero;
            AccumulateThree(ref Unsafe.Add(ref wx, b * inputs * 3 * v), ref x, inputs, ref ar, ref az, ref anx, ref br, ref bz, ref bnx);
            AccumulateThree(ref Unsafe.Add(ref whRef, b * hidden * 3 * v), ref h, hidden, ref ar, ref az, ref anh, ref br, ref bz, ref bnh);

            TV r = SimdMath.GateSigmoid<TOps, TV>(TOps.Add(ar, br));
            TV z = SimdMath.GateSigmoid<TOps, TV>(TOps.Add(az, bz));
            TV hn = TOps.Add(anh, bnh);
            TV n = SimdMath.Tanh<TOps, TV>(TOps.MultiplyAdd(r, hn, TOps.Add(anx, bnx)));
            if (keep)
            {
                ref float g = ref Unsafe.Add(ref gates, b * 4 * v);
                TOps.Store(r, ref g);
                TOps.Store(z, ref Unsafe.Add(ref g, v));
                TOps.Store(n, ref Unsafe.Add(ref g, 2 * v));
                TOps.Store(hn, ref Unsafe.Add(ref g, 3 * v));
            }
            // (1 − z) n + z h = n + z (h − n): one FMA. The blend reads whole blocks of h, hence padded rows.
            TV hb = TOps.Load(in Unsafe.Add(ref h, b * v));
            TOps.Store(SimdMath.FlushTiny<TOps, TV>(TOps.MultiplyAdd(z, TOps.Subtract(hb, n), n)), ref Unsafe.Add(ref hNext, b * v));
        }
    }
}
