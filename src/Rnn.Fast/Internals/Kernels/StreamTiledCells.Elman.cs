using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Rnn.Fast.Internals;

internal abstract partial class StreamTiledCells<TOps, TV>
{
    public sealed override void ElmanSteps(Activation nonlinearity, ReadOnlySpan<float> pre, ReadOnlySpan<float> hPrev, PackedMatrix wh,
        int streams, Span<float> hNext)
    {
        // The activation is a type argument, so the choice costs no branch per block.
        switch (nonlinearity)
        {
            case Activation.Tanh: ElmanSteps<TanhOperator>(pre, hPrev, wh, streams, hNext); break;
            case Activation.Relu: ElmanSteps<ReluOperator>(pre, hPrev, wh, streams, hNext); break;
            case Activation.Sigmoid: ElmanSteps<SigmoidOperator>(pre, hPrev, wh, streams, hNext); break;
            case Activation.Identity: ElmanSteps<IdentityOperator>(pre, hPrev, wh, streams, hNext); break;
            default: throw new ArgumentOutOfRangeException(nameof(nonlinearity), nonlinearity, "Not a recurrent nonlinearity.");
        }
    }

    // One gate per unit, so a tile takes two blocks (register columns) × S streams to have enough accumulators:
    // 2·S chains, 2 weight loads and S broadcasts per column j. An odd last block pairs with itself (same loads;
    // its second stores are skipped).
    private static void ElmanSteps<TAct>(ReadOnlySpan<float> pre /* [S, Hp] */, ReadOnlySpan<float> hPrev /* [S, Hp] */, PackedMatrix wh,
        int streams, Span<float> hNext /* [S, Hp] */)
        where TAct : struct, IActivationOperator
    {
        int v = TOps.Lanes;
        int hp = wh.Blocks * v;
        ref float preRef = ref MemoryMarshal.GetReference(pre);
        ref float hRef = ref MemoryMarshal.GetReference(hPrev);
        ref float hNextRef = ref MemoryMarshal.GetReference(hNext);
        ref float whRef = ref MemoryMarshal.GetArrayDataReference(wh.Values);
        int tile = WideRegisterFile ? 6 : 4;
        for (int b = 0; b < wh.Blocks; b += 2)
        {
            bool pair = b + 1 < wh.Blocks;
            int b1 = pair ? b + 1 : b;
            ref float w0 = ref Unsafe.Add(ref whRef, b * wh.BlockStride);
            ref float w1 = ref Unsafe.Add(ref whRef, b1 * wh.BlockStride);
            int s = 0;
            if (tile == 6)
            {
                for (; s + 5 < streams; s += 6)
                {
                    ElmanTile<SixStreams, TAct>(wh.Columns, hp, b * v, b1 * v, pair, ref w0, ref w1, ref Unsafe.Add(ref preRef, s * hp),
                        ref Unsafe.Add(ref hRef, s * hp), ref Unsafe.Add(ref hNextRef, s * hp));
                }
            }
            for (; s + 3 < streams; s += 4)
            {
                ElmanTile<FourStreams, TAct>(wh.Columns, hp, b * v, b1 * v, pair, ref w0, ref w1, ref Unsafe.Add(ref preRef, s * hp),
                    ref Unsafe.Add(ref hRef, s * hp), ref Unsafe.Add(ref hNextRef, s * hp));
            }
            for (; s + 1 < streams; s += 2)
            {
                ElmanTile<TwoStreams, TAct>(wh.Columns, hp, b * v, b1 * v, pair, ref w0, ref w1, ref Unsafe.Add(ref preRef, s * hp),
                    ref Unsafe.Add(ref hRef, s * hp), ref Unsafe.Add(ref hNextRef, s * hp));
            }
            if (s < streams)
            {
                ElmanTile<OneStream, TAct>(wh.Columns, hp, b * v, b1 * v, pair, ref w0, ref w1, ref Unsafe.Add(ref preRef, s * hp),
                    ref Unsafe.Add(ref hRef, s * hp), ref Unsafe.Add(ref hNextRef, s * hp));
            }
        }
    }

    private static void ElmanTile<TS, TAct>(int k, int hp, int at0, int at1, bool pair, ref float w0 /* [H, V] */, ref float w1 /* [H, V] */,
        ref float pre /* [S, Hp] */, ref float h /* [S, Hp] */, ref float hNext /* [S, Hp] */)
        where TS : struct, IStreamTile
        where TAct : struct, IActivationOperator
    {
        var sums = new TileAccumulators<TV>();
        ElmanProduct<TS>(k, hp, at0, at1, ref w0, ref w1, ref pre, ref h, ref sums);
        for (int s = 0; s < TS.Streams; s++)
        {
            FinishElman<TAct>(sums[2 * s], sums[2 * s + 1], pair, ref Unsafe.Add(ref hNext, s * hp + at0), ref Unsafe.Add(ref hNext, s * hp + at1));
        }
    }

