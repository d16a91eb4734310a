namespace Rnn.Fast.Internals;

/// <summary>
/// The recurrent state of one direction of one layer for <see cref="Batch"/> streams: h, double-buffered, and c for
/// an LSTM. Rows are <c>[Batch, Stride]</c>, Stride the kernel-padded hidden size. This type owns that layout:
/// nothing outside it computes offsets into its buffers.
/// </summary>
/// <remarks>
/// A streaming step writes the new h into <see cref="Spare"/> (every block reads all of the old h) and then flips
/// which half is current: an integer, so a step stores no array references (no GC write barrier, no covariance
/// check) however many layers there are.
/// </remarks>
internal sealed class LayerState
{
    private readonly float[] _h;   // [2, Batch, Stride]: the current half and the spare half
    private readonly float[] _c;   // [Batch, Stride]; empty unless LSTM
    private readonly int _size;    // Batch × Stride
    private int _current;          // 0 or 1: which half of _h holds h

    public LayerState(PackedLayer layer, int batch)
    {
        Batch = batch;
        Stride = layer.PaddedHidden;
        HiddenSize = layer.HiddenSize;
        _size = checked(batch * Stride);
        _h = new float[checked(2 * _size)];
        _c = layer.Cell == CellType.Lstm ? new float[_size] : [];
    }

    public int Batch { get; }
    public int Stride { get; }
    public int HiddenSize { get; }
    public bool HasCell => _c.Length != 0;

    /// <summary>h of every stream, <c>[Batch, Stride]</c> (zeros or finite values in the padding).</summary>
    public Span<float> Hidden => _h.AsSpan(_current * _size, _size);

    /// <summary>Where a streaming step writes the next h before <see cref="SwapHidden"/>.</summary>
    public Span<float> Spare => _h.AsSpan((1 - _current) * _size, _size);

    /// <summary>c of every stream, <c>[Batch, Stride]</c>; empty unless LSTM.</summary>
    public Span<float> Cell => _c;

    /// <summary>Makes <see cref="Spare"/> the current h.</summary>
    public void SwapHidden() => _current ^= 1;

    /// <summary>h of one stream, length H.</summary>
    public Span<float> HiddenOf(int stream) => Hidden.Slice(stream * Stride, HiddenSize);

    /// <summary>c of one stream, length H (empty unless LSTM).</summary>
    public Span<float> CellOf(int stream) => HasCell ? _c.AsSpan(stream * Stride, HiddenSize) : default;

    /// <summary>Sets every stream to <paramref name="h0"/> and <paramref name="c0"/> (zeros when null).</summary>
    public void Reset(ReadOnlySpan<float> h0, ReadOnlySpan<float> c0)
    {
        Array.Clear(_h);
        Array.Clear(_c);
        _current = 0;
        for (int b = 0; b < Batch; b++)
        {
            h0.CopyTo(HiddenOf(b));
            if (HasCell)
            {
                c0.CopyTo(CellOf(b));
            }
        }
    }

    /// <summary>Takes h (and c) from the last <see cref="Batch"/> rows a chunk wrote.</summary>
    public void CommitRows(ReadOnlySpan<float> hRows /* [Batch, Stride] */) => hRows.CopyTo(Hidden);

    /// <summary>Copies h and c from a state of the same shape.</summary>
    public void CopyFrom(LayerState other)
    {
        other.Hidden.CopyTo(Hidden);
        other._c.CopyTo(_c);
    }
}
