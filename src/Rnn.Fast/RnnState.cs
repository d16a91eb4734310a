using Rnn.Fast.Internals;

namespace Rnn.Fast;

/// <summary>
/// The recurrent state of one model for <see cref="Batch"/> streams: h per layer (and direction), c per LSTM layer,
/// and the scratch that <see cref="RnnModel.Step"/> and <see cref="RnnModel.Run(ReadOnlySpan{float}, int, RnnState, Span{float})"/>
/// use. Create it with <see cref="RnnModel.CreateState"/>; it starts at the model's initial state (zeros unless the
/// model says otherwise).
/// </summary>
/// <remarks>
/// Not thread-safe: one state belongs to one thread at a time. Share the model, never a state: give each thread
/// (or each audio stream) its own, or step many streams together with one batch state. <see cref="RnnModel.Step"/>
/// and <c>Run</c> mark the state busy while they run and throw <see cref="InvalidOperationException"/> when they
/// find it busy, which catches two threads stepping one state at once as soon as their calls overlap; the mark is a
/// plain field (an atomic one would cost a memory fence per step), so it is a detector, not a lock: a race can
/// still slip through before it is caught, and <see cref="Reset"/>, <see cref="CopyFrom"/> and the
/// <see cref="Hidden"/>/<see cref="Cell"/> spans are not checked at all.
/// </remarks>
public sealed class RnnState
{
    private readonly LayerState[] _forward;
    private readonly LayerState[]? _reverse;
    private bool _busy;   // set while Step or Run runs on this state

    internal RnnState(RnnModel model, int batch)
    {
        Model = model;
        Batch = batch;
        Network network = model.Network;
        _forward = [.. network.Layers.Select(l => new LayerState(l, batch))];
        _reverse = network.Reverse is null ? null : [.. network.Reverse.Select(l => new LayerState(l, batch))];
        Scratch = new SequenceScratch(network, batch);
        Reset();
    }

    /// <summary>The model this state belongs to; other models reject it.</summary>
    public RnnModel Model { get; }

    /// <summary>Number of independent streams.</summary>
    public int Batch { get; }

    internal SequenceScratch Scratch { get; }

    /// <summary>Marks the state busy; throws if it already is (another thread is stepping it).</summary>
    internal void Enter()
    {
        if (_busy)
        {
            ThrowHelper.StateInUse();
        }
        _busy = true;
    }

    internal void Exit() => _busy = false;

    internal LayerState Forward(int layer) => _forward[layer];

    internal LayerState ReverseOf(int layer) => _reverse![layer];

    /// <summary>h of one layer, stream and direction, length H; writable to set an initial state.</summary>
    /// <exception cref="ArgumentOutOfRangeException">No such layer, stream or direction.</exception>
    public Span<float> Hidden(int layer, int stream = 0, bool reverse = false) => Checked(layer, stream, reverse).HiddenOf(stream);

    /// <summary>c of one LSTM layer, stream and direction, length H; writable to set an initial state.</summary>
    /// <exception cref="ArgumentOutOfRangeException">No such layer, stream or direction.</exception>
    /// <exception cref="InvalidOperationException">The layer is not an LSTM.</exception>
    public Span<float> Cell(int layer, int stream = 0, bool reverse = false)
    {
        LayerState state = Checked(layer, stream, reverse);
        return state.HasCell
            ? state.CellOf(stream)
            : throw new InvalidOperationException($"Layer {layer} is a {Model.Layers[layer].Cell} layer and has no cell state.");
    }

    /// <summary>Returns every stream to the model's initial state (zeros unless the model has one; the reverse direction always starts at zeros).</summary>
    public void Reset()
    {
        for (int l = 0; l < _forward.Length; l++)
        {
            _forward[l].Reset(Model.InitialHidden(l), Model.InitialCell(l));
            _reverse?[l].Reset(default, default);
        }
    }

    /// <summary>Copies h and c of every layer, direction and stream from another state of the same model and batch (e.g. to snapshot and restore a stream).</summary>
    /// <exception cref="ArgumentException">The other state has a different model or batch.</exception>
    public void CopyFrom(RnnState other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other.Model != Model || other.Batch != Batch)
        {
            throw new ArgumentException("The source state must belong to the same model and have the same batch.", nameof(other));
        }
        for (int l = 0; l < _forward.Length; l++)
        {
            _forward[l].CopyFrom(other._forward[l]);
            _reverse?[l].CopyFrom(other._reverse![l]);
        }
    }

    private LayerState Checked(int layer, int stream, bool reverse)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(layer);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(layer, _forward.Length);
        ArgumentOutOfRangeException.ThrowIfNegative(stream);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(stream, Batch);
        if (reverse && _reverse is null)
        {
            throw new ArgumentOutOfRangeException(nameof(reverse), "This model is not bidirectional.");
        }
        return reverse ? _reverse![layer] : _forward[layer];
    }
}
