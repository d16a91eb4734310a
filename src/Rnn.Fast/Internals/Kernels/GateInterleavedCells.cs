using System.Runtime.CompilerServices;

namespace Rnn.Fast.Internals;

/// <summary>
/// The cell role on the gate-interleaved block layout, written once and specialised by the JIT for each width
/// through <typeparamref name="TOps"/>: for each block of V units, the G gate accumulators live in registers while
/// the columns of x and h are broadcast into them, then the activations and the state update run in the same
/// registers before one store. Shapes are validated by the public API before anything here runs; these loops use
/// unchecked refs.
/// </summary>
internal abstract partial class GateInterleavedCells<TOps, TV> : CellKernel where TOps : struct, ISimdOps<TV> where TV : struct
{
    public sealed override int Lanes => TOps.Lanes;

    // Column-broadcast accumulation of one block: w is [k, 4, V]. Two sets of four accumulators (even/odd
    // columns) keep eight FMA chains in flight, enough to cover FMA latency with two FMA ports; the caller
    // adds the sets once at the end of the block.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AccumulateFour(ref float w /* [k, 4, V] */, ref float x /* [k] */, int k,
        ref TV ai, ref TV af, ref TV ag, ref TV ao, ref TV bi, ref TV bf, ref TV bg, ref TV bo)
    {
        int v = TOps.Lanes;
        int j = 0;
        for (; j + 1 < k; j += 2)
        {
            TV x0 = TOps.Broadcast(Unsafe.Add(ref x, j));
            TV x1 = TOps.Broadcast(Unsafe.Add(ref x, j + 1));
            ref float w0 = ref Unsafe.Add(ref w, j * 4 * v);
            ai = TOps.MultiplyAdd(TOps.Load(in w0), x0, ai);
            af = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w0, v)), x0, af);
            ag = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w0, 2 * v)), x0, ag);
            ao = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w0, 3 * v)), x0, ao);
            bi = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w0, 4 * v)), x1, bi);
            bf = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w0, 5 * v)), x1, bf);
            bg = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w0, 6 * v)), x1, bg);
            bo = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w0, 7 * v)), x1, bo);
        }
        if (j < k)
        {
            TV x0 = TOps.Broadcast(Unsafe.Add(ref x, j));
            ref float w0 = ref Unsafe.Add(ref w, j * 4 * v);
            ai = TOps.MultiplyAdd(TOps.Load(in w0), x0, ai);
            af = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w0, v)), x0, af);
            ag = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w0, 2 * v)), x0, ag);
            ao = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w0, 3 * v)), x0, ao);
        }
    }

    // The same for three gates (GRU): w is [k, 3, V].
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AccumulateThree(ref float w /* [k, 3, V] */, ref float x /* [k] */, int k,
        ref TV a0, ref TV a1, ref TV a2, ref TV b0, ref TV b1, ref TV b2)
    {
        int v = TOps.Lanes;
        int j = 0;
        for (; j + 1 < k; j += 2)
        {
            TV x0 = TOps.Broadcast(Unsafe.Add(ref x, j));
            TV x1 = TOps.Broadcast(Unsafe.Add(ref x, j + 1));
            ref float w0 = ref Unsafe.Add(ref w, j * 3 * v);
            a0 = TOps.MultiplyAdd(TOps.Load(in w0), x0, a0);
            a1 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w0, v)), x0, a1);
            a2 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w0, 2 * v)), x0, a2);
            b0 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w0, 3 * v)), x1, b0);
            b1 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w0, 4 * v)), x1, b1);
            b2 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w0, 5 * v)), x1, b2);
        }
        if (j < k)
        {
            TV x0 = TOps.Broadcast(Unsafe.Add(ref x, j));
            ref float w0 = ref Unsafe.Add(ref w, j * 3 * v);
            a0 = TOps.MultiplyAdd(TOps.Load(in w0), x0, a0);
            a1 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w0, v)), x0, a1);
            a2 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w0, 2 * v)), x0, a2);
        }
    }

    // One gate per unit (Elman): eight accumulators over columns j..j+7 provide the independent FMA chains the
    // LSTM gets from its gates (two FMA pipes × four cycles of latency). w is [k, 1, V].
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void AccumulateOne(ref float w /* [k, V] */, ref float x /* [k] */, int k,
        ref TV a0, ref TV a1, ref TV a2, ref TV a3, ref TV a4, ref TV a5, ref TV a6, ref TV a7)
    {
        int v = TOps.Lanes;
        int j = 0;
        for (; j + 7 < k; j += 8)
        {
            ref float w0 = ref Unsafe.Add(ref w, j * v);
            ref float x0 = ref Unsafe.Add(ref x, j);
            a0 = TOps.MultiplyAdd(TOps.Load(in w0), TOps.Broadcast(x0), a0);
            a1 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w0, v)), TOps.Broadcast(Unsafe.Add(ref x0, 1)), a1);
            a2 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w0, 2 * v)), TOps.Broadcast(Unsafe.Add(ref x0, 2)), a2);
            a3 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w0, 3 * v)), TOps.Broadcast(Unsafe.Add(ref x0, 3)), a3);
            a4 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w0, 4 * v)), TOps.Broadcast(Unsafe.Add(ref x0, 4)), a4);
            a5 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w0, 5 * v)), TOps.Broadcast(Unsafe.Add(ref x0, 5)), a5);
            a6 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w0, 6 * v)), TOps.Broadcast(Unsafe.Add(ref x0, 6)), a6);
            a7 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w0, 7 * v)), TOps.Broadcast(Unsafe.Add(ref x0, 7)), a7);
        }
        for (; j < k; j++)
        {
            a0 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w, j * v)), TOps.Broadcast(Unsafe.Add(ref x, j)), a0);
        }
    }
}
