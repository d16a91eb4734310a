using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Rnn.Fast.Internals;

/// <summary>
/// The product role with register tiles of 4 rows × 4 register columns (2 with 16 vector registers): each weight
/// vector loaded feeds four rows' fused multiply-adds and each broadcast of x four (two) columns' ones. Written once per width through
/// <typeparamref name="TOps"/>.
/// </summary>
internal abstract partial class BlockedProducts<TOps, TV> : ProductKernel where TOps : struct, ISimdOps<TV> where TV : struct
{
    public sealed override void MultiplyRows(ReadOnlySpan<float> x, int rows, int xStride, PackedMatrix w, ReadOnlySpan<float> bias, Span<float> y) =>
        Multiply(x, rows, xStride, w, bias, y, accumulate: false);

    public sealed override void MultiplyRowsAccumulate(ReadOnlySpan<float> x, int rows, int xStride, PackedMatrix w, Span<float> y) =>
        Multiply(x, rows, xStride, w, default, y, accumulate: true);

    // Vector registers the JIT can allocate: 32 with EVEX encodings (AVX-512 enabled) and on ARM64, else 16.
    private static bool WideRegisterFile =>
        System.Runtime.Intrinsics.X86.Avx512F.IsSupported || System.Runtime.Intrinsics.Arm.AdvSimd.Arm64.IsSupported;

    // Floats of x per row panel: a panel's rows (256 KiB) stay in L2 while every column tile sweeps them. Large enough
    // that a backward step's W_hhᵀ·d (K = 4H) keeps a batch of 16–32 streams in one panel, so W_hhᵀ, larger than L2
    // at H = 512, is read once per step rather than once per panel.
    private const int PanelFloats = 64 * 1024;

    // K in chunks once a tile's weights over all K (C register columns × K columns) pass ChunkThresholdBytes: equal
    // chunks of at most ChunkBytes, which stay in L1 while every row tile of the panel reuses them. Unchunked, the
    // tile's weights (128 KiB at K = 512 on AVX-512) came from L2 again for every four rows. Measured on Emerald
    // Rapids (best of three, GFLOP/s): K = 512 and 2048 gained 15-25 % from chunks of 96 columns, K = 128 and 256 lost
    // up to 25 % (one extra pass over y per chunk and a short last chunk), so those stay whole.
    private const int ChunkBytes = 24 * 1024;
    private const int ChunkThresholdBytes = 64 * 1024;

