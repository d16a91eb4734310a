namespace Rnn.Fast.Internals;

/// <summary>
/// What the training forward pass keeps for backward, per layer, for up to <see cref="MaxSteps"/> steps of
/// <see cref="Batch"/> streams, plus the input-projection scratch they share.
/// </summary>
internal sealed class ForwardCache
{
    public ForwardCache(Network network, int maxSteps, int batch)
    {
        MaxSteps = maxSteps;
        Batch = batch;
        int rows = checked(maxSteps * batch);
        Layers = [.. network.Layers.Select(l => new LayerCache(l, rows, batch))];
        ChunkSteps = Math.Min(Math.Max(maxSteps, 1), SequenceScratch.ChunkStepsFor(network, batch));
        Pre = new float[checked(ChunkSteps * batch * network.MaxGateWidth)];
    }

    public int MaxSteps { get; }
    public int Batch { get; }
    public LayerCache[] Layers { get; }

    /// <summary>Steps per chunk of the forward pass (as <c>Run</c>'s): the input projection of one chunk at a time.</summary>
    public int ChunkSteps { get; }

    public float[] Pre { get; }   // [chunk rows, max gate width]: W_ih·x + b of one chunk
}

/// <summary>One layer's part of the <see cref="ForwardCache"/>: its initial state and what every step produced.</summary>
internal sealed class LayerCache
{
    public LayerCache(PackedLayer layer, int rows, int batch)
    {
        Stride = layer.PaddedHidden;
        HiddenSize = layer.HiddenSize;
        Initial = new LayerState(layer, batch);
        Hidden = new float[checked(rows * Stride)];
        Cells = layer.Cell == CellType.Lstm ? new float[rows * Stride] : [];
        Gates = layer.Cell == CellType.Elman ? [] : new float[checked(rows * 4 * Stride)];
        InitialHiddenGradient = new float[batch * Stride];
        InitialCellGradient = layer.Cell == CellType.Lstm ? new float[batch * Stride] : [];
    }

    public int Stride { get; }
    public int HiddenSize { get; }

    /// <summary>h(−1) and c(−1) of every stream: where the next forward pass starts.</summary>
    public LayerState Initial { get; }

    public float[] Hidden { get; }                 // [rows, Hp] h(t)
    public float[] Cells { get; }                  // [rows, Hp] c(t); empty unless LSTM
    public float[] Gates { get; }                  // [rows, nb, 4, V] i, f, g, o (LSTM) or r, z, n, W_hn h + b_hn (GRU)
    public float[] InitialHiddenGradient { get; }  // [B, Hp] dL/dh(−1) of the last backward pass
    public float[] InitialCellGradient { get; }    // [B, Hp] dL/dc(−1); empty unless LSTM
    public float[]? RecordedHiddenGradients { get; set; } // [rows, Hp] dL/dh(t), when recording

    /// <summary>Row block of step <paramref name="step"/> in a [rows, Hp] buffer, length H per stream.</summary>
    public Span<float> Row(float[] buffer, int step, int stream, int batch) => buffer.AsSpan((step * batch + stream) * Stride, HiddenSize);

    /// <summary>Makes the state after <paramref name="step"/> the initial state of the next pass (truncated BPTT's carry).</summary>
    public void CarryFrom(int step, int batch)
    {
        int block = batch * Stride;
        Hidden.AsSpan(step * block, block).CopyTo(Initial.Hidden);
        if (Cells.Length != 0)
        {
            Cells.AsSpan(step * block, block).CopyTo(Initial.Cell);
        }
    }
}
