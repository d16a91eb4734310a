namespace Rnn.Fast.Baselines;

/// <summary>
/// The LSTM step most people write first, and the benchmarks' baseline: PyTorch-layout weights, one
/// plain float dot product per gate row (bounds-checked array indexing, no SIMD, no packing), then
/// <see cref="MathF"/> activations. It allocates nothing per step, so the comparison is about compute.
/// </summary>
public sealed class NaiveLstm
{
    private readonly int _input;
    private readonly int _hidden;
    private readonly float[] _weightIh; // [4H, I], gate rows i, f, g, o
    private readonly float[] _weightHh; // [4H, H]
    private readonly float[] _biasIh;   // [4H]
    private readonly float[] _biasHh;   // [4H]
    private readonly float[]? _headWeight; // [O, H]
    private readonly float[]? _headBias;   // [O]
    private readonly float[] _gates;    // [4H] pre-activations of the current step
    private readonly float[] _h;        // [H]
    private readonly float[] _c;        // [H]

    /// <summary>Copies one LSTM layer (and an optional identity head) in PyTorch layout.</summary>
    public NaiveLstm(LayerWeights layer, HeadWeights? head = null)
    {
        ArgumentNullException.ThrowIfNull(layer);
        if (layer.Cell != CellType.Lstm)
        {
            throw new ArgumentException("Not an LSTM layer.", nameof(layer));
        }
        if (head is not null && head.Activation != Activation.Identity)
        {
            throw new ArgumentException("The naive baseline supports an identity head only.", nameof(head));
        }
        _input = layer.InputSize;
        _hidden = layer.HiddenSize;
        _weightIh = layer.WeightIh.ToArray();
        _weightHh = layer.WeightHh.ToArray();
        _biasIh = layer.BiasIh.ToArray();
        _biasHh = layer.BiasHh.ToArray();
        _headWeight = head?.Weight.ToArray();
        _headBias = head?.Bias.ToArray();
        _gates = new float[4 * _hidden];
        _h = new float[_hidden];
        _c = new float[_hidden];
        OutputSize = head?.OutputSize ?? _hidden;
    }

    /// <summary>O: the head's outputs, else H.</summary>
    public int OutputSize { get; }

    /// <summary>One step: <paramref name="x"/> is <c>[I]</c>, <paramref name="y"/> is <c>[O]</c>.</summary>
    public void Step(ReadOnlySpan<float> x, Span<float> y)
    {
        int n = _hidden;
        for (int r = 0; r < 4 * n; r++)
        {
            float sum = _biasIh[r] + _biasHh[r];
            for (int j = 0; j < _input; j++)
            {
                sum += _weightIh[r * _input + j] * x[j];
            }
            for (int j = 0; j < n; j++)
            {
                sum += _weightHh[r * n + j] * _h[j];
            }
            _gates[r] = sum;
        }
        // Every gate row above read the old h, so h and c can now be updated in place.
        for (int j = 0; j < n; j++)
        {
            float i = Sigmoid(_gates[j]);
            float f = Sigmoid(_gates[n + j]);
            float g = MathF.Tanh(_gates[2 * n + j]);
            float o = Sigmoid(_gates[3 * n + j]);
            _c[j] = f * _c[j] + i * g;
            _h[j] = o * MathF.Tanh(_c[j]);
        }
        NaiveHead.Write(_h, _headWeight, _headBias, y);
    }

    /// <summary>Sets h and c to zero.</summary>
    public void Reset()
    {
        Array.Clear(_h);
        Array.Clear(_c);
    }

    private static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));
}

/// <summary>The naive identity head <c>y = W h + b</c>, or <c>y = h</c> without one.</summary>
public static class NaiveHead
{
    public static void Write(float[] h /* [H] */, float[]? weight /* [O, H] */, float[]? bias /* [O] */, Span<float> y /* [O] */)
    {
        if (weight is null || bias is null)
        {
            h.AsSpan().CopyTo(y);
            return;
        }
        for (int o = 0; o < y.Length; o++)
        {
            float sum = bias[o];
            for (int j = 0; j < h.Length; j++)
            {
                sum += weight[o * h.Length + j] * h[j];
            }
            y[o] = sum;
        }
    }
}