    // Out of line, sums written only at the end: see LstmProduct.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ElmanProduct<TS>(int k, int hp, int at0, int at1, ref float w0 /* [H, V] */, ref float w1 /* [H, V] */,
        ref float pre /* [S, Hp] */, ref float h /* [S, Hp] */, ref TileAccumulators<TV> sums)
        where TS : struct, IStreamTile
    {
        int v = TOps.Lanes;
        int n = TS.Streams;
        int r1 = Math.Min(1, n - 1) * hp, r2 = Math.Min(2, n - 1) * hp, r3 = Math.Min(3, n - 1) * hp;
        int r4 = Math.Min(4, n - 1) * hp, r5 = Math.Min(5, n - 1) * hp;
        TV a00 = TOps.Load(in Unsafe.Add(ref pre, at0)), a01 = TOps.Load(in Unsafe.Add(ref pre, at1));
        TV a10 = TOps.Load(in Unsafe.Add(ref pre, r1 + at0)), a11 = TOps.Load(in Unsafe.Add(ref pre, r1 + at1));
        TV a20 = TOps.Load(in Unsafe.Add(ref pre, r2 + at0)), a21 = TOps.Load(in Unsafe.Add(ref pre, r2 + at1));
        TV a30 = TOps.Load(in Unsafe.Add(ref pre, r3 + at0)), a31 = TOps.Load(in Unsafe.Add(ref pre, r3 + at1));
        TV a40 = TOps.Load(in Unsafe.Add(ref pre, r4 + at0)), a41 = TOps.Load(in Unsafe.Add(ref pre, r4 + at1));
        TV a50 = TOps.Load(in Unsafe.Add(ref pre, r5 + at0)), a51 = TOps.Load(in Unsafe.Add(ref pre, r5 + at1));
        ref float h1 = ref Unsafe.Add(ref h, r1);
        ref float h2 = ref Unsafe.Add(ref h, r2);
        ref float h3 = ref Unsafe.Add(ref h, r3);
        ref float h4 = ref Unsafe.Add(ref h, r4);
        ref float h5 = ref Unsafe.Add(ref h, r5);
        for (int j = 0; j < k; j++)
        {
            TV wa = TOps.Load(in Unsafe.Add(ref w0, j * v)), wb = TOps.Load(in Unsafe.Add(ref w1, j * v));
            TV x0 = TOps.Broadcast(Unsafe.Add(ref h, j));
            a00 = TOps.MultiplyAdd(wa, x0, a00); a01 = TOps.MultiplyAdd(wb, x0, a01);
            if (n > 1)
            {
                TV x1 = TOps.Broadcast(Unsafe.Add(ref h1, j));
                a10 = TOps.MultiplyAdd(wa, x1, a10); a11 = TOps.MultiplyAdd(wb, x1, a11);
            }
            if (n > 2)
            {
                TV x2 = TOps.Broadcast(Unsafe.Add(ref h2, j));
                a20 = TOps.MultiplyAdd(wa, x2, a20); a21 = TOps.MultiplyAdd(wb, x2, a21);
                TV x3 = TOps.Broadcast(Unsafe.Add(ref h3, j));
                a30 = TOps.MultiplyAdd(wa, x3, a30); a31 = TOps.MultiplyAdd(wb, x3, a31);
            }
            if (n > 4)
            {
                TV x4 = TOps.Broadcast(Unsafe.Add(ref h4, j));
                a40 = TOps.MultiplyAdd(wa, x4, a40); a41 = TOps.MultiplyAdd(wb, x4, a41);
                TV x5 = TOps.Broadcast(Unsafe.Add(ref h5, j));
                a50 = TOps.MultiplyAdd(wa, x5, a50); a51 = TOps.MultiplyAdd(wb, x5, a51);
            }
        }
        sums[0] = a00; sums[1] = a01;
        if (n > 1)
        {
            sums[2] = a10; sums[3] = a11;
        }
        if (n > 2)
        {
            sums[4] = a20; sums[5] = a21; sums[6] = a30; sums[7] = a31;
        }
        if (n > 4)
        {
            sums[8] = a40; sums[9] = a41; sums[10] = a50; sums[11] = a51;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FinishElman<TAct>(TV pre0, TV pre1, bool pair, ref float h0, ref float h1)
        where TAct : struct, IActivationOperator
    {
        TOps.Store(StateActivation.Invoke<TAct, TOps, TV>(pre0), ref h0);
        if (pair)
        {
            TOps.Store(StateActivation.Invoke<TAct, TOps, TV>(pre1), ref h1);
        }
    }
}
