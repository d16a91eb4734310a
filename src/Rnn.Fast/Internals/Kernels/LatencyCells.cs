namespace Rnn.Fast.Internals;

/// <summary>
/// The latency role: a whole streaming step of a unidirectional model (every layer, then the head) for one stream
/// or a few, in one call with no per-layer virtual calls, spans or offsets recomputed per step. The GateInterleaved
/// cells serve sequences and training; this family serves <c>Step</c>, where a real-time caller pays for every
/// nanosecond of overhead around a small recurrence.
/// </summary>
/// <remarks>
/// <para>Per block of V units the gate accumulators stay in registers while the columns of x and h are broadcast
/// into them; the weight, bias and head pointers advance block by block instead of being recomputed from indices.
/// A one-output head is fused into the last layer: each block of the new h is multiplied into a head accumulator
/// while it is still in a register, so the head costs one FMA per block and one horizontal sum per step.</para>
/// <para>Several streams (<see cref="MaxStreams"/> at most) step in pairs that share every weight load (LSTM, GRU), so
/// two independent dependency chains (activations, cell update) overlap where one stream alone waits on latency. A
/// batch step sums in the sequence engine's order (x in one chain per gate, then h as its multi-stream cells do), so
/// it equals <c>Run</c> and the training forward pass bit for bit.</para>
/// <para>Entry points are compiled fully optimised on first call (<c>AggressiveOptimization</c>), so a fresh audio
/// thread never runs tier-0 code on this path.</para>
/// </remarks>
internal abstract class LatencyCells
{
    /// <summary>The most streams <see cref="StepStreams"/> takes; larger batches go through the sequence engine.</summary>
    public const int MaxStreams = 8;

    /// <summary>
    /// The widest padded layer <see cref="StepStreams"/> takes: past it the weights outgrow L1 and a register-blocked
    /// multi-stream family, which reuses each load across more streams, does better.
    /// </summary>
    public const int MaxStreamWidth = 128;

    /// <summary>Hidden units per block (floats per register); must match the model's packing.</summary>
    public abstract int Lanes { get; }

    /// <summary>Compiles the hot entry points ahead of the first step (see the implementation).</summary>
    public abstract void Prepare();

    /// <summary>One step of one stream through every layer of <paramref name="network"/>, head included.</summary>
    public abstract void Step(
        Network network,
        ReadOnlySpan<float> input,  // [I]
        RnnState state,             // batch 1
        Span<float> output);        // [O]

    /// <summary>One step of <c>state.Batch</c> (2..<see cref="MaxStreams"/>) streams, in pairs that share weight loads.</summary>
    public abstract void StepStreams(
        Network network,
        ReadOnlySpan<float> input,  // [B, I]
        RnnState state,
        Span<float> output);        // [B, O]
}
