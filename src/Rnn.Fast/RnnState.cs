namespace Rnn.Fast;

/// <summary>
/// The recurrent state of one model for <see cref="Batch"/> streams: h per layer, and c per LSTM layer.
/// Create it with <see cref="RnnModel.CreateState"/>; one per stream (or group of streams), never shared
/// between threads. Starts at zero.
/// </summary>
public sealed class RnnState
{
    // Per layer: [Batch, Hp] with Hp the kernel-padded hidden size. Streaming steps write the new h into
    // the spare buffer (every block reads all of the old h) and then swap the two arrays.
    private readonly float[][] _hidden;
    private readonly float[][] _spare;
    private readonly float[]?[] _cell;

    internal RnnState(RnnModel model, int batch)
    {
        Model = model;
        Batch = batch;
        int layers = model.PackedLayers.Count;
        _hidden = new float[layers][];
        _spare = new float[layers][];
        _cell = new float[layers][];
        for (int l = 0; l < layers; l++)
        {
            var layer = model.PackedLayers[l];
            _hidden[l] = new float[batch * layer.PaddedHidden];
            _spare[l] = new float[batch * layer.PaddedHidden];
            _cell[l] = layer.Cell == CellType.Lstm ? new float[batch * layer.PaddedHidden] : null;
        }
    }

    /// <summary>The model this state belongs to; other models reject it.</summary>
    public RnnModel Model { get; }

    /// <summary>Number of independent streams.</summary>
    public int Batch { get; }

    internal float[] HiddenBuffer(int layer) => _hidden[layer];
    internal float[] SpareBuffer(int layer) => _spare[layer];
    internal float[]? CellBuffer(int layer) => _cell[layer];

    internal void SwapHidden()
    {
        for (int l = 0; l < _hidden.Length; l++)
        {
            (_hidden[l], _spare[l]) = (_spare[l], _hidden[l]);
        }
    }

    /// <summary>h of one layer and stream, length H of that layer; writable to set an initial state.</summary>
    /// <exception cref="ArgumentOutOfRangeException">No such layer or stream.</exception>
    public Span<float> Hidden(int layer, int stream = 0)
    {
        var packed = CheckedLayer(layer, stream);
        return _hidden[layer].AsSpan(stream * packed.PaddedHidden, packed.HiddenSize);
    }

    /// <summary>c of one LSTM layer and stream, length H; writable to set an initial state.</summary>
    /// <exception cref="ArgumentOutOfRangeException">No such layer or stream.</exception>
    /// <exception cref="InvalidOperationException">The layer is not an LSTM.</exception>
    public Span<float> Cell(int layer, int stream = 0)
    {
        var packed = CheckedLayer(layer, stream);
        float[] cell = _cell[layer] ?? throw new InvalidOperationException($"Layer {layer} is an {packed.Cell} layer and has no cell state.");
        return cell.AsSpan(stream * packed.PaddedHidden, packed.HiddenSize);
    }

    /// <summary>Sets every h and c to zero.</summary>
    public void Reset()
    {
        for (int l = 0; l < _hidden.Length; l++)
        {
            Array.Clear(_hidden[l]);
            Array.Clear(_spare[l]);
            if (_cell[l] is { } c)
            {
                Array.Clear(c);
            }
        }
    }

    /// <summary>Copies h and c from another state of the same model and batch.</summary>
    /// <exception cref="ArgumentException">The other state has a different model or batch.</exception>
    public void CopyFrom(RnnState other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other.Model != Model || other.Batch != Batch)
        {
            throw new ArgumentException("The source state must belong to the same model and have the same batch.", nameof(other));
        }
        for (int l = 0; l < _hidden.Length; l++)
        {
            other._hidden[l].CopyTo(_hidden[l], 0);
            if (_cell[l] is { } c)
            {
                other._cell[l]!.CopyTo(c, 0);
            }
        }
    }

    private Internals.PackedLayer CheckedLayer(int layer, int stream)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(layer);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(layer, _hidden.Length);
        ArgumentOutOfRangeException.ThrowIfNegative(stream);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(stream, Batch);
        return Model.PackedLayers[layer];
    }
}