    // Register column q = (block, gate) reads w[block][j][gate] for j = 0..K-1; its accumulators start from the
    // bias (a projection) or from y itself (accumulate). Tiles of 4 rows × C register columns (C = 4 with 32
    // registers: 16 accumulators, 4 weight loads and 4 broadcasts per 16 FMAs; C = 2 with 16 registers); a last
    // pair of rows takes a 2-row tile and a last single row the latency-minded Column. Rows go in panels so x
    // comes from L2, not memory, for every column tile.
    private static void Multiply(ReadOnlySpan<float> x, int rows, int xStride, PackedMatrix w, ReadOnlySpan<float> bias, Span<float> y, bool accumulate)
    {
        int v = TOps.Lanes;
        int columns = w.Blocks * w.Gates;     // register columns
        int width = columns * v;              // floats per output row
        int k = w.Columns;
        int columnStride = w.Gates * v;       // floats between column j and j+1 of one register column
        int tileColumns = WideRegisterFile ? 4 : 2;
        int panel = Math.Max(4, PanelFloats / Math.Max(k, 1) & ~3);
        int chunk = ChunkColumns(k, tileColumns * v * sizeof(float));
        ref float xRef = ref MemoryMarshal.GetReference(x);
        ref float pRef = ref MemoryMarshal.GetArrayDataReference(w.Values);
        ref float bRef = ref MemoryMarshal.GetReference(bias);
        ref float oRef = ref MemoryMarshal.GetReference(y);
        var tile = new ProductTile { K = k, XStride = xStride, Width = width, ColumnStride = columnStride, Accumulate = accumulate };

        for (int r0 = 0; r0 < rows; r0 += panel)
        {
            int panelRows = Math.Min(panel, rows - r0);
            for (int q = 0; q < columns; q += tileColumns)
            {
                // Register columns past the last alias it: same loads, their stores are skipped.
                tile.Columns = Math.Min(tileColumns, columns - q);
                tile.W0 = ColumnOffset(w, q);
                tile.W1 = ColumnOffset(w, q + Math.Min(1, tile.Columns - 1));
                tile.W2 = ColumnOffset(w, q + Math.Min(2, tile.Columns - 1));
                tile.W3 = ColumnOffset(w, q + Math.Min(3, tile.Columns - 1));
                int end = r0 + panelRows;
                int r = r0 + (panelRows & ~1);   // where the multi-row tiles stop: a last single row is the latency path's
                // K in chunks: every row tile of the panel sums the chunk's columns into y (from the bias, or y, on the
                // first chunk), then the next chunk carries on from y. Each accumulator still adds its columns in order,
                // one chain, so the result is bit for bit the unchunked one (a float stored and reloaded is exact).
                for (int k0 = 0; (k0 < k || k0 == 0) && r > r0; k0 += chunk)   // K = 0 still writes the bias
                {
                    tile.K = Math.Min(chunk, k - k0);
                    tile.Accumulate = accumulate || k0 > 0;
                    ref float xChunk = ref Unsafe.Add(ref xRef, k0);
                    ref float wChunk = ref Unsafe.Add(ref pRef, k0 * columnStride);
                    int rt = r0;
                    if (tileColumns == 4)
                    {
                        for (; rt + 3 < end; rt += 4)
                        {
                            RowTile<FourStreams, FourStreams>(in tile, ref Unsafe.Add(ref xChunk, rt * xStride), ref wChunk, ref Unsafe.Add(ref bRef, q * v),
                                ref Unsafe.Add(ref oRef, rt * width + q * v));
                        }
                        if (end - rt >= 2)
                        {
                            RowTile<TwoStreams, FourStreams>(in tile, ref Unsafe.Add(ref xChunk, rt * xStride), ref wChunk, ref Unsafe.Add(ref bRef, q * v),
                                ref Unsafe.Add(ref oRef, rt * width + q * v));
                        }
                    }
                    else
                    {
                        for (; rt + 3 < end; rt += 4)
                        {
                            RowTile<FourStreams, TwoStreams>(in tile, ref Unsafe.Add(ref xChunk, rt * xStride), ref wChunk, ref Unsafe.Add(ref bRef, q * v),
                                ref Unsafe.Add(ref oRef, rt * width + q * v));
                        }
                        if (end - rt >= 2)
                        {
                            RowTile<TwoStreams, TwoStreams>(in tile, ref Unsafe.Add(ref xChunk, rt * xStride), ref wChunk, ref Unsafe.Add(ref bRef, q * v),
                                ref Unsafe.Add(ref oRef, rt * width + q * v));
                        }
                    }
                }
                // A single row left (a streaming chunk's last row, a backward step of one stream): latency matters
                // more than reuse, so register columns go in pairs with four FMA chains each (eight in flight, two
                // FMA pipes × four cycles), sharing each broadcast of x.
                if (r < end)
                {
                    ref float xr = ref Unsafe.Add(ref xRef, r * xStride);
                    int c = 0;
                    for (; c + 1 < tile.Columns; c += 2)
                    {
                        ref float o0 = ref Unsafe.Add(ref oRef, r * width + (q + c) * v);
                        ref float o1 = ref Unsafe.Add(ref o0, v);
                        TV start0 = accumulate ? TOps.Load(in o0) : TOps.Load(in Unsafe.Add(ref bRef, (q + c) * v));
                        TV start1 = accumulate ? TOps.Load(in o1) : TOps.Load(in Unsafe.Add(ref bRef, (q + c + 1) * v));
                        ColumnPair(ref Unsafe.Add(ref pRef, ColumnOffset(w, q + c)), ref Unsafe.Add(ref pRef, ColumnOffset(w, q + c + 1)),
                            columnStride, ref xr, k, ref start0, ref start1);
                        TOps.Store(start0, ref o0);
                        TOps.Store(start1, ref o1);
                    }
                    if (c < tile.Columns)
                    {
                        ref float o = ref Unsafe.Add(ref oRef, r * width + (q + c) * v);
                        TV start = accumulate ? TOps.Load(in o) : TOps.Load(in Unsafe.Add(ref bRef, (q + c) * v));
                        TOps.Store(Column(ref Unsafe.Add(ref pRef, ColumnOffset(w, q + c)), columnStride, ref xr, k, start), ref o);
                    }
                }
            }
        }
    }

    /// <summary>Columns per K chunk for a tile whose weights take <paramref name="bytesPerColumn"/> per column of x.</summary>
    internal static int ChunkColumns(int k, int bytesPerColumn)
    {
        if ((long)k * bytesPerColumn <= ChunkThresholdBytes)
        {
            return Math.Max(k, 1);
        }
        int chunks = (int)(((long)k * bytesPerColumn + ChunkBytes - 1) / ChunkBytes);
        return (k + chunks - 1) / chunks;
    }

    private static int ColumnOffset(PackedMatrix w, int q) => (q / w.Gates) * w.BlockStride + (q % w.Gates) * TOps.Lanes;

