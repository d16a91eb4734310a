namespace Rnn.Fast.Reference;

/// <summary>
/// The loss and its gradient with respect to every parameter (PyTorch layout, same shapes as
/// <see cref="ReferenceParameters"/>), the inputs and the initial states, from <see cref="ReferenceBptt.Compute"/>.
/// </summary>
public sealed class ReferenceGradients
{
    /// <summary>All zeros, shaped for <paramref name="p"/> and a run of <paramref name="steps"/> × <paramref name="batch"/>.</summary>
    public ReferenceGradients(ReferenceParameters p, int steps, int batch)
    {
        ArgumentNullException.ThrowIfNull(p);
        WeightIh = [.. p.WeightIh.Select(w => new double[w.Length])];
        WeightHh = [.. p.WeightHh.Select(w => new double[w.Length])];
        BiasIh = [.. p.BiasIh.Select(w => new double[w.Length])];
        BiasHh = [.. p.BiasHh.Select(w => new double[w.Length])];
        HeadWeight = p.HeadWeight is null ? null : new double[p.HeadWeight.Length];
        HeadBias = p.HeadBias is null ? null : new double[p.HeadBias.Length];
        Inputs = new double[steps * batch * p.InputSizes[0]];
        InitialHidden = [.. p.HiddenSizes.Select(h => new double[batch * h])];
        InitialCell = [.. Enumerable.Range(0, p.LayerCount).Select(l => p.Cells[l] == CellType.Lstm ? new double[batch * p.HiddenSizes[l]] : null)];
    }

    /// <summary>L.</summary>
    public double Loss { get; set; }

    /// <summary>dL/dW_ih per layer, <c>[G*H, I]</c>.</summary>
    public double[][] WeightIh { get; }

    /// <summary>dL/dW_hh per layer, <c>[G*H, H]</c>.</summary>
    public double[][] WeightHh { get; }

    /// <summary>dL/db_ih per layer, <c>[G*H]</c>.</summary>
    public double[][] BiasIh { get; }

    /// <summary>
    /// dL/db_hh per layer, <c>[G*H]</c>. Equal to dL/db_ih for Elman and LSTM; for GRU the n rows differ,
    /// because b_hn sits inside <c>r ⊙ (W_hn h + b_hn)</c>.
    /// </summary>
    public double[][] BiasHh { get; }

    /// <summary>dL/dW of the head, <c>[O, H]</c>, or null without one.</summary>
    public double[]? HeadWeight { get; }

    /// <summary>dL/db of the head, <c>[O]</c>, or null without one.</summary>
    public double[]? HeadBias { get; }

    /// <summary>dL/dx, <c>[T, B, I]</c>.</summary>
    public double[] Inputs { get; }

    /// <summary>dL/dh0 per layer, <c>[B, H]</c>.</summary>
    public double[][] InitialHidden { get; }

    /// <summary>dL/dc0 per layer, <c>[B, H]</c> for LSTM layers, null for others.</summary>
    public double[]?[] InitialCell { get; }

    /// <summary>The parameter gradients with the names and order of <see cref="ReferenceParameters.Tensors"/>.</summary>
    public IEnumerable<(string Name, double[] Values)> Tensors() =>
        ReferenceParameters.Enumerate(WeightIh, WeightHh, BiasIh, BiasHh, HeadWeight, HeadBias);
}
