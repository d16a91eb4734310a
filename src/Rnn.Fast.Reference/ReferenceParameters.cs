using System.Globalization;

namespace Rnn.Fast.Reference;

/// <summary>
/// Double-precision copies of every trainable tensor of a unidirectional stack (and optional head) in
/// PyTorch layout, so finite differences can perturb them in place. Per layer l (G = 1 Elman, 3 GRU rows
/// r, z, n, 4 LSTM rows i, f, g, o): <c>WeightIh[l] [G*H, I]</c>, <c>WeightHh[l] [G*H, H]</c>,
/// <c>BiasIh[l] [G*H]</c>, <c>BiasHh[l] [G*H]</c>; head: <c>HeadWeight [O, H]</c>, <c>HeadBias [O]</c>.
/// </summary>
public sealed class ReferenceParameters
{
    /// <summary>Copies float weights to double.</summary>
    /// <param name="layers">The recurrent layers, first to last; layer k+1's I must equal layer k's H.</param>
    /// <param name="head">The dense head, or null when the output is the last layer's h.</param>
    /// <exception cref="ArgumentException">No layers, or the sizes do not chain.</exception>
    public ReferenceParameters(IReadOnlyList<LayerWeights> layers, HeadWeights? head)
    {
        ArgumentNullException.ThrowIfNull(layers);
        if (layers.Count == 0)
        {
            throw new ArgumentException("A model needs at least one layer.", nameof(layers));
        }
        for (int l = 1; l < layers.Count; l++)
        {
            if (layers[l].InputSize != layers[l - 1].HiddenSize)
            {
                throw new ArgumentException($"Layer {l} takes {layers[l].InputSize} inputs but layer {l - 1} has H = {layers[l - 1].HiddenSize}.", nameof(layers));
            }
        }
        if (head is not null && head.InputSize != layers[^1].HiddenSize)
        {
            throw new ArgumentException($"The head takes {head.InputSize} inputs but the last layer has H = {layers[^1].HiddenSize}.", nameof(head));
        }

        Cells = [.. layers.Select(l => l.Cell)];
        Nonlinearities = [.. layers.Select(l => l.Nonlinearity)];
        InputSizes = [.. layers.Select(l => l.InputSize)];
        HiddenSizes = [.. layers.Select(l => l.HiddenSize)];
        WeightIh = [.. layers.Select(l => ToDouble(l.WeightIh))];
        WeightHh = [.. layers.Select(l => ToDouble(l.WeightHh))];
        BiasIh = [.. layers.Select(l => ToDouble(l.BiasIh))];
        BiasHh = [.. layers.Select(l => ToDouble(l.BiasHh))];
        if (head is not null)
        {
            HeadWeight = ToDouble(head.Weight);
            HeadBias = ToDouble(head.Bias);
            HeadActivation = head.Activation;
            OutputSize = head.OutputSize;
        }
        else
        {
            // No head: y = h of the last layer, which behaves like an identity head for the losses.
            HeadActivation = Activation.Identity;
            OutputSize = layers[^1].HiddenSize;
        }
    }

    /// <summary>Cell type per layer.</summary>
    public IReadOnlyList<CellType> Cells { get; }

    /// <summary>Elman f per layer (tanh for LSTM and GRU, where it is unused).</summary>
    public IReadOnlyList<Activation> Nonlinearities { get; }

    /// <summary>I per layer.</summary>
    public int[] InputSizes { get; }

    /// <summary>H per layer.</summary>
    public int[] HiddenSizes { get; }

    /// <summary>Per layer, <c>[G*H, I]</c> row-major.</summary>
    public double[][] WeightIh { get; }

    /// <summary>Per layer, <c>[G*H, H]</c> row-major.</summary>
    public double[][] WeightHh { get; }

    /// <summary>Per layer, <c>[G*H]</c>.</summary>
    public double[][] BiasIh { get; }

    /// <summary>Per layer, <c>[G*H]</c>.</summary>
    public double[][] BiasHh { get; }

    /// <summary><c>[O, H]</c> row-major, or null without a head.</summary>
    public double[]? HeadWeight { get; }

    /// <summary><c>[O]</c>, or null without a head.</summary>
    public double[]? HeadBias { get; }

    /// <summary>g of the head; <see cref="Activation.Identity"/> without one.</summary>
    public Activation HeadActivation { get; }

    /// <summary>O: the head's outputs, or the last layer's H without a head.</summary>
    public int OutputSize { get; }

    /// <summary>Number of layers.</summary>
    public int LayerCount => Cells.Count;

    /// <summary>True when there is a dense head.</summary>
    public bool HasHead => HeadWeight is not null;

    /// <summary>Gate rows per hidden unit of layer <paramref name="layer"/>.</summary>
    public int Gates(int layer) => LayerWeights.GatesOf(Cells[layer]);

    /// <summary>
    /// Every tensor by its PyTorch name, in a fixed order: per layer <c>weight_ih_l{k}</c>,
    /// <c>weight_hh_l{k}</c>, <c>bias_ih_l{k}</c>, <c>bias_hh_l{k}</c>; then <c>head.weight</c>, <c>head.bias</c>.
    /// The arrays are the live ones: writing to them changes the parameters.
    /// </summary>
    public IEnumerable<(string Name, double[] Values)> Tensors() => Enumerate(WeightIh, WeightHh, BiasIh, BiasHh, HeadWeight, HeadBias);

    /// <summary>The shared naming of <see cref="Tensors"/> and <see cref="ReferenceGradients.Tensors"/>.</summary>
    internal static IEnumerable<(string Name, double[] Values)> Enumerate(double[][] weightIh, double[][] weightHh,
        double[][] biasIh, double[][] biasHh, double[]? headWeight, double[]? headBias)
    {
        for (int l = 0; l < weightIh.Length; l++)
        {
            yield return (Name("weight_ih_l", l), weightIh[l]);
            yield return (Name("weight_hh_l", l), weightHh[l]);
            yield return (Name("bias_ih_l", l), biasIh[l]);
            yield return (Name("bias_hh_l", l), biasHh[l]);
        }
        if (headWeight is not null)
        {
            yield return ("head.weight", headWeight);
            yield return ("head.bias", headBias!);
        }
    }

    private static string Name(string prefix, int layer) => prefix + layer.ToString(CultureInfo.InvariantCulture);

    private static double[] ToDouble(ReadOnlySpan<float> values)
    {
        var result = new double[values.Length];
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = values[i];
        }
        return result;
    }
}
