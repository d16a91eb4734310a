using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Rnn.Fast.Internals;

/// <summary>
/// The reduced-precision product role on vector registers: each load of V pair slots (<see cref="ReducedMatrix"/>)
/// is widened in registers (bf16: a shift and a mask into two float registers; int8: sign extension to int16 for a
/// multiply-add of adjacent pairs) and feeds a register tile of rows × register columns. Written once per width
/// through <typeparamref name="TOps"/> (float ops) and <typeparamref name="TPairs"/> (pair ops).
/// </summary>
/// <remarks>
/// <para><b>Tiles.</b> A register column q = (block, gate) reads the pair slots at <c>[q / G][p][q % G]</c>, p =
/// 0..Pairs−1, each G·V slots after the previous one. A tile is R rows (4, then 2) × C register columns (4 with 32
/// vector registers, 2 with 16), 1 or 2 where no more remain (a head has 1; 3 run as 4 with the last column loaded
/// twice, its copy not stored). A lone row (a batch-1
/// step, a panel's odd last row) takes its own loop over 8 (bf16: 8 FMA chains) or 4 (int8) register columns. Rows
/// go in panels whose x (or int16 q) stays in L2 while every column tile sweeps them; a column tile's weights
/// (C × Pairs × V slots) stay in L1/L2 while the panel's row tiles reuse them.</para>
/// <para><b>Flops and bytes</b> per pair slot register (V lanes, 2V multiply-adds per row): bf16 reads 4V bytes
/// and spends a shift, a mask and 2 FMAs; int8 reads 2V bytes and spends a vpmovsxbw, then a vpmaddwd and a vpaddd
/// per row. float32 reads 8V bytes per 2V multiply-adds (2 FMAs).</para>
/// <para>A batch-1 step (one row, every weight used once) is therefore bound by the memory only in float32: an LSTM
/// with H = I = 512 streams 8 MB per step from L3 in float32, 4 MB in bf16 and 2 MB in int8, but bf16 issues as many
/// FMAs as float32 on half the bytes (on a core with one 512-bit FMA per cycle that is 32 bytes per cycle, about L3
/// speed), and int8's three integer instructions per 32 bytes cost more cycles than L3 needs to deliver them. So
/// the batch-1 gains are below the byte ratios of 2 and 4. Instructions that would close the gap (AVX512-BF16's
/// vdpbf16ps, AVX512-VNNI's vpdpwssd) have no .NET 10 API on CPUs without AVX10 (Zen 4).</para>
/// <para>The input projection of a chunk (up to 256 rows) reuses each widened register R = 4 times and each column
/// tile over a whole panel from L1/L2, so it is bound by the vector pipes: per 2V multiply-adds of a 4 × 4 tile,
/// bf16 spends 1/4 load + 1/2 widen + 2 FMA instructions (as float32 does, plus the widening), int8 1/4 vpmovsxbw +
/// 1 vpmaddwd + 1 vpaddd (a vpmaddwd does twice the multiply-adds of an FMA).</para>
/// <para><b>Rounding.</b> bf16: one FMA chain per output in column order from 0, then <c>start + sum</c>: the same
/// operations as <see cref="ReducedProductsScalar"/> (bit-identical where the ISA fuses). int8: exact int32 sums per
/// run, float32 sums of the runs in order, <c>fma(sum · s_w, s_x, start)</c>: bit-identical on every ISA.</para>
/// </remarks>
internal abstract partial class PairWidenedProducts<TOps, TPairs, TF, TI> : ReducedProductKernel
    where TOps : struct, ISimdOps<TF>
    where TPairs : struct, IPairOps<TF, TI>
    where TF : struct
    where TI : struct
{
    public sealed override int Lanes => TOps.Lanes;

    // The hot methods carry AggressiveOptimization, as the float32 streaming step does (see HotPath): a reduced
    // model's first Step runs optimised code, never tier-0 loops, and no later tier-up recompiles them.

    // Vector registers the JIT can allocate: 32 with EVEX encodings (AVX-512 enabled) and on ARM64, else 16.
    private static bool WideRegisterFile =>
        System.Runtime.Intrinsics.X86.Avx512F.IsSupported || System.Runtime.Intrinsics.Arm.AdvSimd.Arm64.IsSupported;

    // Floats of x (or int16 pairs of q, at half the bytes) per row panel: 64 KiB of x stays in L2.
    private const int PanelFloats = 16 * 1024;

    // Rows of a panel at most: the int8 products keep the panel's activation scales in a fixed stack buffer.
    private const int MaxPanelRows = 64;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public sealed override void MultiplyRows(ReadOnlySpan<float> x, int rows, int xStride, ReducedMatrix w, ReadOnlySpan<float> bias,
        bool accumulate, Span<float> y, Span<short> scratch)
    {
        if (w.Lanes != TOps.Lanes)
        {
            throw new ArgumentException($"The matrix is packed in blocks of {w.Lanes} lanes, this kernel computes {TOps.Lanes}.", nameof(w));
        }
        int width = w.RowWidth;
        if (rows <= 0 || width == 0)
        {
            return;
        }
        // Everything the unchecked loops below touch, checked once.
        if (x.Length < (rows - 1) * xStride + w.Columns || y.Length < rows * width || (!bias.IsEmpty && bias.Length < width))
        {
            throw new ArgumentException("x, y or bias is shorter than the product's shape.");
        }
        int panel = Math.Clamp(PanelFloats / Math.Max(w.Columns, 1) & ~3, 4, MaxPanelRows);
        var shape = new TileShape
        {
            XStride = xStride,
            Width = width,
            Stride = w.Gates * TOps.Lanes,
            Accumulate = accumulate,
            HasBias = !bias.IsEmpty,
        };
        if (w.Precision == WeightPrecision.BFloat16)
        {
            BFloat16Rows(ref MemoryMarshal.GetReference(x), rows, w, ref MemoryMarshal.GetReference(bias), ref MemoryMarshal.GetReference(y),
                panel, shape);
        }
        else
        {
            if (scratch.Length < Math.Min(rows, panel) * 2 * w.Pairs)
            {
                throw new ArgumentException("The int16 scratch is shorter than ScratchLength(rows, columns).", nameof(scratch));
            }
            Int8Rows(x, rows, w, ref MemoryMarshal.GetReference(bias), ref MemoryMarshal.GetReference(y), scratch, panel, shape);
        }
    }

    // What every tile of one product shares.
    private struct TileShape
    {
        public int XStride, Width, Stride;   // x floats per row, y floats per row, pair slots between pair p and p+1
        public bool Accumulate, HasBias;
        public int Columns;                  // register columns of this tile that exist (≤ the tile's C)
    }

    // The offsets (in pair slots, V per register) of pair 0 of register columns q … q + count − 1, the rest of the 8
    // aliasing the last: one division, then steps of V within a block and to the next block's start across one
    // (a division per column cost more than a small product's arithmetic).
    private static void ColumnOffsets(ReducedMatrix w, int q, int count, ref ColumnRefs offsets)
    {
        (int block, int gate) = Math.DivRem(q, w.Gates);
        int v = TOps.Lanes, blockStride = w.BlockStride / 2;
        int offset = block * blockStride + gate * v;
        for (int i = 0; i < 8; i++)
        {
            offsets[i] = offset;
            if (i + 1 < count)
            {
                offset = ++gate == w.Gates ? offset - (w.Gates - 1) * v + blockStride : offset + v;
                gate %= w.Gates;
            }
        }
    }

    // The value a tile's output starts from: y (accumulate) or 0, plus the bias where there is one, in the order of
    // the scalar definition (clear, add the bias, add the product).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TF Start(in TileShape t, ref float o, ref float bias)
    {
        TF start = t.Accumulate ? TOps.Load(in o) : TOps.Zero;
        return t.HasBias ? TOps.Add(start, TOps.Load(in bias)) : start;
    }

    [InlineArray(8)]
    private struct ColumnRefs
    {
        private int _element0;
    }
}

/// <summary>Six register columns: the lone-row tile of a three-gate (GRU) matrix's bf16 products, two whole blocks.</summary>
internal readonly struct SixColumns : IStreamTile
{
    public static int Streams => 6;
}

/// <summary>Eight register columns: the lone-row tile of the bf16 products (eight FMA chains).</summary>
internal readonly struct EightColumns : IStreamTile
{
    public static int Streams => 8;
}
