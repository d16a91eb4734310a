using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Rnn.Fast.Internals;

internal abstract partial class BlockedProducts<TOps, TV>
{
    // Half of a 512 KiB L2 for a panel's rows of d and x; the gradient tiles stream through the rest.
    private const int PanelBytes = 256 * 1024;

    public sealed override void AccumulateOuter(ReadOnlySpan<float> d, ReadOnlySpan<float> x, int rows, int xStride, PackedMatrix shape,
        Span<float> gradient)
    {
        int width = shape.RowWidth;
        ref float dRef = ref MemoryMarshal.GetReference(d);
        ref float xRef = ref MemoryMarshal.GetReference(x);
        ref float gRef = ref MemoryMarshal.GetReference(gradient);

        // The transpose of MultiplyRows: the rows (steps × streams) are the long, summed dimension. A tile holds
        // 2 register columns × 4 input columns (8 accumulators) in registers across a panel of rows, so each
        // gradient vector is read and written once per panel instead of once per row. A panel's rows of d and x
        // stay in L2 while every tile sweeps them; sweeping all rows per tile falls out of L2 for long batched
        // sequences.
        int panelSize = Math.Clamp(PanelBytes / ((width + xStride) * sizeof(float)), 16, 4096);
        for (int panel = 0; panel < rows; panel += panelSize)
        {
            int panelRows = Math.Min(panelSize, rows - panel);
            OuterPanel(ref Unsafe.Add(ref dRef, panel * width), ref Unsafe.Add(ref xRef, panel * xStride), panelRows, xStride, shape, ref gRef);
        }
    }

    private static void OuterPanel(ref float dRef, ref float xRef, int rows, int xStride, PackedMatrix shape, ref float gRef)
    {
        int v = TOps.Lanes;
        int gates = shape.Gates;
        int k = shape.Columns;
        int width = shape.RowWidth;
        int columns = width / v;
        int columnStride = gates * v;
        for (int q = 0; q < columns; q += 2)
        {
            bool pair = q + 1 < columns;
            int q1 = pair ? q + 1 : q;
            ref float g0 = ref Unsafe.Add(ref gRef, (q / gates) * shape.BlockStride + (q % gates) * v);
            ref float g1 = ref Unsafe.Add(ref gRef, (q1 / gates) * shape.BlockStride + (q1 % gates) * v);
            int j = 0;
            for (; j + 3 < k; j += 4)
            {
                TV s00 = TOps.Zero, s01 = TOps.Zero, s02 = TOps.Zero, s03 = TOps.Zero;
                TV s10 = TOps.Zero, s11 = TOps.Zero, s12 = TOps.Zero, s13 = TOps.Zero;
                for (int r = 0; r < rows; r++)
                {
                    TV d0 = TOps.Load(in Unsafe.Add(ref dRef, r * width + q * v));
                    TV d1 = TOps.Load(in Unsafe.Add(ref dRef, r * width + q1 * v));
                    ref float xr = ref Unsafe.Add(ref xRef, r * xStride + j);
                    TV x0 = TOps.Broadcast(xr), x1 = TOps.Broadcast(Unsafe.Add(ref xr, 1));
                    TV x2 = TOps.Broadcast(Unsafe.Add(ref xr, 2)), x3 = TOps.Broadcast(Unsafe.Add(ref xr, 3));
                    s00 = TOps.MultiplyAdd(d0, x0, s00); s10 = TOps.MultiplyAdd(d1, x0, s10);
                    s01 = TOps.MultiplyAdd(d0, x1, s01); s11 = TOps.MultiplyAdd(d1, x1, s11);
                    s02 = TOps.MultiplyAdd(d0, x2, s02); s12 = TOps.MultiplyAdd(d1, x2, s12);
                    s03 = TOps.MultiplyAdd(d0, x3, s03); s13 = TOps.MultiplyAdd(d1, x3, s13);
                }
                AddTo(ref Unsafe.Add(ref g0, j * columnStride), s00);
                AddTo(ref Unsafe.Add(ref g0, (j + 1) * columnStride), s01);
                AddTo(ref Unsafe.Add(ref g0, (j + 2) * columnStride), s02);
                AddTo(ref Unsafe.Add(ref g0, (j + 3) * columnStride), s03);
                if (pair)
                {
                    AddTo(ref Unsafe.Add(ref g1, j * columnStride), s10);
                    AddTo(ref Unsafe.Add(ref g1, (j + 1) * columnStride), s11);
                    AddTo(ref Unsafe.Add(ref g1, (j + 2) * columnStride), s12);
                    AddTo(ref Unsafe.Add(ref g1, (j + 3) * columnStride), s13);
                }
            }
            for (; j < k; j++)
            {
                TV s0 = TOps.Zero, s1 = TOps.Zero;
                for (int r = 0; r < rows; r++)
                {
                    TV xj = TOps.Broadcast(Unsafe.Add(ref xRef, r * xStride + j));
                    s0 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref dRef, r * width + q * v)), xj, s0);
                    s1 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref dRef, r * width + q1 * v)), xj, s1);
                }
                AddTo(ref Unsafe.Add(ref g0, j * columnStride), s0);
                if (pair)
                {
                    AddTo(ref Unsafe.Add(ref g1, j * columnStride), s1);
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddTo(ref float destination, TV value) => TOps.Store(TOps.Add(TOps.Load(in destination), value), ref destination);
}
