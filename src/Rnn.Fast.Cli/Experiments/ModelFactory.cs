using Rnn.Fast.Training;

namespace Rnn.Fast.Cli.Experiments;

/// <summary>Seeded models for the experiments: Elman with a chosen spectral radius, LSTM with a chosen forget-gate bias.</summary>
internal static class ModelFactory
{
    /// <summary>
    /// A one-layer Elman RNN with a linear head, PyTorch's default initialisation, and <c>weight_hh</c>
    /// rescaled to spectral radius <paramref name="spectralRadius"/> (null keeps the default, ρ ≈ 1/√3).
    /// </summary>
    public static RnnModel Elman(int inputSize, int hiddenSize, Activation nonlinearity, int outputSize, int seed,
        double? spectralRadius = null, string? kernel = null)
    {
        var random = new Random(seed);
        LayerWeights initial = LayerWeights.Random(CellType.Elman, inputSize, hiddenSize, random, nonlinearity);
        float[] weightHh = initial.WeightHh.ToArray();
        if (spectralRadius is { } rho)
        {
            SpectralRadius.ScaleTo(weightHh, hiddenSize, rho, seed);
        }
        LayerWeights layer = LayerWeights.Elman(inputSize, hiddenSize, nonlinearity, initial.WeightIh, weightHh, initial.BiasIh, initial.BiasHh);
        return RnnModel.Create([layer], HeadWeights.Random(hiddenSize, outputSize, random), kernel);
    }

    /// <summary>
    /// A one-layer LSTM with a linear head, PyTorch's default initialisation; with <paramref name="forgetBias"/>
    /// the forget gate's total bias (bias_ih + bias_hh, rows H..2H) is set to that value instead (the
    /// "forget bias 1" of Gers et al. 2000 and Jozefowicz et al. 2015).
    /// </summary>
    public static RnnModel Lstm(int inputSize, int hiddenSize, int outputSize, int seed, float? forgetBias = null, string? kernel = null)
    {
        var random = new Random(seed);
        LayerWeights initial = LayerWeights.Random(CellType.Lstm, inputSize, hiddenSize, random);
        float[] biasIh = initial.BiasIh.ToArray();
        float[] biasHh = initial.BiasHh.ToArray();
        if (forgetBias is { } b)
        {
            // PyTorch gate rows: i [0, H), f [H, 2H), g [2H, 3H), o [3H, 4H).
            biasIh.AsSpan(hiddenSize, hiddenSize).Fill(b);
            biasHh.AsSpan(hiddenSize, hiddenSize).Clear();
        }
        LayerWeights layer = LayerWeights.Lstm(inputSize, hiddenSize, initial.WeightIh, initial.WeightHh, biasIh, biasHh);
        return RnnModel.Create([layer], HeadWeights.Random(hiddenSize, outputSize, random), kernel);
    }

    /// <summary>Adam with the learning rate given.</summary>
    public static (TrainableModel Model, Adam Optimizer) Adam(RnnModel model, float learningRate)
    {
        TrainableModel trainable = TrainableModel.From(model);
        return (trainable, new Adam(trainable, learningRate));
    }
}

/// <summary>The spectral radius of a square matrix (largest |eigenvalue|) and rescaling to a chosen one.</summary>
internal static class SpectralRadius
{
    /// <summary>
    /// Estimates ρ(W) of a row-major <c>[n, n]</c> matrix (PyTorch's <c>weight_hh</c>, <c>h' = W h</c>) by power
    /// iteration. A real random matrix's largest eigenvalues are often a complex pair, for which the iterate
    /// rotates instead of converging; its norm still grows by ρ per step on average (Gelfand: ρ = lim ‖Wᵏ‖^(1/k)),
    /// so the estimate is the geometric mean of the per-step growth over the second half of the iterations.
    /// </summary>
    public static double Estimate(ReadOnlySpan<float> weight, int n, int seed = 0, int iterations = 400)
    {
        ArgumentOutOfRangeException.ThrowIfNotEqual(weight.Length, n * n);
        var random = new Random(seed);
        var v = new double[n];
        var next = new double[n];
        for (int i = 0; i < n; i++)
        {
            v[i] = random.NextDouble() * 2 - 1;
        }
        Normalize(v);
        double logSum = 0;
        int counted = 0;
        for (int k = 0; k < iterations; k++)
        {
            for (int r = 0; r < n; r++)
            {
                double sum = 0;
                ReadOnlySpan<float> row = weight.Slice(r * n, n);
                for (int c = 0; c < n; c++)
                {
                    sum += row[c] * v[c];
                }
                next[r] = sum;
            }
            double growth = Normalize(next);
            if (growth == 0)
            {
                return 0; // nilpotent on this start vector
            }
            (v, next) = (next, v);
            if (k >= iterations / 2)
            {
                logSum += Math.Log(growth);
                counted++;
            }
        }
        return Math.Exp(logSum / counted);
    }

    /// <summary>Multiplies <paramref name="weight"/> in place so that its spectral radius becomes <paramref name="target"/>.</summary>
    public static void ScaleTo(Span<float> weight, int n, double target, int seed = 0)
    {
        double current = Estimate(weight, n, seed);
        float scale = (float)(target / current);
        foreach (ref float w in weight)
        {
            w *= scale;
        }
    }

    private static double Normalize(double[] v)
    {
        double norm = Math.Sqrt(v.Sum(x => x * x));
        if (norm > 0)
        {
            for (int i = 0; i < v.Length; i++)
            {
                v[i] /= norm;
            }
        }
        return norm;
    }
}
