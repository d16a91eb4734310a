namespace Rnn.Fast.Reference;

/// <summary>
/// The slow twin of <see cref="RnnModel"/>: plain loops over PyTorch-layout weights, double precision,
/// one step at a time, no packing, no SIMD. Each formula is written exactly as documented.
/// </summary>
public sealed class ReferenceModel
{
    public ReferenceModel(IReadOnlyList<LayerWeights> layers, HeadWeights? head)
    {
        Layers = layers;
        Head = head;
    }

    public ReferenceModel(RnnModel model) : this(model.Layers, model.Head)
    {
    }

    public IReadOnlyList<LayerWeights> Layers { get; }
    public HeadWeights? Head { get; }
    public int InputSize => Layers[0].InputSize;
    public int OutputSize => Head?.OutputSize ?? Layers[^1].HiddenSize;

    /// <summary>A zero state: h (and c) per layer, for one stream.</summary>
    public ReferenceState CreateState() => new(Layers);

    /// <summary>One step of one stream: updates <paramref name="state"/>, returns y(t).</summary>
    public double[] Step(ReadOnlySpan<float> input, ReferenceState state)
    {
        double[] x = new double[input.Length];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = input[i];
        }
        for (int l = 0; l < Layers.Count; l++)
        {
            LayerWeights layer = Layers[l];
            x = layer.Cell == CellType.Lstm
                ? LstmStep(layer, x, state.H[l], state.C[l]!)
                : ElmanStep(layer, x, state.H[l]);
            state.H[l] = x;
        }
        if (Head is null)
        {
            return (double[])x.Clone();
        }
        return Dense(Head, x);
    }

    /// <summary>
    /// Runs a time-major batch <c>[T, B, I]</c> from the given states (one per stream; updated) and returns <c>[T, B, O]</c>.
    /// </summary>
    public double[] Run(ReadOnlySpan<float> inputs, int steps, ReferenceState[] states)
    {
        int batch = states.Length;
        double[] outputs = new double[steps * batch * OutputSize];
        for (int t = 0; t < steps; t++)
        {
            for (int b = 0; b < batch; b++)
            {
                double[] y = Step(inputs.Slice((t * batch + b) * InputSize, InputSize), states[b]);
                y.CopyTo(outputs, (t * batch + b) * OutputSize);
            }
        }
        return outputs;
    }

    /// <summary>pre[r] = b_ih[r] + b_hh[r] + Σ_j W_ih[r, j] x[j] + Σ_j W_hh[r, j] h[j] for every gate row r.</summary>
    public static double[] PreActivations(LayerWeights layer, double[] x, double[] h)
    {
        int rows = layer.GateCount * layer.HiddenSize;
        var pre = new double[rows];
        for (int r = 0; r < rows; r++)
        {
            double sum = (double)layer.BiasIh[r] + layer.BiasHh[r];
            for (int j = 0; j < layer.InputSize; j++)
            {
                sum += (double)layer.WeightIh[r * layer.InputSize + j] * x[j];
            }
            for (int j = 0; j < layer.HiddenSize; j++)
            {
                sum += (double)layer.WeightHh[r * layer.HiddenSize + j] * h[j];
            }
            pre[r] = sum;
        }
        return pre;
    }

    /// <summary>h' = f(pre).</summary>
    public static double[] ElmanStep(LayerWeights layer, double[] x, double[] h)
    {
        double[] pre = PreActivations(layer, x, h);
        for (int r = 0; r < pre.Length; r++)
        {
            pre[r] = ReferenceMath.Apply(layer.Nonlinearity, pre[r]);
        }
        return pre;
    }

    /// <summary>PyTorch nn.LSTM: gates i, f, g, o in that row order; c updated in place; returns h'.</summary>
    public static double[] LstmStep(LayerWeights layer, double[] x, double[] h, double[] c)
    {
        int n = layer.HiddenSize;
        double[] pre = PreActivations(layer, x, h);
        var hNext = new double[n];
        for (int j = 0; j < n; j++)
        {
            double i = ReferenceMath.Sigmoid(pre[j]);
            double f = ReferenceMath.Sigmoid(pre[n + j]);
            double g = Math.Tanh(pre[2 * n + j]);
            double o = ReferenceMath.Sigmoid(pre[3 * n + j]);
            c[j] = f * c[j] + i * g;
            hNext[j] = o * Math.Tanh(c[j]);
        }
        return hNext;
    }

    /// <summary>y = g(W h + b).</summary>
    public static double[] Dense(HeadWeights head, double[] h)
    {
        var y = new double[head.OutputSize];
        for (int o = 0; o < y.Length; o++)
        {
            double sum = head.Bias[o];
            for (int j = 0; j < head.InputSize; j++)
            {
                sum += (double)head.Weight[o * head.InputSize + j] * h[j];
            }
            y[o] = sum;
        }
        ReferenceMath.Apply(head.Activation, y);
        return y;
    }
}

/// <summary>h (and c for LSTM layers) of every layer, for one stream, in double precision.</summary>
public sealed class ReferenceState
{
    public ReferenceState(IReadOnlyList<LayerWeights> layers)
    {
        H = [.. layers.Select(l => new double[l.HiddenSize])];
        C = [.. layers.Select(l => l.Cell == CellType.Lstm ? new double[l.HiddenSize] : null)];
    }

    public double[][] H { get; }
    public double[]?[] C { get; }
}
