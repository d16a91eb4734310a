using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Rnn.Fast.Internals;

internal abstract partial class BlockedProducts<TOps, TV>
{
    // Rows per panel: the panel's slice of d for one tile column group, packed, is 96 × 4 × 16 floats = 24 KiB with
    // 512-bit registers, which stays in a 32 KiB L1 beside the x lines the tile reads (96 × 64 B).
    private const int PanelRows = 96;
    private const int MaxPackedRowFloats = 4 * 16;

    public sealed override void AccumulateOuter(ReadOnlySpan<float> d, ReadOnlySpan<float> x, int rows, int xStride, PackedMatrix shape,
        Span<float> gradient)
    {
        ref float dRef = ref MemoryMarshal.GetReference(d);
        ref float xRef = ref MemoryMarshal.GetReference(x);
        ref float gRef = ref MemoryMarshal.GetReference(gradient);
        // The packed slice of d (one tile's columns over the panel's rows, contiguous). On the stack: the training step
        // allocates nothing, from its first call on any thread.
        Span<float> packed = stackalloc float[PanelRows * MaxPackedRowFloats];
        ref float pRef = ref MemoryMarshal.GetReference(packed);
        for (int panel = 0; panel < rows; panel += PanelRows)
        {
            int panelRows = Math.Min(PanelRows, rows - panel);
            OuterPanel(ref Unsafe.Add(ref dRef, panel * shape.RowWidth), ref Unsafe.Add(ref xRef, panel * xStride), panelRows, xStride, shape,
                ref gRef, ref pRef);
        }
    }

    // The transpose of MultiplyRows: the rows (steps × streams) are the long, summed dimension. Tiles of C register
    // columns (4 with 32 vector registers, 2 with 16) × 4 input columns hold their sums in registers across the panel,
    // so each gradient vector is read and written once per panel. Per tile column group the panel's slice of d is first
    // copied into a contiguous buffer: read in place, one row of d (4·H floats: 4 KiB, a page, at H = 256) apart,
    // every row of every tile was a new page and a TLB miss (measured on Emerald Rapids: 71 GFLOP/s, 43 % of its FMA
    // peak, for the weight gradients of an LSTM with H = 256). The packed slice is then reused by every group of
    // input columns; columns past the last (of either kind) alias it and their sums are dropped.
    private static void OuterPanel(ref float dRef, ref float xRef, int rows, int xStride, PackedMatrix shape, ref float gRef, ref float packed)
    {
        int v = TOps.Lanes;
        int gates = shape.Gates;
        int k = shape.Columns;
        int width = shape.RowWidth;
        int columns = width / v;
        int columnStride = gates * v;
        int tileColumns = WideRegisterFile ? 4 : 2;
        var sums = new TileAccumulators<TV>();
        Span<int> gradientColumns = stackalloc int[4];
        for (int q = 0; q < columns; q += tileColumns)
        {
            int nc = Math.Min(tileColumns, columns - q);
            int packedWidth = nc * v;
            // Where each register column's gradient starts, computed once per tile column group: the division by the
            // gate count (a runtime value, so a hardware divide) took a sizeable share of every tile when it sat in
            // the loop over input columns.
            for (int i = 0; i < nc; i++)
            {
                gradientColumns[i] = ((q + i) / gates) * shape.BlockStride + ((q + i) % gates) * v;
            }
            for (int r = 0; r < rows; r++)
            {
                ref float from = ref Unsafe.Add(ref dRef, r * width + q * v);
                ref float to = ref Unsafe.Add(ref packed, r * packedWidth);
                for (int i = 0; i < packedWidth; i += v)
                {
                    TOps.Store(TOps.Load(in Unsafe.Add(ref from, i)), ref Unsafe.Add(ref to, i));
                }
            }
            int d1 = Math.Min(1, nc - 1) * v, d2 = Math.Min(2, nc - 1) * v, d3 = Math.Min(3, nc - 1) * v;
            for (int j = 0; j < k; j += 4)
            {
                int nj = Math.Min(4, k - j);
                int x1 = Math.Min(1, nj - 1), x2 = Math.Min(2, nj - 1), x3 = Math.Min(3, nj - 1);
                if (tileColumns == 4)
                {
                    OuterProduct<FourStreams>(ref packed, packedWidth, d1, d2, d3, ref Unsafe.Add(ref xRef, j), xStride, x1, x2, x3, rows, ref sums);
                }
                else
                {
                    OuterProduct<TwoStreams>(ref packed, packedWidth, d1, d2, d3, ref Unsafe.Add(ref xRef, j), xStride, x1, x2, x3, rows, ref sums);
                }
                for (int i = 0; i < nc; i++)
                {
                    ref float g = ref Unsafe.Add(ref gRef, gradientColumns[i] + j * columnStride);
                    for (int jj = 0; jj < nj; jj++)
                    {
                        AddTo(ref Unsafe.Add(ref g, jj * columnStride), sums[i * 4 + jj]);
                    }
                }
            }
        }
    }