    private struct ProductTile
    {
        public int K, XStride, Width, ColumnStride, Columns;
        public bool Accumulate;
        public int W0, W1, W2, W3;   // offsets of the tile's register columns in the packed values
    }

    // R rows × C register columns from the bias or y, through the product, back to y.
    private static void RowTile<TR, TC>(in ProductTile t, ref float x /* [R, xStride] */, ref float w, ref float bias /* [C, V] */,
        ref float o /* [R, width] at column q */)
        where TR : struct, IStreamTile
        where TC : struct, IStreamTile
    {
        int v = TOps.Lanes;
        int c = TC.Streams;
        var sums = new TileAccumulators<TV>();
        for (int r = 0; r < TR.Streams; r++)
        {
            for (int i = 0; i < c; i++)
            {
                int column = Math.Min(i, t.Columns - 1) * v;
                sums[r * 4 + i] = t.Accumulate ? TOps.Load(in Unsafe.Add(ref o, r * t.Width + column)) : TOps.Load(in Unsafe.Add(ref bias, column));
            }
        }
        RowProduct<TR, TC>(ref x, t.XStride, t.K, ref Unsafe.Add(ref w, t.W0), ref Unsafe.Add(ref w, t.W1), ref Unsafe.Add(ref w, t.W2),
            ref Unsafe.Add(ref w, t.W3), t.ColumnStride, ref sums);
        for (int r = 0; r < TR.Streams; r++)
        {
            for (int i = 0; i < t.Columns; i++)
            {
                TOps.Store(sums[r * 4 + i], ref Unsafe.Add(ref o, r * t.Width + i * v));
            }
        }
    }

    // sums[4r + i] += Σ_j w_i[j] · x[r][j]: per column j, C weight loads and R broadcasts feed R·C FMAs. Out of line,
    // sums read at the start and written at the end, so the accumulators stay in registers (see the stream tiles).
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void RowProduct<TR, TC>(ref float x, int xStride, int k, ref float w0, ref float w1, ref float w2, ref float w3,
        int stride, ref TileAccumulators<TV> sums)
        where TR : struct, IStreamTile
        where TC : struct, IStreamTile
    {
        int n = TR.Streams, c = TC.Streams;
        ref float x1 = ref Unsafe.Add(ref x, Math.Min(1, n - 1) * xStride);
        ref float x2 = ref Unsafe.Add(ref x, Math.Min(2, n - 1) * xStride);
        ref float x3 = ref Unsafe.Add(ref x, Math.Min(3, n - 1) * xStride);
        TV s00 = sums[0], s01 = sums[1], s02 = sums[2], s03 = sums[3];
        TV s10 = sums[4], s11 = sums[5], s12 = sums[6], s13 = sums[7];
        TV s20 = sums[8], s21 = sums[9], s22 = sums[10], s23 = sums[11];
        TV s30 = sums[12], s31 = sums[13], s32 = sums[14], s33 = sums[15];
        for (int j = 0; j < k; j++)
        {
            int at = j * stride;
            TV wa = TOps.Load(in Unsafe.Add(ref w0, at)), wb = TOps.Load(in Unsafe.Add(ref w1, at));
            TV wc = c > 2 ? TOps.Load(in Unsafe.Add(ref w2, at)) : wa, wd = c > 2 ? TOps.Load(in Unsafe.Add(ref w3, at)) : wb;
            TV b0 = TOps.Broadcast(Unsafe.Add(ref x, j));
            s00 = TOps.MultiplyAdd(wa, b0, s00); s01 = TOps.MultiplyAdd(wb, b0, s01);
            if (c > 2)
            {
                s02 = TOps.MultiplyAdd(wc, b0, s02); s03 = TOps.MultiplyAdd(wd, b0, s03);
            }
            TV b1 = TOps.Broadcast(Unsafe.Add(ref x1, j));
            s10 = TOps.MultiplyAdd(wa, b1, s10); s11 = TOps.MultiplyAdd(wb, b1, s11);
            if (c > 2)
            {
                s12 = TOps.MultiplyAdd(wc, b1, s12); s13 = TOps.MultiplyAdd(wd, b1, s13);
            }
            if (n > 2)
            {
                TV b2 = TOps.Broadcast(Unsafe.Add(ref x2, j));
                s20 = TOps.MultiplyAdd(wa, b2, s20); s21 = TOps.MultiplyAdd(wb, b2, s21);
                TV b3 = TOps.Broadcast(Unsafe.Add(ref x3, j));
                s30 = TOps.MultiplyAdd(wa, b3, s30); s31 = TOps.MultiplyAdd(wb, b3, s31);
                if (c > 2)
                {
                    s22 = TOps.MultiplyAdd(wc, b2, s22); s23 = TOps.MultiplyAdd(wd, b2, s23);
                    s32 = TOps.MultiplyAdd(wc, b3, s32); s33 = TOps.MultiplyAdd(wd, b3, s33);
                }
            }
        }
        sums[0] = s00; sums[1] = s01; sums[2] = s02; sums[3] = s03;
        sums[4] = s10; sums[5] = s11; sums[6] = s12; sums[7] = s13;
        if (n > 2)
        {
            sums[8] = s20; sums[9] = s21; sums[10] = s22; sums[11] = s23;
            sums[12] = s30; sums[13] = s31; sums[14] = s32; sums[15] = s33;
        }
    }

