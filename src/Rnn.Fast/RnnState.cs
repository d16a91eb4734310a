using Rnn.Fast.Internals;

namespace Rnn.Fast;

/// <summary>
/// The recurrent state of one model for <see cref="Batch"/> streams: h per layer (and direction), and c
/// per LSTM layer. Create it with <see cref="RnnModel.CreateState"/>; one per stream (or group of streams),
/// never shared between threads. Starts at the model's initial state (zeros unless the model says otherwise).
/// </summary>
public sealed class RnnState
{
    // Slot 2l is layer l's forward direction, 2l+1 its reverse (null when the model is unidirectional).
    // Each buffer is [Batch, Hp] with Hp the kernel-padded hidden size. Streaming steps write the new h
    // into the spare buffer (every block reads all of the old h) and then swap the two arrays.
    private readonly float[]?[] _hidden;
    private readonly float[]?[] _spare;
    private readonly float[]?[] _cell;

    internal RnnState(RnnModel model, int batch)
    {
        Model = model;
        Batch = batch;
        int slots = 2 * model.PackedLayers.Count;
        _hidden = new float[slots][];
        _spare = new float[slots][];
        _cell = new float[slots][];
        for (int s = 0; s < slots; s++)
        {
            PackedLayer? layer = model.PackedSlot(s);
            if (layer is null)
            {
                continue;
            }
            _hidden[s] = new float[batch * layer.PaddedHidden];
            _spare[s] = new float[batch * layer.PaddedHidden];
            _cell[s] = layer.Cell == CellType.Lstm ? new float[batch * layer.PaddedHidden] : null;
        }
        Reset();
    }

    /// <summary>The model this state belongs to; other models reject it.</summary>
    public RnnModel Model { get; }

    /// <summary>Number of independent streams.</summary>
    public int Batch { get; }

    internal float[] HiddenBuffer(int slot) => _hidden[slot]!;
    internal float[] SpareBuffer(int slot) => _spare[slot]!;
    internal float[]? CellBuffer(int slot) => _cell[slot];

    internal void SwapHidden()
    {
        for (int s = 0; s < _hidden.Length; s++)
        {
            (_hidden[s], _spare[s]) = (_spare[s], _hidden[s]);
        }
    }

    /// <summary>h of one layer, stream and direction, length H; writable to set an initial state.</summary>
    /// <exception cref="ArgumentOutOfRangeException">No such layer, stream or direction.</exception>
    public Span<float> Hidden(int layer, int stream = 0, bool reverse = false)
    {
        (PackedLayer packed, int slot) = CheckedSlot(layer, stream, reverse);
        return _hidden[slot].AsSpan(stream * packed.PaddedHidden, packed.HiddenSize);
    }

    /// <summary>c of one LSTM layer, stream and direction, length H; writable to set an initial state.</summary>
    /// <exception cref="ArgumentOutOfRangeException">No such layer, stream or direction.</exception>
    /// <exception cref="InvalidOperationException">The layer is not an LSTM.</exception>
    public Span<float> Cell(int layer, int stream = 0, bool reverse = false)
    {
        (PackedLayer packed, int slot) = CheckedSlot(layer, stream, reverse);
        float[] cell = _cell[slot] ?? throw new InvalidOperationException($"Layer {layer} is a {packed.Cell} layer and has no cell state.");
        return cell.AsSpan(stream * packed.PaddedHidden, packed.HiddenSize);
    }

    /// <summary>Returns every stream to the model's initial state (zeros unless the model has one).</summary>
    public void Reset()
    {
        RnnModelOptions options = Model.Options;
        for (int s = 0; s < _hidden.Length; s++)
        {
            if (_hidden[s] is not { } hidden)
            {
                continue;
            }
            Array.Clear(hidden);
            Array.Clear(_spare[s]!);
            if (_cell[s] is { } c)
            {
                Array.Clear(c);
            }
            if (s % 2 == 1)
            {
                continue; // initial states are given for the forward direction only
            }
            int stride = Model.PackedSlot(s)!.PaddedHidden;
            float[]? h0 = options.InitialHidden?[s / 2];
            float[]? c0 = options.InitialCell?[s / 2];
            for (int b = 0; b < Batch; b++)
            {
                h0?.CopyTo(hidden, b * stride);
                if (c0 is not null)
                {
                    c0.CopyTo(_cell[s]!, b * stride);
                }
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
        for (int s = 0; s < _hidden.Length; s++)
        {
            other._hidden[s]?.CopyTo(_hidden[s]!, 0);
            other._cell[s]?.CopyTo(_cell[s]!, 0);
        }
    }

    private (PackedLayer Layer, int Slot) CheckedSlot(int layer, int stream, bool reverse)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(layer);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(layer, _hidden.Length / 2);
        ArgumentOutOfRangeException.ThrowIfNegative(stream);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(stream, Batch);
        int slot = 2 * layer + (reverse ? 1 : 0);
        PackedLayer packed = Model.PackedSlot(slot)
            ?? throw new ArgumentOutOfRangeException(nameof(reverse), "This model is not bidirectional.");
        return (packed, slot);
    }
}
