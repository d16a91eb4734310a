namespace Rnn.Fast.Baselines;

/// <summary>
/// The GRU step most people write first (PyTorch nn.GRU semantics): plain float dot products per gate row
/// over PyTorch-layout weights, then <see cref="MathF"/> activations. The baseline of the GRU benchmarks.
/// </summary>
public sealed class NaiveGru
{
    private readonly int _input;
    private readonly int _hidden;
    private readonly float[] _weightIh; // [3H, I], gate rows r, z, n
    private readonly float[] _weightHh; // [3H, H]
    private readonly float[] _biasIh;   // [3H]
    private readonly float[] _biasHh;   // [3H]
    private readonly float[] _inputPart;  // [3H] W_ih x + b_ih
    private readonly float[] _hiddenPart; // [3H] W_hh h + b_hh
    private readonly float[] _h;          // [H]

    /// <summary>Copies one GRU layer in PyTorch layout.</summary>
    public NaiveGru(LayerWeights layer)
    {
        ArgumentNullException.ThrowIfNull(layer);
        if (layer.Cell != CellType.Gru)
        {
            throw new ArgumentException("Not a GRU layer.", nameof(layer));
        }
        _input = layer.InputSize;
        _hidden = layer.HiddenSize;
        _weightIh = layer.WeightIh.ToArray();
        _weightHh = layer.WeightHh.ToArray();
        _biasIh = layer.BiasIh.ToArray();
        _biasHh = layer.BiasHh.ToArray();
        _inputPart = new float[3 * _hidden];
        _hiddenPart = new float[3 * _hidden];
        _h = new float[_hidden];
    }

    /// <summary>One step: <paramref name="x"/> is <c>[I]</c>, <paramref name="y"/> is <c>[H]</c>.</summary>
    public void Step(ReadOnlySpan<float> x, Span<float> y)
    {
        int n = _hidden;
        for (int r = 0; r < 3 * n; r++)
        {
            float xs = _biasIh[r], hs = _biasHh[r];
            for (int j = 0; j < _input; j++)
            {
                xs += _weightIh[r * _input + j] * x[j];
            }
            for (int j = 0; j < n; j++)
            {
                hs += _weightHh[r * n + j] * _h[j];
            }
            _inputPart[r] = xs;
            _hiddenPart[r] = hs;
        }
        for (int j = 0; j < n; j++)
        {
            float r = Sigmoid(_inputPart[j] + _hiddenPart[j]);
            float z = Sigmoid(_inputPart[n + j] + _hiddenPart[n + j]);
            float candidate = MathF.Tanh(_inputPart[2 * n + j] + r * _hiddenPart[2 * n + j]);
            _h[j] = (1 - z) * candidate + z * _h[j];
        }
        _h.AsSpan().CopyTo(y);
    }

    /// <summary>Sets h to zero.</summary>
    public void Reset() => Array.Clear(_h);

    private static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));
}
