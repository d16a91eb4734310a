using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Rnn.Fast.Internals;

/// <summary>
/// The product role with register tiles of 4 rows × 2 register columns: each weight vector loaded feeds four
/// rows' fused multiply-adds, so weights stream from cache once per four rows. Written once per width through
/// <typeparamref name="TOps"/>.
/// </summary>
internal abstract partial class BlockedProducts<TOps, TV> : ProductKernel where TOps : struct, ISimdOps<TV> where TV : struct
{
    public sealed override void MultiplyRows(ReadOnlySpan<float> x, int rows, int xStride, PackedMatrix w, ReadOnlySpan<float> bias, Span<float> y) =>
        Multiply(x, rows, xStride, w, bias, y, accumulate: false);

    public sealed override void MultiplyRowsAccumulate(ReadOnlySpan<float> x, int rows, int xStride, PackedMatrix w, Span<float> y) =>
        Multiply(x, rows, xStride, w, default, y, accumulate: true);

    // Register column q = (block, gate) reads w[block][j][gate] for j = 0..K-1; its accumulators start from the
    // bias (a projection) or from y itself (accumulate).
    private static void Multiply(ReadOnlySpan<float> x, int rows, int xStride, PackedMatrix w, ReadOnlySpan<float> bias, Span<float> y, bool accumulate)
    {
        int v = TOps.Lanes;
        int columns = w.Blocks * w.Gates;     // register columns
        int width = columns * v;              // floats per output row
        int k = w.Columns;
        int columnStride = w.Gates * v;       // floats between column j and j+1 of one register column
        ref float xRef = ref MemoryMarshal.GetReference(x);
        ref float pRef = ref MemoryMarshal.GetArrayDataReference(w.Values);
        ref float bRef = ref MemoryMarshal.GetReference(bias);
        ref float oRef = ref MemoryMarshal.GetReference(y);

        for (int q = 0; q < columns; q += 2)
        {
            // An odd last register column pairs with itself: same loads, its second store is skipped.
            bool pair = q + 1 < columns;
            int q1 = pair ? q + 1 : q;
            ref float w0 = ref Unsafe.Add(ref pRef, (q / w.Gates) * w.BlockStride + (q % w.Gates) * v);
            ref float w1 = ref Unsafe.Add(ref pRef, (q1 / w.Gates) * w.BlockStride + (q1 % w.Gates) * v);
            TV bias0 = accumulate ? TOps.Zero : TOps.Load(in Unsafe.Add(ref bRef, q * v));
            TV bias1 = accumulate ? TOps.Zero : TOps.Load(in Unsafe.Add(ref bRef, q1 * v));

            int r = 0;
            for (; r + 3 < rows; r += 4)
            {
                ref float x0 = ref Unsafe.Add(ref xRef, r * xStride);
                ref float x1 = ref Unsafe.Add(ref x0, xStride);
                ref float x2 = ref Unsafe.Add(ref x1, xStride);
                ref float x3 = ref Unsafe.Add(ref x2, xStride);
                ref float o0 = ref Unsafe.Add(ref oRef, r * width + q * v);
                ref float o1 = ref Unsafe.Add(ref oRef, r * width + q1 * v);
                TV s00 = accumulate ? TOps.Load(in o0) : bias0, s01 = accumulate ? TOps.Load(in o1) : bias1;
                TV s10 = accumulate ? TOps.Load(in Unsafe.Add(ref o0, width)) : bias0, s11 = accumulate ? TOps.Load(in Unsafe.Add(ref o1, width)) : bias1;
                TV s20 = accumulate ? TOps.Load(in Unsafe.Add(ref o0, 2 * width)) : bias0, s21 = accumulate ? TOps.Load(in Unsafe.Add(ref o1, 2 * width)) : bias1;
                TV s30 = accumulate ? TOps.Load(in Unsafe.Add(ref o0, 3 * width)) : bias0, s31 = accumulate ? TOps.Load(in Unsafe.Add(ref o1, 3 * width)) : bias1;
                for (int j = 0; j < k; j++)
                {
                    TV wa = TOps.Load(in Unsafe.Add(ref w0, j * columnStride));
                    TV wb = TOps.Load(in Unsafe.Add(ref w1, j * columnStride));
                    TV b0 = TOps.Broadcast(Unsafe.Add(ref x0, j));
                    TV b1 = TOps.Broadcast(Unsafe.Add(ref x1, j));
                    TV b2 = TOps.Broadcast(Unsafe.Add(ref x2, j));
                    TV b3 = TOps.Broadcast(Unsafe.Add(ref x3, j));
                    s00 = TOps.MultiplyAdd(wa, b0, s00); s01 = TOps.MultiplyAdd(wb, b0, s01);
                    s10 = TOps.MultiplyAdd(wa, b1, s10); s11 = TOps.MultiplyAdd(wb, b1, s11);
                    s20 = TOps.MultiplyAdd(wa, b2, s20); s21 = TOps.MultiplyAdd(wb, b2, s21);
                    s30 = TOps.MultiplyAdd(wa, b3, s30); s31 = TOps.MultiplyAdd(wb, b3, s31);
                }
                TOps.Store(s00, ref o0);
                TOps.Store(s10, ref Unsafe.Add(ref o0, width));
                TOps.Store(s20, ref Unsafe.Add(ref o0, 2 * width));
                TOps.Store(s30, ref Unsafe.Add(ref o0, 3 * width));
                if (pair)
                {
                    TOps.Store(s01, ref o1);
                    TOps.Store(s11, ref Unsafe.Add(ref o1, width));
                    TOps.Store(s21, ref Unsafe.Add(ref o1, 2 * width));
                    TOps.Store(s31, ref Unsafe.Add(ref o1, 3 * width));
                }
            }
            // Fewer than four rows left (a streaming step, or a backward step of one stream): latency matters more
            // than reuse, so each register column gets four independent FMA chains over the columns of x.
            for (; r < rows; r++)
            {
                ref float xr = ref Unsafe.Add(ref xRef, r * xStride);
                ref float o0 = ref Unsafe.Add(ref oRef, r * width + q * v);
                TOps.Store(Column(ref w0, columnStride, ref xr, k, accumulate ? TOps.Load(in o0) : bias0), ref o0);
                if (pair)
                {
                    ref float o1 = ref Unsafe.Add(ref oRef, r * width + q1 * v);
                    TOps.Store(Column(ref w1, columnStride, ref xr, k, accumulate ? TOps.Load(in o1) : bias1), ref o1);
                }
            }
        }
    }

