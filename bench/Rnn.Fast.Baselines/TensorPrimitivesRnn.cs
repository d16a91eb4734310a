using System.Numerics.Tensors;

namespace Rnn.Fast.Baselines;

/// <summary>
/// The "well-kept library" baseline: one Elman or LSTM layer (and an optional identity head) written the
/// way a careful .NET developer writes it without hand-written intrinsics, from
/// <see cref="TensorPrimitives"/> calls over spans: one <see cref="TensorPrimitives.Dot(ReadOnlySpan{float}, ReadOnlySpan{float})"/>
/// per gate row and input (PyTorch-layout weights, biases pre-summed), then the activations and the cell
/// update as whole-span operations. It allocates nothing per step.
/// </summary>
public sealed class TensorPrimitivesRnn
{
    private readonly CellType _cell;
    private readonly int _input;
    private readonly int _hidden;
    private readonly int _rows;         // G·H
    private readonly float[] _weightIh; // [G·H, I], gate rows i, f, g, o (LSTM)
    private readonly float[] _weightHh; // [G·H, H]
    private readonly float[] _bias;     // [G·H] b_ih + b_hh
    private readonly float[]? _headWeight; // [O, H]
    private readonly float[]? _headBias;   // [O]
    private readonly float[] _gates;    // [G·H] pre-activations of the current step
    private readonly float[] _scratch;  // [H]
    private readonly float[] _h;        // [B, H]
    private readonly float[] _c;        // [B, H] (LSTM)

    /// <summary>Copies one layer (Elman with tanh, or LSTM) and an optional identity head, for <paramref name="batch"/> streams.</summary>
    public TensorPrimitivesRnn(LayerWeights layer, HeadWeights? head = null, int batch = 1)
    {
        ArgumentNullException.ThrowIfNull(layer);
        if (layer.Cell == CellType.Gru || (layer.Cell == CellType.Elman && layer.Nonlinearity != Activation.Tanh))
        {
            throw new ArgumentException("The TensorPrimitives baseline supports LSTM and Elman with tanh.", nameof(layer));
        }
        if (head is not null && head.Activation != Activation.Identity)
        {
            throw new ArgumentException("The TensorPrimitives baseline supports an identity head only.", nameof(head));
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        _cell = layer.Cell;
        _input = layer.InputSize;
        _hidden = layer.HiddenSize;
        _rows = layer.WeightHh.Length / _hidden;
        _weightIh = layer.WeightIh.ToArray();
        _weightHh = layer.WeightHh.ToArray();
        _bias = new float[_rows];
        TensorPrimitives.Add(layer.BiasIh, layer.BiasHh, _bias);
        _headWeight = head?.Weight.ToArray();
        _headBias = head?.Bias.ToArray();
        _gates = new float[_rows];
        _scratch = new float[_hidden];
        _h = new float[batch * _hidden];
        _c = new float[batch * _hidden];
        Batch = batch;
        OutputSize = head?.OutputSize ?? _hidden;
    }

    /// <summary>Number of streams.</summary>
    public int Batch { get; }

    /// <summary>O: the head's outputs, else H.</summary>
    public int OutputSize { get; }

    /// <summary>h of one stream.</summary>
    public ReadOnlySpan<float> Hidden(int stream = 0) => _h.AsSpan(stream * _hidden, _hidden);

    /// <summary>c of one stream (zeros for Elman).</summary>
    public ReadOnlySpan<float> Cell(int stream = 0) => _c.AsSpan(stream * _hidden, _hidden);

    /// <summary>One step of stream 0: <paramref name="x"/> is <c>[I]</c>, <paramref name="y"/> is <c>[O]</c>.</summary>
    public void Step(ReadOnlySpan<float> x, Span<float> y) => StepStream(0, x, y);

    /// <summary>T steps of every stream, time-major: <c>[T, B, I]</c> in, <c>[T, B, O]</c> out.</summary>
    public void Run(ReadOnlySpan<float> inputs, int steps, Span<float> outputs)
    {
        for (int t = 0; t < steps; t++)
        {
            for (int b = 0; b < Batch; b++)
            {
                int row = t * Batch + b;
                StepStream(b, inputs.Slice(row * _input, _input), outputs.Slice(row * OutputSize, OutputSize));
            }
        }
    }

    /// <summary>Sets every h and c to zero.</summary>
    public void Reset()
    {
        Array.Clear(_h);
        Array.Clear(_c);
    }

    private void StepStream(int stream, ReadOnlySpan<float> x /* [I] */, Span<float> y /* [O] */)
    {
        int n = _hidden;
        Span<float> h = _h.AsSpan(stream * n, n);
        Span<float> gates = _gates;
        for (int r = 0; r < _rows; r++)
        {
            gates[r] = _bias[r]
                + TensorPrimitives.Dot(_weightIh.AsSpan(r * _input, _input), x)
                + TensorPrimitives.Dot(_weightHh.AsSpan(r * n, n), h);
        }
        if (_cell == CellType.Elman)
        {
            TensorPrimitives.Tanh(gates, h);
        }
        else
        {
            Span<float> c = _c.AsSpan(stream * n, n);
            Span<float> i = gates[..n], f = gates.Slice(n, n), g = gates.Slice(2 * n, n), o = gates.Slice(3 * n, n);
            TensorPrimitives.Sigmoid(i, i);
            TensorPrimitives.Sigmoid(f, f);
            TensorPrimitives.Tanh(g, g);
            TensorPrimitives.Sigmoid(o, o);
            TensorPrimitives.Multiply(f, c, c);          // c = f⊙c
            TensorPrimitives.MultiplyAdd(i, g, c, c);    // c += i⊙g
            TensorPrimitives.Tanh(c, _scratch);
            TensorPrimitives.Multiply(o, _scratch, h);   // h = o⊙tanh(c)
        }
        if (_headWeight is null || _headBias is null)
        {
            h.CopyTo(y);
            return;
        }
        for (int k = 0; k < y.Length; k++)
        {
            y[k] = _headBias[k] + TensorPrimitives.Dot(_headWeight.AsSpan(k * n, n), h);
        }
    }
}
