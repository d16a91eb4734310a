namespace Rnn.Fast;

/// <summary>What a model needs beyond its stack of layers and head: a reverse direction, a residual, an initial state.</summary>
public sealed class RnnModelOptions
{
    /// <summary>
    /// For a bidirectional model (PyTorch <c>bidirectional=True</c>): the reverse direction of every layer
    /// (PyTorch's <c>*_reverse</c> tensors), same cell and hidden size as the forward one. Layer k &gt; 0 then
    /// takes 2H inputs, <c>[h_forward, h_reverse]</c>, and so does the head; without a head the output is 2H wide.
    /// Bidirectional models run whole sequences only (<see cref="RnnModel.Run(ReadOnlySpan{float}, int, RnnState, Span{float})"/>); <see cref="RnnModel.Step"/> throws.
    /// </summary>
    public IReadOnlyList<LayerWeights>? ReverseLayers { get; init; }

    /// <summary>
    /// A residual from the input: <c>y[j] += x[j]</c> for <c>j &lt; Skip</c>, after the head (the
    /// <c>lin(h) + x[:skip]</c> of common amp-model training scripts). 0 for none.
    /// </summary>
    public int Skip { get; init; }

    /// <summary>Initial h per layer (length H, or null for zeros); new states and <see cref="RnnState.Reset"/> start here.
    /// Values below 2^-63 in magnitude are kept as zero, as the engine stores every state (README, "Flush to zero").</summary>
    public IReadOnlyList<float[]?>? InitialHidden { get; init; }

    /// <summary>Initial c per LSTM layer (length H, or null for zeros; must be null for other cells). Values below 2^-63 are
    /// kept as zero.</summary>
    public IReadOnlyList<float[]?>? InitialCell { get; init; }
}