    // start + Σ_j w[j]·x[j] for one register column whose column j is `stride` floats after column j−1.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV Column(ref float w, int stride, ref float x, int k, TV start)
    {
        TV a0 = start, a1 = TOps.Zero, a2 = TOps.Zero, a3 = TOps.Zero;
        int j = 0;
        for (; j + 3 < k; j += 4)
        {
            ref float wj = ref Unsafe.Add(ref w, j * stride);
            a0 = TOps.MultiplyAdd(TOps.Load(in wj), TOps.Broadcast(Unsafe.Add(ref x, j)), a0);
            a1 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref wj, stride)), TOps.Broadcast(Unsafe.Add(ref x, j + 1)), a1);
            a2 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref wj, 2 * stride)), TOps.Broadcast(Unsafe.Add(ref x, j + 2)), a2);
            a3 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref wj, 3 * stride)), TOps.Broadcast(Unsafe.Add(ref x, j + 3)), a3);
        }
        for (; j < k; j++)
        {
            a0 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w, j * stride)), TOps.Broadcast(Unsafe.Add(ref x, j)), a0);
        }
        return TOps.Add(TOps.Add(a0, a1), TOps.Add(a2, a3));
    }

    public sealed override void Dense(ReadOnlySpan<float> h, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Span<float> y)
    {
        int v = TOps.Lanes;
        int width = h.Length;                 // Hp: a multiple of V, state rows are padded
        ref float wRef = ref MemoryMarshal.GetReference(weight);
        ref float hRef = ref MemoryMarshal.GetReference(h);
        for (int o = 0; o < y.Length; o++)
        {
            // Two accumulators, then a fixed-order lane sum: deterministic for a given kernel.
            ref float row = ref Unsafe.Add(ref wRef, o * width);
            TV s0 = TOps.Zero, s1 = TOps.Zero;
            int j = 0;
            for (; j + 2 * v <= width; j += 2 * v)
            {
                s0 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref row, j)), TOps.Load(in Unsafe.Add(ref hRef, j)), s0);
                s1 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref row, j + v)), TOps.Load(in Unsafe.Add(ref hRef, j + v)), s1);
            }
            if (j < width)
            {
                s0 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref row, j)), TOps.Load(in Unsafe.Add(ref hRef, j)), s0);
            }
            y[o] = TOps.Sum(TOps.Add(s0, s1)) + bias[o];
        }
    }
}
