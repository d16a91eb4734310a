using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace Rnn.Fast.Internals;

/// <summary>A compile-time stream count of a register tile: the JIT specialises a tile body per count and drops
/// the accumulators of the streams a count does not have.</summary>
internal interface IStreamTile
{
    static abstract int Streams { get; }
}

/// <summary>
/// Where a tile's product loop (its own method) leaves its accumulators for the epilogue. With the epilogue
/// inlined behind the loop in one method, the JIT kept some of the accumulators on the stack inside the loop. Up to
/// 24: six LSTM streams × four gates.
/// </summary>
[InlineArray(24)]
internal struct TileAccumulators<TV> where TV : struct
{
    private TV _element0;
}

internal readonly struct OneStream : IStreamTile
{
    public static int Streams => 1;
}

internal readonly struct TwoStreams : IStreamTile
{
    public static int Streams => 2;
}

internal readonly struct FourStreams : IStreamTile
{
    public static int Streams => 4;
}

internal readonly struct SixStreams : IStreamTile
{
    public static int Streams => 6;
}

/// <summary>
/// The multi-stream cell role: register tiles of S streams × one block of units (all G gates of V units), so every
/// weight vector loaded from W_hh feeds S fused multiply-adds, one per stream, and the gate activations and the
/// state update run on the tile's accumulators before one store per stream. Single-stream steps and the
/// element-wise backward are the one-stream family's (<see cref="GateInterleavedCells{TOps, TV}"/>).
/// </summary>
/// <remarks>
/// <para>Loop order: blocks outside, stream tiles inside. One block of W_hh (H × G × V floats: 128 KiB for an
/// LSTM with H = 512 on 512-bit registers) stays in L2 while every tile of the step sweeps it, so W_hh comes from
/// memory once per step rather than once per tile.</para>
/// <para>Tile shapes (accumulators = S × G, plus G weight registers and a broadcast): with 32 vector registers
/// (AVX-512, and ARM64) LSTM takes S = 6 (24 accumulators), GRU S = 4 (12), Elman S = 6 × two blocks; with 16
/// registers LSTM and GRU take S = 2, Elman S = 4 × two blocks. A batch that is not a multiple of S finishes with
/// smaller tiles (4, 2, 1 streams); nothing is computed twice.</para>
/// </remarks>
internal abstract partial class StreamTiledCells<TOps, TV>(CellKernel single) : CellKernel where TOps : struct, ISimdOps<TV> where TV : struct
{
    // Registers the JIT can allocate for vectors: EVEX encodings (AVX-512 enabled) and ARM64 have 32.
    private static bool WideRegisterFile =>
        Avx512F.IsSupported || System.Runtime.Intrinsics.Arm.AdvSimd.Arm64.IsSupported;

    private readonly CellKernel _single = single;

    public sealed override int Lanes => TOps.Lanes;

    public sealed override void LstmStepFused(ReadOnlySpan<float> x, ReadOnlySpan<float> hPrev, ReadOnlySpan<float> cPrev,
        PackedMatrix wx, PackedMatrix wh, ReadOnlySpan<float> bias, Span<float> cNext, Span<float> hNext) =>
        _single.LstmStepFused(x, hPrev, cPrev, wx, wh, bias, cNext, hNext);

    public sealed override void GruStepFused(ReadOnlySpan<float> x, ReadOnlySpan<float> hPrev, PackedMatrix wx, PackedMatrix wh,
        ReadOnlySpan<float> bias, ReadOnlySpan<float> biasHn, Span<float> hNext) =>
        _single.GruStepFused(x, hPrev, wx, wh, bias, biasHn, hNext);

    public sealed override void ElmanStepFused(Activation nonlinearity, ReadOnlySpan<float> x, ReadOnlySpan<float> hPrev,
        PackedMatrix wx, PackedMatrix wh, ReadOnlySpan<float> bias, Span<float> hNext) =>
        _single.ElmanStepFused(nonlinearity, x, hPrev, wx, wh, bias, hNext);

    public sealed override void LstmBackward(ReadOnlySpan<float> dh, ReadOnlySpan<float> gates, ReadOnlySpan<float> c,
        ReadOnlySpan<float> cPrev, Span<float> dc, Span<float> dPre) =>
        _single.LstmBackward(dh, gates, c, cPrev, dc, dPre);

    public sealed override void GruBackward(ReadOnlySpan<float> dh, ReadOnlySpan<float> gates, ReadOnlySpan<float> hPrev,
        ReadOnlySpan<float> dhBelow, Span<float> dPreInput, Span<float> dPreHidden, Span<float> dhBase) =>
        _single.GruBackward(dh, gates, hPrev, dhBelow, dPreInput, dPreHidden, dhBase);

    public sealed override void ElmanBackward(Activation nonlinearity, ReadOnlySpan<float> h, ReadOnlySpan<float> dh, Span<float> dPre) =>
        _single.ElmanBackward(nonlinearity, h, dh, dPre);
}
