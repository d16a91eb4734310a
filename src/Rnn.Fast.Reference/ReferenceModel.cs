namespace Rnn.Fast.Reference;

/// <summary>
/// The slow twin of <see cref="RnnModel"/>: plain loops over PyTorch-layout weights, double precision,
/// no packing, no SIMD. Each formula is written exactly as documented. <see cref="Step"/> walks one step
/// through all layers; <see cref="Run"/> walks each layer over the whole sequence (as PyTorch does), so
/// the two are independent routes to the same numbers.
/// </summary>
public sealed class ReferenceModel
{
    public ReferenceModel(IReadOnlyList<LayerWeights> layers, HeadWeights? head, RnnModelOptions? options = null)
    {
        Layers = layers;
        Head = head;
        Options = options ?? new RnnModelOptions();
    }

    public ReferenceModel(RnnModel model) : this(model.Layers, model.Head, model.Options)
    {
    }

    public IReadOnlyList<LayerWeights> Layers { get; }
    public HeadWeights? Head { get; }
    public RnnModelOptions Options { get; }
    public IReadOnlyList<LayerWeights>? Reverse => Options.ReverseLayers;
    public int InputSize => Layers[0].InputSize;
    public int OutputSize => Head?.OutputSize ?? (Reverse is null ? 1 : 2) * Layers[^1].HiddenSize;

    /// <summary>A state at the model's initial state, for one stream.</summary>
    public ReferenceState CreateState() => new(Layers, Options);

    /// <summary>One step of one stream (unidirectional models): updates <paramref name="state"/>, returns y(t).</summary>
    public double[] Step(ReadOnlySpan<float> input, ReferenceState state)
    {
        if (Reverse is not null)
        {
            throw new InvalidOperationException("Bidirectional models have no single step.");
        }
        double[] x = ToDouble(input);
        for (int l = 0; l < Layers.Count; l++)
        {
            x = CellStep(Layers[l], x, state.H[l], state.C[l]);
            state.H[l] = x;
        }
        return Output(x, input);
    }

    /// <summary>
    /// Runs a time-major batch <c>[T, B, I]</c> from the given states (one per stream; updated to the final
    /// states, PyTorch's h_n/c_n) and returns <c>[T, B, O]</c>.
    /// </summary>
    public double[] Run(ReadOnlySpan<float> inputs, int steps, ReferenceState[] states)
    {
        int batch = states.Length;
        var outputs = new double[steps * batch * OutputSize];
        for (int b = 0; b < batch; b++)
        {
            // Layer by layer over the whole sequence of one stream.
            var sequence = new double[steps][];
            for (int t = 0; t < steps; t++)
            {
                sequence[t] = ToDouble(inputs.Slice((t * batch + b) * InputSize, InputSize));
            }
            for (int l = 0; l < Layers.Count; l++)
            {
                var forward = new double[steps][];
                for (int t = 0; t < steps; t++)
                {
                    forward[t] = CellStep(Layers[l], sequence[t], states[b].H[l], states[b].C[l]);
                    states[b].H[l] = forward[t];
                }
                if (Reverse is null)
                {
                    sequence = forward;
                    continue;
                }
                var backward = new double[steps][];
                for (int t = steps - 1; t >= 0; t--)
                {
                    backward[t] = CellStep(Reverse[l], sequence[t], states[b].ReverseH[l], states[b].ReverseC[l]);
                    states[b].ReverseH[l] = backward[t];
                }
                for (int t = 0; t < steps; t++)
                {
                    sequence[t] = [.. forward[t], .. backward[t]];
                }
            }
            for (int t = 0; t < steps; t++)
            {
                double[] y = Output(sequence[t], inputs.Slice((t * batch + b) * InputSize, InputSize));
                y.CopyTo(outputs, (t * batch + b) * OutputSize);
            }
        }
        return outputs;
    }

    private double[] Output(double[] h, ReadOnlySpan<float> input)
    {
        double[] y = Head is null ? (double[])h.Clone() : Dense(Head, h);
        for (int j = 0; j < Options.Skip; j++)
        {
            y[j] += input[j];
        }
        return y;
    }