    // sums[4i + jj] = Σ_r d[r][column i] · x[r][jj] over the panel's rows. Out of line with the sums written only
    // at the end, so the 16 accumulators stay in registers.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void OuterProduct<TC>(ref float d, int width, int d1, int d2, int d3, ref float x, int xStride, int x1, int x2, int x3,
        int rows, ref TileAccumulators<TV> sums)
        where TC : struct, IStreamTile
    {
        int c = TC.Streams;
        TV s00 = TOps.Zero, s01 = TOps.Zero, s02 = TOps.Zero, s03 = TOps.Zero;
        TV s10 = TOps.Zero, s11 = TOps.Zero, s12 = TOps.Zero, s13 = TOps.Zero;
        TV s20 = TOps.Zero, s21 = TOps.Zero, s22 = TOps.Zero, s23 = TOps.Zero;
        TV s30 = TOps.Zero, s31 = TOps.Zero, s32 = TOps.Zero, s33 = TOps.Zero;
        for (int r = 0; r < rows; r++)
        {
            ref float dr = ref Unsafe.Add(ref d, r * width);
            ref float xr = ref Unsafe.Add(ref x, r * xStride);
            TV da = TOps.Load(in dr), db = TOps.Load(in Unsafe.Add(ref dr, d1));
            TV b0 = TOps.Broadcast(xr), b1 = TOps.Broadcast(Unsafe.Add(ref xr, x1));
            TV b2 = TOps.Broadcast(Unsafe.Add(ref xr, x2)), b3 = TOps.Broadcast(Unsafe.Add(ref xr, x3));
            s00 = TOps.MultiplyAdd(da, b0, s00); s01 = TOps.MultiplyAdd(da, b1, s01);
            s02 = TOps.MultiplyAdd(da, b2, s02); s03 = TOps.MultiplyAdd(da, b3, s03);
            s10 = TOps.MultiplyAdd(db, b0, s10); s11 = TOps.MultiplyAdd(db, b1, s11);
            s12 = TOps.MultiplyAdd(db, b2, s12); s13 = TOps.MultiplyAdd(db, b3, s13);
            if (c > 2)
            {
                TV dc = TOps.Load(in Unsafe.Add(ref dr, d2)), dd = TOps.Load(in Unsafe.Add(ref dr, d3));
                s20 = TOps.MultiplyAdd(dc, b0, s20); s21 = TOps.MultiplyAdd(dc, b1, s21);
                s22 = TOps.MultiplyAdd(dc, b2, s22); s23 = TOps.MultiplyAdd(dc, b3, s23);
                s30 = TOps.MultiplyAdd(dd, b0, s30); s31 = TOps.MultiplyAdd(dd, b1, s31);
                s32 = TOps.MultiplyAdd(dd, b2, s32); s33 = TOps.MultiplyAdd(dd, b3, s33);
            }
        }
        sums[0] = s00; sums[1] = s01; sums[2] = s02; sums[3] = s03;
        sums[4] = s10; sums[5] = s11; sums[6] = s12; sums[7] = s13;
        if (c > 2)
        {
            sums[8] = s20; sums[9] = s21; sums[10] = s22; sums[11] = s23;
            sums[12] = s30; sums[13] = s31; sums[14] = s32; sums[15] = s33;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddTo(ref float destination, TV value) => TOps.Store(TOps.Add(TOps.Load(in destination), value), ref destination);
}
