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
        int v = TOps.Lanes;
        int n = TS.Streams;
        TV a00 = TOps.Load(in Unsafe.Add(ref pre, at0)), a01 = TOps.Load(in Unsafe.Add(ref pre, at1));
        TV a10 = default, a11 = default, a20 = default, a21 = default, a30 = default, a31 = default;
        TV a40 = default, a41 = default, a50 = default, a51 = default;
        if (n > 1)
        {
            a10 = TOps.Load(in Unsafe.Add(ref pre, hp + at0)); a11 = TOps.Load(in Unsafe.Add(ref pre, hp + at1));
        }
        if (n > 2)
        {
            a20 = TOps.Load(in Unsafe.Add(ref pre, 2 * hp + at0)); a21 = TOps.Load(in Unsafe.Add(ref pre, 2 * hp + at1));
            a30 = TOps.Load(in Unsafe.Add(ref pre, 3 * hp + at0)); a31 = TOps.Load(in Unsafe.Add(ref pre, 3 * hp + at1));
        }
        if (n > 4)
        {
            a40 = TOps.Load(in Unsafe.Add(ref pre, 4 * hp + at0)); a41 = TOps.Load(in Unsafe.Add(ref pre, 4 * hp + at1));
            a50 = TOps.Load(in Unsafe.Add(ref pre, 5 * hp + at0)); a51 = TOps.Load(in Unsafe.Add(ref pre, 5 * hp + at1));
        }
        for (int j = 0; j < k; j++)
        {
            TV wa = TOps.Load(in Unsafe.Add(ref w0, j * v)), wb = TOps.Load(in Unsafe.Add(ref w1, j * v));
            Fma2(wa, wb, Unsafe.Add(ref h, j), ref a00, ref a01);
            if (n > 1)
            {
                Fma2(wa, wb, Unsafe.Add(ref h, hp + j), ref a10, ref a11);
            }
            if (n > 2)
            {
                Fma2(wa, wb, Unsafe.Add(ref h, 2 * hp + j), ref a20, ref a21);
                Fma2(wa, wb, Unsafe.Add(ref h, 3 * hp + j), ref a30, ref a31);
            }
            if (n > 4)
            {
                Fma2(wa, wb, Unsafe.Add(ref h, 4 * hp + j), ref a40, ref a41);
                Fma2(wa, wb, Unsafe.Add(ref h, 5 * hp + j), ref a50, ref a51);
            }
        }
        FinishElman<TAct>(a00, a01, pair, ref Unsafe.Add(ref hNext, at0), ref Unsafe.Add(ref hNext, at1));
        if (n > 1)
        {
            FinishElman<TAct>(a10, a11, pair, ref Unsafe.Add(ref hNext, hp + at0), ref Unsafe.Add(ref hNext, hp + at1));
        }
        if (n > 2)
        {
            FinishElman<TAct>(a20, a21, pair, ref Unsafe.Add(ref hNext, 2 * hp + at0), ref Unsafe.Add(ref hNext, 2 * hp + at1));
            FinishElman<TAct>(a30, a31, pair, ref Unsafe.Add(ref hNext, 3 * hp + at0), ref Unsafe.Add(ref hNext, 3 * hp + at1));
        }
        if (n > 4)
        {
            FinishElman<TAct>(a40, a41, pair, ref Unsafe.Add(ref hNext, 4 * hp + at0), ref Unsafe.Add(ref hNext, 4 * hp + at1));
            FinishElman<TAct>(a50, a51, pair, ref Unsafe.Add(ref hNext, 5 * hp + at0), ref Unsafe.Add(ref hNext, 5 * hp + at1));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FinishElman<TAct>(TV pre0, TV pre1, bool pair, ref float h0, ref float h1)
        where TAct : struct, IActivationOperator
    {
        TOps.Store(TAct.Invoke<TOps, TV>(pre0), ref h0);
        if (pair)
        {
            TOps.Store(TAct.Invoke<TOps, TV>(pre1), ref h1);
        }
    }
}