    private static double[] ToDouble(ReadOnlySpan<float> values)
    {
        var x = new double[values.Length];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = values[i];
        }
        return x;
    }

    /// <summary>One step of one cell; c (LSTM only) is updated in place; returns h'.</summary>
    public static double[] CellStep(LayerWeights layer, double[] x, double[] h, double[]? c) => layer.Cell switch
    {
        CellType.Lstm => LstmStep(layer, x, h, c!),
        CellType.Gru => GruStep(layer, x, h),
        _ => ElmanStep(layer, x, h),
    };

    /// <summary>W_ih[r, :] x + b_ih[r] for every gate row r.</summary>
    public static double[] InputPart(LayerWeights layer, double[] x)
    {
        int rows = layer.GateCount * layer.HiddenSize;
        var part = new double[rows];
        for (int r = 0; r < rows; r++)
        {
            double sum = layer.BiasIh[r];
            for (int j = 0; j < layer.InputSize; j++)
            {
                sum += (double)layer.WeightIh[r * layer.InputSize + j] * x[j];
            }
            part[r] = sum;
        }
        return part;
    }

    /// <summary>W_hh[r, :] h + b_hh[r] for every gate row r.</summary>
    public static double[] HiddenPart(LayerWeights layer, double[] h)
    {
        int rows = layer.GateCount * layer.HiddenSize;
        var part = new double[rows];
        for (int r = 0; r < rows; r++)
        {
            double sum = layer.BiasHh[r];
            for (int j = 0; j < layer.HiddenSize; j++)
            {
                sum += (double)layer.WeightHh[r * layer.HiddenSize + j] * h[j];
            }
            part[r] = sum;
        }
        return part;
    }

    /// <summary>pre = (W_ih x + b_ih) + (W_hh h + b_hh) for every gate row.</summary>
    public static double[] PreActivations(LayerWeights layer, double[] x, double[] h)
    {
        double[] pre = InputPart(layer, x);
        double[] hidden = HiddenPart(layer, h);
        for (int r = 0; r < pre.Length; r++)
        {
            pre[r] += hidden[r];
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

    /// <summary>
    /// PyTorch nn.GRU: rows r, z, n; r = σ(xr + hr), z = σ(xz + hz), n = tanh(xn + r·hn), h' = (1 − z)·n + z·h,
    /// where x* = W_i* x + b_i* and h* = W_h* h + b_h*.
    /// </summary>
    public static double[] GruStep(LayerWeights layer, double[] x, double[] h)
    {
        int n = layer.HiddenSize;
        double[] xp = InputPart(layer, x);
        double[] hp = HiddenPart(layer, h);
        var hNext = new double[n];
        for (int j = 0; j < n; j++)
        {
            double r = ReferenceMath.Sigmoid(xp[j] + hp[j]);
            double z = ReferenceMath.Sigmoid(xp[n + j] + hp[n + j]);
            double candidate = Math.Tanh(xp[2 * n + j] + r * hp[2 * n + j]);
            hNext[j] = (1 - z) * candidate + z * h[j];
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

/// <summary>h (and c for LSTM layers) of every layer and direction, for one stream, in double precision.</summary>
public sealed class ReferenceState
{
    public ReferenceState(IReadOnlyList<LayerWeights> layers, RnnModelOptions? options = null)
    {
        H = [.. layers.Select((l, i) => options?.InitialHidden?[i] is { } h0 ? [.. h0.Select(v => (double)v)] : new double[l.HiddenSize])];
        C = [.. layers.Select((l, i) => l.Cell != CellType.Lstm ? null
            : options?.InitialCell?[i] is { } c0 ? [.. c0.Select(v => (double)v)] : new double[l.HiddenSize])];
        ReverseH = [.. layers.Select(l => new double[l.HiddenSize])];
        ReverseC = [.. layers.Select(l => l.Cell == CellType.Lstm ? new double[l.HiddenSize] : null)];
    }

    public double[][] H { get; }
    public double[]?[] C { get; }
    public double[][] ReverseH { get; }
    public double[]?[] ReverseC { get; }
}
