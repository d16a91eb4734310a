namespace Rnn.Fast.Reference;

/// <summary>One subnormal-safety check of one kernel: a state decaying in silence through one path.</summary>
/// <param name="Kernel">The kernel.</param>
/// <param name="Case">Cell, size and path, e.g. "LSTM H=16, Step, 1 stream".</param>
/// <param name="SubnormalValues">Subnormal h or c values seen over the decay (0 to pass).</param>
/// <param name="EndedAtZero">Whether the state had decayed to exactly 0 at the end (it must: the flush ends a decay).</param>
public sealed record SubnormalCheckResult(string Kernel, string Case, int SubnormalValues, bool EndedAtZero)
{
    /// <summary>No subnormal value and a state at exactly 0 at the end.</summary>
    public bool Passed => SubnormalValues == 0 && EndedAtZero;
}

/// <summary>
/// Does a kernel keep subnormals out of the state on this machine? x86 cores run each multiply of a subnormal as a
/// microcode assist (on Intel, 19–42× a step's time), so the engine flushes its state below 2^-63 to zero. This drives
/// a state from ±0.9 down through silence (zero input, zero biases, contracting weights) on each path that steps it (a
/// one-stream Step, a multi-stream Step, Run of 9 streams, at a size for the latency kernels and one for the stream
/// tiles), for LSTM, GRU and Elman (tanh and ReLU), and counts subnormal h and c values after every step. Shared by
/// <c>rnnfast verify</c> and the tests.
/// </summary>
public static class SubnormalCheck
{
    private const int Steps = 1500;

    /// <summary>Every check for each of <paramref name="kernels"/>, on weights of <paramref name="precision"/> (reduced
    /// ones through the bf16/int8 products, whatever the size).</summary>
    public static IReadOnlyList<SubnormalCheckResult> Run(IReadOnlyList<string> kernels, WeightPrecision precision = WeightPrecision.Float32)
    {
        var results = new List<SubnormalCheckResult>();
        foreach (string kernel in kernels)
        {
            foreach ((CellType cell, Activation f) in (ReadOnlySpan<(CellType, Activation)>)
                [(CellType.Lstm, Activation.Tanh), (CellType.Gru, Activation.Tanh), (CellType.Elman, Activation.Tanh), (CellType.Elman, Activation.Relu)])
            {
                foreach (int hidden in (ReadOnlySpan<int>)[16, 128])
                {
                    RnnModel model = RnnModel.Create([DecayingLayer(cell, f, hidden, seed: hidden + (int)cell)], kernel: kernel);
                    if (precision != WeightPrecision.Float32)
                    {
                        model = model.WithPrecision(precision, ReducedProducts.Always);
                    }
                    string name = $"{(cell == CellType.Elman ? $"Elman {f}" : cell.ToString().ToUpperInvariant())} H={hidden}";
                    foreach (int batch in (ReadOnlySpan<int>)[1, 3])
                    {
                        results.Add(Stepped(model, kernel, $"{name}, Step, {batch} stream{(batch > 1 ? "s" : "")}", batch));
                    }
                    results.Add(RunOnce(model, kernel, $"{name}, Run, 9 streams", 9));
                }
            }
        }
        return results;
    }

    /// <summary>A layer whose state decays to 0 under zero input: zero biases, weights uniform in ±0.3·√(16/H).</summary>
    public static LayerWeights DecayingLayer(CellType cell, Activation nonlinearity, int hidden, int seed)
    {
        var random = new Random(seed);
        int gates = LayerWeights.GatesOf(cell) * hidden;
        float scale = 0.3f * MathF.Sqrt(16f / hidden);
        float[] Uniform(int n) => [.. Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 2 - 1) * scale)];
        float[] wih = Uniform(gates), whh = Uniform(gates * hidden), bias = new float[gates];
        return cell switch
        {
            CellType.Lstm => LayerWeights.Lstm(1, hidden, wih, whh, bias, bias),
            CellType.Gru => LayerWeights.Gru(1, hidden, wih, whh, bias, bias),
            _ => LayerWeights.Elman(1, hidden, nonlinearity, wih, whh, bias, bias),
        };
    }

    private static SubnormalCheckResult Stepped(RnnModel model, string kernel, string name, int batch)
    {
        RnnState state = Charged(model, batch);
        float[] input = new float[batch], output = new float[batch * model.OutputSize];
        int subnormal = 0;
        for (int t = 0; t < Steps; t++)
        {
            model.Step(input, state, output);
            subnormal += CountSubnormal(state);
        }
        return new SubnormalCheckResult(kernel, name, subnormal, AllZero(state));
    }

    private static SubnormalCheckResult RunOnce(RnnModel model, string kernel, string name, int batch)
    {
        RnnState state = Charged(model, batch);
        float[] outputs = new float[Steps * batch * model.OutputSize];
        model.Run(new float[Steps * batch], Steps, state, outputs);
        return new SubnormalCheckResult(kernel, name, outputs.Count(float.IsSubnormal) + CountSubnormal(state), AllZero(state));
    }

    // Every stream starts away from 0, differently, so its decay crosses the whole range down to 2^-63.
    private static RnnState Charged(RnnModel model, int batch)
    {
        RnnState state = model.CreateState(batch);
        bool lstm = model.Layers[0].Cell == CellType.Lstm;
        for (int s = 0; s < batch; s++)
        {
            Span<float> h = state.Hidden(0, s);
            for (int k = 0; k < h.Length; k++)
            {
                h[k] = 0.9f * MathF.Sin(1 + s + 0.7f * k);
                if (lstm)
                {
                    state.Cell(0, s)[k] = 1.5f * MathF.Cos(2 + s + 0.3f * k);
                }
            }
        }
        return state;
    }

    private static int CountSubnormal(RnnState state)
    {
        int count = 0;
        bool lstm = state.Model.Layers[0].Cell == CellType.Lstm;
        for (int s = 0; s < state.Batch; s++)
        {
            foreach (float v in state.Hidden(0, s))
            {
                count += float.IsSubnormal(v) ? 1 : 0;
            }
            if (lstm)
            {
                foreach (float v in state.Cell(0, s))
                {
                    count += float.IsSubnormal(v) ? 1 : 0;
                }
            }
        }
        return count;
    }

    private static bool AllZero(RnnState state)
    {
        bool lstm = state.Model.Layers[0].Cell == CellType.Lstm;
        for (int s = 0; s < state.Batch; s++)
        {
            if (state.Hidden(0, s).IndexOfAnyExcept(0f) >= 0 || (lstm && state.Cell(0, s).IndexOfAnyExcept(0f) >= 0))
            {
                return false;
            }
        }
        return true;
    }
}
