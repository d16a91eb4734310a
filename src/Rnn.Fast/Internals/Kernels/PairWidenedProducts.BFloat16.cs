using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Rnn.Fast.Internals;

internal abstract partial class PairWidenedProducts<TOps, TPairs, TF, TI>
{
    // ---- bf16 ----

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BFloat16Rows(ref float x, int rows, ReducedMatrix w, ref float bias, ref float y, int panel, TileShape shape)
    {
        int v = TOps.Lanes;
        int columns = w.Blocks * w.Gates;
        int tileColumns = WideRegisterFile ? 4 : 2;
        ref uint slots = ref Unsafe.As<ushort, uint>(ref MemoryMarshal.GetArrayDataReference(w.Half));
        int fullPairs = w.Columns / 2;
        bool oddColumn = (w.Columns & 1) != 0;
        var sums = new TileAccumulators<TF>();
        var offsets = new ColumnRefs();
        for (int r0 = 0; r0 < rows; r0 += panel)
        {
            int end = Math.Min(rows, r0 + panel);
            for (int q = 0; q < columns; q += tileColumns)
            {
                shape.Columns = Math.Min(tileColumns, columns - q);
                ColumnOffsets(w, q, shape.Columns, ref offsets);
                ref uint w0 = ref Unsafe.Add(ref slots, offsets[0]), w1 = ref Unsafe.Add(ref slots, offsets[1]);
                ref uint w2 = ref Unsafe.Add(ref slots, offsets[2]), w3 = ref Unsafe.Add(ref slots, offsets[3]);
                ref float b = ref Unsafe.Add(ref bias, shape.HasBias ? q * v : 0);
                int r = r0;
                for (; r + 3 < end; r += 4)
                {
                    BFloat16TileFor<FourStreams>(shape.Columns, ref Unsafe.Add(ref x, r * shape.XStride), shape.XStride, fullPairs, oddColumn,
                        ref w0, ref w1, ref w2, ref w3, shape.Stride, ref sums);
                    StoreSums(in shape, 4, ref sums, ref b, ref Unsafe.Add(ref y, r * shape.Width + q * v));
                }
                if (end - r >= 2)
                {
                    BFloat16TileFor<TwoStreams>(shape.Columns, ref Unsafe.Add(ref x, r * shape.XStride), shape.XStride, fullPairs, oddColumn,
                        ref w0, ref w1, ref w2, ref w3, shape.Stride, ref sums);
                    StoreSums(in shape, 2, ref sums, ref b, ref Unsafe.Add(ref y, r * shape.Width + q * v));
                    r += 2;
                }
            }
            // A single row left (a batch-1 step, a chunk's odd last row): latency matters more than reuse, so eight
            // register columns share each broadcast, eight FMA chains in flight (two FMA pipes × four cycles).
            if ((end - r0) % 2 == 1)
            {
                int r = end - 1;
                // Whole blocks per tile (8 columns = 2 LSTM blocks; 6 = 2 GRU blocks), so each tile streams every line of
                // its blocks in order: a tile that splits a block reads a third of its lines per pass, and the lines the
                // prefetcher brings for the other columns are evicted before the next pass uses them.
                int loneColumns = w.Gates == 3 ? 6 : 8;
                for (int q = 0; q < columns; q += loneColumns)
                {
                    shape.Columns = Math.Min(loneColumns, columns - q);
                    ColumnOffsets(w, q, shape.Columns, ref offsets);
                    ref float xr = ref Unsafe.Add(ref x, r * shape.XStride);
                    switch (shape.Columns)
                    {
                        case 1:
                            BFloat16Row<OneStream>(ref xr, fullPairs, oddColumn, ref slots, in offsets, shape.Stride, ref sums);
                            break;
                        case 2:
                            BFloat16Row<TwoStreams>(ref xr, fullPairs, oddColumn, ref slots, in offsets, shape.Stride, ref sums);
                            break;
                        case 3 or 4:
                            BFloat16Row<FourStreams>(ref xr, fullPairs, oddColumn, ref slots, in offsets, shape.Stride, ref sums);
                            break;
                        case 5 or 6:
                            BFloat16Row<SixColumns>(ref xr, fullPairs, oddColumn, ref slots, in offsets, shape.Stride, ref sums);
                            break;
                        default:
                            BFloat16Row<EightColumns>(ref xr, fullPairs, oddColumn, ref slots, in offsets, shape.Stride, ref sums);
                            break;
                    }
                    StoreSums(in shape, 1, ref sums, ref Unsafe.Add(ref bias, shape.HasBias ? q * v : 0), ref Unsafe.Add(ref y, r * shape.Width + q * v));
                }
            }
        }
    }

