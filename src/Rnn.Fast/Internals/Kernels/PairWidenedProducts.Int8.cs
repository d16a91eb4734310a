using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Rnn.Fast.Internals;

internal abstract partial class PairWidenedProducts<TOps, TPairs, TF, TI>
{
    // ---- int8 ----

    // A panel's rows are quantized to int16 first (QuantizeActivations, vectorized: one scale per row, kept in a fixed stack
    // buffer, q in the caller's scratch), then every column tile sweeps them. Per run of PairsPerRun pairs the int32
    // sums are exact; the tile converts them to float32 and adds them in run order; the epilogue scales.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Int8Rows(ReadOnlySpan<float> x, int rows, ReducedMatrix w, ref float bias, ref float y, Span<short> scratch,
        int panel, TileShape shape)
    {
        int v = TOps.Lanes;
        int columns = w.Blocks * w.Gates;
        int tileColumns = WideRegisterFile ? 4 : 2;
        int qStride = 2 * w.Pairs;
        ref sbyte slots = ref MemoryMarshal.GetArrayDataReference(w.Bytes);
        ref float scales = ref MemoryMarshal.GetArrayDataReference(w.Scales);
        ref short qRef = ref MemoryMarshal.GetReference(scratch);
        Span<float> activationScales = stackalloc float[MaxPanelRows];
        var sums = new TileAccumulators<TF>();
        var offsets = new ColumnRefs();
        var tile = new Int8Shape { Pairs = w.Pairs, QStride = qStride, Stride = 2 * shape.Stride };
        for (int r0 = 0; r0 < rows; r0 += panel)
        {
            int end = Math.Min(rows, r0 + panel);
            for (int r = r0; r < end; r++)
            {
                activationScales[r - r0] = ActivationQuantizer.Quantize(x.Slice(r * shape.XStride, w.Columns), scratch.Slice((r - r0) * qStride, qStride));
            }
            for (int q = 0; q < columns; q += tileColumns)
            {
                shape.Columns = Math.Min(tileColumns, columns - q);
                ColumnOffsets(w, q, shape.Columns, ref offsets);
                ref sbyte w0 = ref Unsafe.Add(ref slots, 2 * offsets[0]), w1 = ref Unsafe.Add(ref slots, 2 * offsets[1]);
                ref sbyte w2 = ref Unsafe.Add(ref slots, 2 * offsets[2]), w3 = ref Unsafe.Add(ref slots, 2 * offsets[3]);
                ref float b = ref Unsafe.Add(ref bias, shape.HasBias ? q * v : 0);
                ref float s = ref Unsafe.Add(ref scales, q * v);
                int r = r0;
                for (; r + 3 < end; r += 4)
                {
                    Int8TileFor<FourStreams>(shape.Columns, in tile, ref Unsafe.Add(ref qRef, (r - r0) * qStride), ref w0, ref w1, ref w2, ref w3, ref sums);
                    ScaleSums(in shape, 4, ref sums, activationScales[(r - r0)..], ref s, ref b, ref Unsafe.Add(ref y, r * shape.Width + q * v));
                }
                if (end - r >= 2)
                {
                    Int8TileFor<TwoStreams>(shape.Columns, in tile, ref Unsafe.Add(ref qRef, (r - r0) * qStride), ref w0, ref w1, ref w2, ref w3, ref sums);
                    ScaleSums(in shape, 2, ref sums, activationScales[(r - r0)..], ref s, ref b, ref Unsafe.Add(ref y, r * shape.Width + q * v));
                    r += 2;
                }
            }
            // A single row left (a batch-1 step, a chunk's odd last row): four register columns per broadcast on
            // any register file (4 accumulators, 4 widened weights: 9 registers), so the loop runs a quarter as often.
            if ((end - r0) % 2 == 1)
            {
                int r = end - 1;
                for (int q = 0; q < columns; q += 4)
                {
                    shape.Columns = Math.Min(4, columns - q);
                    ColumnOffsets(w, q, shape.Columns, ref offsets);
                    Int8TileFor<OneStream>(shape.Columns, in tile, ref Unsafe.Add(ref qRef, (r - r0) * qStride),
                        ref Unsafe.Add(ref slots, 2 * offsets[0]), ref Unsafe.Add(ref slots, 2 * offsets[1]),
                        ref Unsafe.Add(ref slots, 2 * offsets[2]), ref Unsafe.Add(ref slots, 2 * offsets[3]), ref sums);
                    ScaleSums(in shape, 1, ref sums, activationScales[(r - r0)..], ref Unsafe.Add(ref scales, q * v),
                        ref Unsafe.Add(ref bias, shape.HasBias ? q * v : 0), ref Unsafe.Add(ref y, r * shape.Width + q * v));
                }
            }
        }
    }

    // The tile with as many register columns as exist (1, 2, else 4 or the register file's 2), as for bf16.
    private static void Int8TileFor<TR>(int columns, in Int8Shape t, ref short q, ref sbyte w0, ref sbyte w1, ref sbyte w2, ref sbyte w3,
        ref TileAccumulators<TF> sums)
        where TR : struct, IStreamTile
    {
        if (columns == 1)
        {
            Int8Tile<TR, OneStream>(in t, ref q, ref w0, ref w1, ref w2, ref w3, ref sums);
        }
        else if (columns == 2)
        {
            Int8Tile<TR, TwoStreams>(in t, ref q, ref w0, ref w1, ref w2, ref w3, ref sums);
        }
        else
        {
            Int8Tile<TR, FourStreams>(in t, ref q, ref w0, ref w1, ref w2, ref w3, ref sums);
        }
    }

    private struct Int8Shape
    {
        public int Pairs, QStride, Stride;   // column pairs, int16 per q row, bytes between pair p and p+1 of a column
    }

    // y[r][i] = fma(sums[4r + i] ⊙ s_w, s_x[r], start): the scalar definition's Scale, lane-wise (s_x NaN → NaN); not
    // sums ⊙ (s_w ⊙ s_x), whose scale product can overflow where the product is finite.
    private static void ScaleSums(in TileShape t, int tileRows, ref TileAccumulators<TF> sums, ReadOnlySpan<float> activationScales,
        ref float weightScales, ref float bias, ref float o)
    {
        int v = TOps.Lanes;
        for (int r = 0; r < tileRows; r++)
        {
            TF sx = TOps.Broadcast(activationScales[r]);
            for (int i = 0; i < t.Columns; i++)
            {
                ref float oi = ref Unsafe.Add(ref o, r * t.Width + i * v);
                TF weighted = TOps.Multiply(sums[r * 4 + i], TOps.Load(in Unsafe.Add(ref weightScales, i * v)));
                TOps.Store(TPairs.FusedMultiplyAdd(weighted, sx, Start(in t, ref oi, ref Unsafe.Add(ref bias, i * v))), ref oi);
            }
        }
    }

    // sums[4r + i] = Σ_runs float(Σ_{p in run} w_i[p] · q[r][p]) with the run sums exact in int32. Per pair: C
    // vpmovsxbw of 2V bytes each, R broadcasts of one int32 (q[2p], q[2p+1]), R·C vpmaddwd + vpaddd. Integer adds
    // have a one-cycle latency, so the R·C chains never wait on each other; the loads and the two vector pipes set
    // the pace.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Int8Tile<TR, TC>(in Int8Shape t, ref short q, ref sbyte w0, ref sbyte w1, ref sbyte w2, ref sbyte w3,
        ref TileAccumulators<TF> sums)
        where TR : struct, IStreamTile
        where TC : struct, IStreamTile
    {
        int n = TR.Streams, c = TC.Streams;
        int stride = t.Stride;
        ref short q1 = ref Unsafe.Add(ref q, Math.Min(1, n - 1) * t.QStride);
        ref short q2 = ref Unsafe.Add(ref q, Math.Min(2, n - 1) * t.QStride);
        ref short q3 = ref Unsafe.Add(ref q, Math.Min(3, n - 1) * t.QStride);
        for (int p0 = 0; p0 < t.Pairs; p0 += PairsPerRun)
        {
            TI s00 = TPairs.ZeroInt, s01 = TPairs.ZeroInt, s02 = TPairs.ZeroInt, s03 = TPairs.ZeroInt;
            TI s10 = TPairs.ZeroInt, s11 = TPairs.ZeroInt, s12 = TPairs.ZeroInt, s13 = TPairs.ZeroInt;
            TI s20 = TPairs.ZeroInt, s21 = TPairs.ZeroInt, s22 = TPairs.ZeroInt, s23 = TPairs.ZeroInt;
            TI s30 = TPairs.ZeroInt, s31 = TPairs.ZeroInt, s32 = TPairs.ZeroInt, s33 = TPairs.ZeroInt;
            int runEnd = Math.Min(t.Pairs, p0 + PairsPerRun);
            // nint offsets stepped by addition: no multiply or sign extension per pair in the loop.
            nint at = (nint)p0 * stride;
            for (int p = p0; p < runEnd; p++, at += stride)
            {
                TI wa = TPairs.WidenPairs(in Unsafe.Add(ref w0, at)), wb = c > 1 ? TPairs.WidenPairs(in Unsafe.Add(ref w1, at)) : wa;
                TI wc = c > 2 ? TPairs.WidenPairs(in Unsafe.Add(ref w2, at)) : wa, wd = c > 2 ? TPairs.WidenPairs(in Unsafe.Add(ref w3, at)) : wb;
                TI a = TPairs.BroadcastPair(in Unsafe.Add(ref q, 2 * p));
                s00 = TPairs.MultiplyAddAdjacent(wa, a, s00);
                if (c > 1)
                {
                    s01 = TPairs.MultiplyAddAdjacent(wb, a, s01);
                }
                if (c > 2)
                {
                    s02 = TPairs.MultiplyAddAdjacent(wc, a, s02); s03 = TPairs.MultiplyAddAdjacent(wd, a, s03);
                }
                if (n > 1)
                {
                    TI e = TPairs.BroadcastPair(in Unsafe.Add(ref q1, 2 * p));
                    s10 = TPairs.MultiplyAddAdjacent(wa, e, s10);
                    if (c > 1)
                    {
                        s11 = TPairs.MultiplyAddAdjacent(wb, e, s11);
                    }
                    if (c > 2)
                    {
                        s12 = TPairs.MultiplyAddAdjacent(wc, e, s12); s13 = TPairs.MultiplyAddAdjacent(wd, e, s13);
                    }
                }
                if (n > 2)
                {
                    TI e = TPairs.BroadcastPair(in Unsafe.Add(ref q2, 2 * p));
                    s20 = TPairs.MultiplyAddAdjacent(wa, e, s20);
                    if (c > 1)
                    {
                        s21 = TPairs.MultiplyAddAdjacent(wb, e, s21);
                    }
                    TI f = TPairs.BroadcastPair(in Unsafe.Add(ref q3, 2 * p));
                    s30 = TPairs.MultiplyAddAdjacent(wa, f, s30);
                    if (c > 1)
                    {
                        s31 = TPairs.MultiplyAddAdjacent(wb, f, s31);
                    }
                    if (c > 2)
                    {
                        s22 = TPairs.MultiplyAddAdjacent(wc, e, s22); s23 = TPairs.MultiplyAddAdjacent(wd, e, s23);
                        s32 = TPairs.MultiplyAddAdjacent(wc, f, s32); s33 = TPairs.MultiplyAddAdjacent(wd, f, s33);
                    }
                }
            }
            // float32 sums of the runs, in run order from the first (0 + run = run exactly).
            bool first = p0 == 0;
            Accumulate(ref sums, 0, s00, first); Accumulate(ref sums, 1, s01, first);
            Accumulate(ref sums, 2, s02, first); Accumulate(ref sums, 3, s03, first);
            if (n > 1)
            {
                Accumulate(ref sums, 4, s10, first); Accumulate(ref sums, 5, s11, first);
                Accumulate(ref sums, 6, s12, first); Accumulate(ref sums, 7, s13, first);
            }
            if (n > 2)
            {
                Accumulate(ref sums, 8, s20, first); Accumulate(ref sums, 9, s21, first);
                Accumulate(ref sums, 10, s22, first); Accumulate(ref sums, 11, s23, first);
                Accumulate(ref sums, 12, s30, first); Accumulate(ref sums, 13, s31, first);
                Accumulate(ref sums, 14, s32, first); Accumulate(ref sums, 15, s33, first);
            }
        }
        if (t.Pairs == 0)
        {
            for (int i = 0; i < 16; i++)
            {
                sums[i] = TOps.Zero;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Accumulate(ref TileAccumulators<TF> sums, int index, TI run, bool first)
    {
        TF value = TPairs.ConvertToSingle(run);
        sums[index] = first ? value : TOps.Add(sums[index], value);
    }
}
