namespace Rnn.Fast.Baselines;

/// <summary>
/// The Elman step most people write first, and the benchmarks' baseline: PyTorch-layout weights, one
/// plain float dot product per row (bounds-checked array indexing, no SIMD, no packing), then the
/// nonlinearity from <see cref="MathF"/>. It allocates nothing per step.
/// </summary>
public sealed class NaiveElman
{
    private readonly int _input;
    private readonly int _hidden;
    private readonly Activation _nonlinearity;
    private readonly float[] _weightIh; // [H, I]
    private readonly float[] _weightHh; // [H, H]
    private readonly float[] _biasIh;   // [H]
    private readonly float[] _biasHh;   // [H]
    private readonly float[] _pre;      // [H] pre-activations of the current step
    private readonly float[] _h;        // [H]

    /// <summary>Copies one Elman layer in PyTorch layout.</summary>
    public NaiveElman(LayerWeights layer)
    {
        ArgumentNullException.ThrowIfNull(layer);
        if (layer.Cell != CellType.Elman)
        {
            throw new ArgumentException("Not an Elman layer.", nameof(layer));
        }
        _input = layer.InputSize;
        _hidden = layer.HiddenSize;
        _nonlinearity = layer.Nonlinearity;
        _weightIh = layer.WeightIh.ToArray();
        _weightHh = layer.WeightHh.ToArray();
        _biasIh = layer.BiasIh.ToArray();
        _biasHh = layer.BiasHh.ToArray();
        _pre = new float[_hidden];
        _h = new float[_hidden];
    }

    /// <summary>One step: <paramref name="x"/> is <c>[I]</c>, <paramref name="y"/> is <c>[H]</c>.</summary>
    public void Step(ReadOnlySpan<float> x, Span<float> y)
    {
        int n = _hidden;
        for (int r = 0; r < n; r++)
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
            _pre[r] = sum;
        }
        for (int j = 0; j < n; j++)
        {
            _h[j] = _nonlinearity switch
            {
                Activation.Tanh => MathF.Tanh(_pre[j]),
                Activation.Relu => MathF.Max(_pre[j], 0f),
                Activation.Sigmoid => 1f / (1f + MathF.Exp(-_pre[j])),
                _ => _pre[j],
            };
        }
        _h.AsSpan().CopyTo(y);
    }

    /// <summary>Sets h to zero.</summary>
    public void Reset() => Array.Clear(_h);
}