    // The tile with as many register columns as exist (1, 2, or the register file's 4 or 2): a matrix of one
    // register column (a head, a one-block Elman layer) would otherwise load and multiply an aliased column for nothing.
    private static void BFloat16TileFor<TR>(int columns, ref float x, int xStride, int fullPairs, bool oddColumn,
        ref uint w0, ref uint w1, ref uint w2, ref uint w3, int stride, ref TileAccumulators<TF> sums)
        where TR : struct, IStreamTile
    {
        if (columns == 1)
        {
            BFloat16Tile<TR, OneStream>(ref x, xStride, fullPairs, oddColumn, ref w0, ref w1, ref w2, ref w3, stride, ref sums);
        }
        else if (columns == 2)
        {
            BFloat16Tile<TR, TwoStreams>(ref x, xStride, fullPairs, oddColumn, ref w0, ref w1, ref w2, ref w3, stride, ref sums);
        }
        else
        {
            BFloat16Tile<TR, FourStreams>(ref x, xStride, fullPairs, oddColumn, ref w0, ref w1, ref w2, ref w3, stride, ref sums);
        }
    }

    // sums[i] = Σ_j w_i[j] · x[j] for C ≤ 8 register columns of one row, one chain per column in column order.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void BFloat16Row<TC>(ref float x, int fullPairs, bool oddColumn, ref uint slots, in ColumnRefs columns, int stride,
        ref TileAccumulators<TF> sums)
        where TC : struct, IStreamTile
    {
        int c = TC.Streams;
        ref uint w0 = ref Unsafe.Add(ref slots, columns[0]), w1 = ref Unsafe.Add(ref slots, columns[1]);
        ref uint w2 = ref Unsafe.Add(ref slots, columns[2]), w3 = ref Unsafe.Add(ref slots, columns[3]);
        ref uint w4 = ref Unsafe.Add(ref slots, columns[4]), w5 = ref Unsafe.Add(ref slots, columns[5]);
        ref uint w6 = ref Unsafe.Add(ref slots, columns[6]), w7 = ref Unsafe.Add(ref slots, columns[7]);
        TF s0 = TOps.Zero, s1 = TOps.Zero, s2 = TOps.Zero, s3 = TOps.Zero, s4 = TOps.Zero, s5 = TOps.Zero, s6 = TOps.Zero, s7 = TOps.Zero;
        int p = 0;
        for (; p < fullPairs; p++)
        {
            int at = p * stride;
            TF a = TOps.Broadcast(Unsafe.Add(ref x, 2 * p)), b = TOps.Broadcast(Unsafe.Add(ref x, 2 * p + 1));
            s0 = Pair(in Unsafe.Add(ref w0, at), a, b, s0);
            if (c > 1)
            {
                s1 = Pair(in Unsafe.Add(ref w1, at), a, b, s1);
            }
            if (c > 2)
            {
                s2 = Pair(in Unsafe.Add(ref w2, at), a, b, s2);
                s3 = Pair(in Unsafe.Add(ref w3, at), a, b, s3);
            }
            if (c > 4)
            {
                s4 = Pair(in Unsafe.Add(ref w4, at), a, b, s4);
                s5 = Pair(in Unsafe.Add(ref w5, at), a, b, s5);
            }
            if (c > 6)
            {
                s6 = Pair(in Unsafe.Add(ref w6, at), a, b, s6);
                s7 = Pair(in Unsafe.Add(ref w7, at), a, b, s7);
            }
        }
        if (oddColumn)
        {
            // The last pair of an odd K: column 2p only (x[2p+1] is past the row).
            int at = p * stride;
            TF a = TOps.Broadcast(Unsafe.Add(ref x, 2 * p));
            s0 = Low(in Unsafe.Add(ref w0, at), a, s0);
            if (c > 1)
            {
                s1 = Low(in Unsafe.Add(ref w1, at), a, s1);
            }
            if (c > 2)
            {
                s2 = Low(in Unsafe.Add(ref w2, at), a, s2);
                s3 = Low(in Unsafe.Add(ref w3, at), a, s3);
            }
            if (c > 4)
            {
                s4 = Low(in Unsafe.Add(ref w4, at), a, s4);
                s5 = Low(in Unsafe.Add(ref w5, at), a, s5);
            }
            if (c > 6)
            {
                s6 = Low(in Unsafe.Add(ref w6, at), a, s6);
                s7 = Low(in Unsafe.Add(ref w7, at), a, s7);
            }
        }
        sums[0] = s0; sums[1] = s1; sums[2] = s2; sums[3] = s3; sums[4] = s4; sums[5] = s5; sums[6] = s6; sums[7] = s7;
    }

    // sum + low · a + high · b for one register of pair slots: columns 2p then 2p+1, as the definition orders them.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TF Pair(ref readonly uint slots, TF a, TF b, TF sum)
    {
        TPairs.Widen(in slots, out TF low, out TF high);
        return TOps.MultiplyAdd(high, b, TOps.MultiplyAdd(low, a, sum));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TF Low(ref readonly uint slots, TF a, TF sum)
    {
        TPairs.Widen(in slots, out TF low, out _);
        return TOps.MultiplyAdd(low, a, sum);
    }

    // y[r][i] = start + sums[4r + i] for the tile's rows and existing columns.
    private static void StoreSums(in TileShape t, int tileRows, ref TileAccumulators<TF> sums, ref float bias, ref float o)
    {
        int v = TOps.Lanes;
        for (int r = 0; r < tileRows; r++)
        {
            for (int i = 0; i < t.Columns; i++)
            {
                ref float oi = ref Unsafe.Add(ref o, r * t.Width + i * v);
                TOps.Store(TOps.Add(Start(in t, ref oi, ref Unsafe.Add(ref bias, i * v)), sums[r * 4 + i]), ref oi);
            }
        }
    }

    // sums[4r + i] = Σ_j w_i[j] · x[r][j], one FMA chain per (row, column) from 0 in column order (the scalar
    // definition's order). Per pair: C loads widened to 2C registers, 2R broadcasts, 2·R·C FMAs in R·C independent
    // chains (16 for a 4 × 4 tile: more than the 2 pipes × 4 cycles of FMA latency need; a lone row has C). Out of
    // line with the sums read back from memory, so the accumulators stay in registers (see TileAccumulators).
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void BFloat16Tile<TR, TC>(ref float x, int xStride, int fullPairs, bool oddColumn,
        ref uint w0, ref uint w1, ref uint w2, ref uint w3, int stride, ref TileAccumulators<TF> sums)
        where TR : struct, IStreamTile
        where TC : struct, IStreamTile
    {
        int n = TR.Streams, c = TC.Streams;
        ref float x1 = ref Unsafe.Add(ref x, Math.Min(1, n - 1) * xStride);
        ref float x2 = ref Unsafe.Add(ref x, Math.Min(2, n - 1) * xStride);
        ref float x3 = ref Unsafe.Add(ref x, Math.Min(3, n - 1) * xStride);
        TF s00 = TOps.Zero, s01 = TOps.Zero, s02 = TOps.Zero, s03 = TOps.Zero;
        TF s10 = TOps.Zero, s11 = TOps.Zero, s12 = TOps.Zero, s13 = TOps.Zero;
        TF s20 = TOps.Zero, s21 = TOps.Zero, s22 = TOps.Zero, s23 = TOps.Zero;
        TF s30 = TOps.Zero, s31 = TOps.Zero, s32 = TOps.Zero, s33 = TOps.Zero;
        int pairs = fullPairs + (oddColumn ? 1 : 0);
        for (int p = 0; p < pairs; p++)
        {
            int at = p * stride;
            // An odd K's last pair has no column 2p+1: its weight is a zero pad, but x[2p+1] is past the row (and
            // may be anything, NaN included), so that half is skipped rather than multiplied by zero.
            bool both = p < fullPairs;
            TPairs.Widen(in Unsafe.Add(ref w0, at), out TF l0, out TF h0);
            TF l1 = l0, h1 = h0;
            if (c > 1)
            {
                TPairs.Widen(in Unsafe.Add(ref w1, at), out l1, out h1);
            }
            TF l2 = l0, h2 = h0, l3 = l1, h3 = h1;
            if (c > 2)
            {
                TPairs.Widen(in Unsafe.Add(ref w2, at), out l2, out h2);
                TPairs.Widen(in Unsafe.Add(ref w3, at), out l3, out h3);
            }
            int j = 2 * p;
            TF a = TOps.Broadcast(Unsafe.Add(ref x, j));
            s00 = TOps.MultiplyAdd(l0, a, s00);
            if (c > 1)
            {
                s01 = TOps.MultiplyAdd(l1, a, s01);
            }
            if (c > 2)
            {
                s02 = TOps.MultiplyAdd(l2, a, s02); s03 = TOps.MultiplyAdd(l3, a, s03);
            }
            if (n > 1)
            {
                TF e = TOps.Broadcast(Unsafe.Add(ref x1, j));
                s10 = TOps.MultiplyAdd(l0, e, s10);
                if (c > 1)
                {
                    s11 = TOps.MultiplyAdd(l1, e, s11);
                }
                if (c > 2)
                {
                    s12 = TOps.MultiplyAdd(l2, e, s12); s13 = TOps.MultiplyAdd(l3, e, s13);
                }
            }
            if (n > 2)
            {
                TF e = TOps.Broadcast(Unsafe.Add(ref x2, j));
                s20 = TOps.MultiplyAdd(l0, e, s20);
                if (c > 1)
                {
                    s21 = TOps.MultiplyAdd(l1, e, s21);
                }
                TF f = TOps.Broadcast(Unsafe.Add(ref x3, j));
                s30 = TOps.MultiplyAdd(l0, f, s30);
                if (c > 1)
                {
                    s31 = TOps.MultiplyAdd(l1, f, s31);
                }
                if (c > 2)
                {
                    s22 = TOps.MultiplyAdd(l2, e, s22); s23 = TOps.MultiplyAdd(l3, e, s23);
                    s32 = TOps.MultiplyAdd(l2, f, s32); s33 = TOps.MultiplyAdd(l3, f, s33);
                }
            }
            if (!both)
            {
                break;
            }
            j++;
            TF d = TOps.Broadcast(Unsafe.Add(ref x, j));
            s00 = TOps.MultiplyAdd(h0, d, s00);
            if (c > 1)
            {
                s01 = TOps.MultiplyAdd(h1, d, s01);
            }
            if (c > 2)
            {
                s02 = TOps.MultiplyAdd(h2, d, s02); s03 = TOps.MultiplyAdd(h3, d, s03);
            }
            if (n > 1)
            {
                TF e = TOps.Broadcast(Unsafe.Add(ref x1, j));
                s10 = TOps.MultiplyAdd(h0, e, s10);
                if (c > 1)
                {
                    s11 = TOps.MultiplyAdd(h1, e, s11);
                }
                if (c > 2)
                {
                    s12 = TOps.MultiplyAdd(h2, e, s12); s13 = TOps.MultiplyAdd(h3, e, s13);
                }
            }
            if (n > 2)
            {
                TF e = TOps.Broadcast(Unsafe.Add(ref x2, j));
                s20 = TOps.MultiplyAdd(h0, e, s20);
                if (c > 1)
                {
                    s21 = TOps.MultiplyAdd(h1, e, s21);
                }
                TF f = TOps.Broadcast(Unsafe.Add(ref x3, j));
                s30 = TOps.MultiplyAdd(h0, f, s30);
                if (c > 1)
                {
                    s31 = TOps.MultiplyAdd(h1, f, s31);
                }
                if (c > 2)
                {
                    s22 = TOps.MultiplyAdd(h2, e, s22); s23 = TOps.MultiplyAdd(h3, e, s23);
                    s32 = TOps.MultiplyAdd(h2, f, s32); s33 = TOps.MultiplyAdd(h3, f, s33);
                }
            }
        }
        sums[0] = s00; sums[1] = s01; sums[2] = s02; sums[3] = s03;
        sums[4] = s10; sums[5] = s11; sums[6] = s12; sums[7] = s13;
        sums[8] = s20; sums[9] = s21; sums[10] = s22; sums[11] = s23;
        sums[12] = s30; sums[13] = s31; sums[14] = s32; sums[15] = s33;
    }
}