    // start + Σ_j w[j]·x[j] for one register column whose column j is `stride` floats after column j−1: eight
    // chains, as many FMAs as two pipes keep in flight over their four-cycle latency.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV Column(ref float w, int stride, ref float x, int k, TV start)
    {
        TV a0 = start, a1 = TOps.Zero, a2 = TOps.Zero, a3 = TOps.Zero, a4 = TOps.Zero, a5 = TOps.Zero, a6 = TOps.Zero, a7 = TOps.Zero;
        int j = 0;
        for (; j + 7 < k; j += 8)
        {
            ref float wj = ref Unsafe.Add(ref w, j * stride);
            ref float xj = ref Unsafe.Add(ref x, j);
            a0 = TOps.MultiplyAdd(TOps.Load(in wj), TOps.Broadcast(xj), a0);
            a1 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref wj, stride)), TOps.Broadcast(Unsafe.Add(ref xj, 1)), a1);
            a2 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref wj, 2 * stride)), TOps.Broadcast(Unsafe.Add(ref xj, 2)), a2);
            a3 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref wj, 3 * stride)), TOps.Broadcast(Unsafe.Add(ref xj, 3)), a3);
            a4 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref wj, 4 * stride)), TOps.Broadcast(Unsafe.Add(ref xj, 4)), a4);
            a5 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref wj, 5 * stride)), TOps.Broadcast(Unsafe.Add(ref xj, 5)), a5);
            a6 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref wj, 6 * stride)), TOps.Broadcast(Unsafe.Add(ref xj, 6)), a6);
            a7 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref wj, 7 * stride)), TOps.Broadcast(Unsafe.Add(ref xj, 7)), a7);
        }
        for (; j < k; j++)
        {
            a0 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w, j * stride)), TOps.Broadcast(Unsafe.Add(ref x, j)), a0);
        }
        return TOps.Add(TOps.Add(TOps.Add(a0, a1), TOps.Add(a2, a3)), TOps.Add(TOps.Add(a4, a5), TOps.Add(a6, a7)));
    }

    // Two register columns over one row of x: four chains each, every broadcast of x shared by both.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ColumnPair(ref float w0, ref float w1, int stride, ref float x, int k, ref TV sum0, ref TV sum1)
    {
        TV a0 = sum0, a1 = TOps.Zero, a2 = TOps.Zero, a3 = TOps.Zero;
        TV b0 = sum1, b1 = TOps.Zero, b2 = TOps.Zero, b3 = TOps.Zero;
        int j = 0;
        for (; j + 3 < k; j += 4)
        {
            ref float u = ref Unsafe.Add(ref w0, j * stride);
            ref float t = ref Unsafe.Add(ref w1, j * stride);
            TV x0 = TOps.Broadcast(Unsafe.Add(ref x, j)), x1 = TOps.Broadcast(Unsafe.Add(ref x, j + 1));
            TV x2 = TOps.Broadcast(Unsafe.Add(ref x, j + 2)), x3 = TOps.Broadcast(Unsafe.Add(ref x, j + 3));
            a0 = TOps.MultiplyAdd(TOps.Load(in u), x0, a0);
            b0 = TOps.MultiplyAdd(TOps.Load(in t), x0, b0);
            a1 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref u, stride)), x1, a1);
            b1 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref t, stride)), x1, b1);
            a2 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref u, 2 * stride)), x2, a2);
            b2 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref t, 2 * stride)), x2, b2);
            a3 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref u, 3 * stride)), x3, a3);
            b3 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref t, 3 * stride)), x3, b3);
        }
        for (; j < k; j++)
        {
            TV xj = TOps.Broadcast(Unsafe.Add(ref x, j));
            a0 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w0, j * stride)), xj, a0);
            b0 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w1, j * stride)), xj, b0);
        }
        sum0 = TOps.Add(TOps.Add(a0, a1), TOps.Add(a2, a3));
        sum1 = TOps.Add(TOps.Add(b0, b1), TOps.Add(b2, b3));
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
