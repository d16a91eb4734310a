namespace Rnn.Fast.Reference;

/// <summary>
/// Everything the forward pass of <see cref="ReferenceBptt"/> computed: the outputs, the final states, and
/// per layer, step and stream the values backpropagation needs (inputs, previous states, gate values).
/// </summary>
public sealed class ReferenceTrace
{
    internal ReferenceTrace(ReferenceParameters p, int steps, int batch)
    {
        Steps = steps;
        Batch = batch;
        Layers = [.. Enumerable.Range(0, p.LayerCount).Select(l => new LayerTrace(steps, batch))];
        HeadPre = Grid(steps, batch);
        Outputs = new double[steps * batch * p.OutputSize];
        FinalHidden = new double[p.LayerCount][];
        FinalCell = new double[p.LayerCount][];
    }

    /// <summary>T.</summary>
    public int Steps { get; }

    /// <summary>B.</summary>
    public int Batch { get; }

    /// <summary>y, <c>[T, B, O]</c>.</summary>
    public double[] Outputs { get; }

    /// <summary>h after the last step, per layer <c>[B, H]</c> (PyTorch's h_n).</summary>
    public double[][] FinalHidden { get; }

    /// <summary>c after the last step, per LSTM layer <c>[B, H]</c> (PyTorch's c_n); null for other cells.</summary>
    public double[]?[] FinalCell { get; }

    /// <summary>
    /// The smallest |pre-activation| fed to a ReLU (Elman f or head g), or +∞ if there is none. ReLU's
    /// derivative jumps at 0, so finite differences are only meaningful when this is well above the step.
    /// </summary>
    public double ClosestReluKink { get; internal set; } = double.PositiveInfinity;

    internal LayerTrace[] Layers { get; }

    /// <summary>W h + b of the head before g, <c>[t][b] → [O]</c> (unused without a head).</summary>
    internal double[][][] HeadPre { get; }

    internal static double[][][] Grid(int steps, int batch)
    {
        var grid = new double[steps][][];
        for (int t = 0; t < steps; t++)
        {
            grid[t] = new double[batch][];
        }
        return grid;
    }
}

/// <summary>
/// One layer's cache, indexed <c>[t][b]</c>: what went in (x, h(t−1), c(t−1)), what the gates were, what came out.
/// </summary>
internal sealed class LayerTrace(int steps, int batch)
{
    /// <summary>x(t), <c>[I]</c>: the model input for layer 0, else the layer below's h(t).</summary>
    public double[][][] X { get; } = ReferenceTrace.Grid(steps, batch);

    /// <summary>h(t−1), <c>[H]</c> (h0 at t = 0).</summary>
    public double[][][] HPrev { get; } = ReferenceTrace.Grid(steps, batch);

    /// <summary>h(t), <c>[H]</c>.</summary>
    public double[][][] H { get; } = ReferenceTrace.Grid(steps, batch);

    /// <summary>Elman: pre-activations <c>[H]</c> (W_ih x + b_ih + W_hh h + b_hh).</summary>
    public double[][][] Pre { get; } = ReferenceTrace.Grid(steps, batch);

    /// <summary>LSTM: activated gates <c>[4H]</c> i, f, g, o. GRU: activated gates <c>[3H]</c> r, z, n.</summary>
    public double[][][] Gates { get; } = ReferenceTrace.Grid(steps, batch);

    /// <summary>LSTM: c(t−1), <c>[H]</c>.</summary>
    public double[][][] CPrev { get; } = ReferenceTrace.Grid(steps, batch);

    /// <summary>LSTM: c(t), <c>[H]</c>.</summary>
    public double[][][] C { get; } = ReferenceTrace.Grid(steps, batch);

    /// <summary>GRU: W_hn h(t−1) + b_hn, <c>[H]</c>, the part r scales.</summary>
    public double[][][] HiddenN { get; } = ReferenceTrace.Grid(steps, batch);
}
