using Rnn.Fast.Internals;

namespace Rnn.Fast;

/// <summary>
/// A dense output layer <c>y = g(W h + b)</c> after the last recurrent layer, in PyTorch <c>nn.Linear</c>
/// layout: <c>Weight [O, H]</c> row-major, <c>Bias [O]</c>. Immutable once created.
/// </summary>
public sealed class HeadWeights
{
    private readonly float[] _weight;
    private readonly float[] _bias;

    /// <summary>Creates a head from arrays (copied).</summary>
    /// <param name="inputSize">H of the last recurrent layer.</param>
    /// <param name="outputSize">O, at least 1.</param>
    /// <param name="weight"><c>[O, H]</c> row-major.</param>
    /// <param name="bias"><c>[O]</c>, or empty for none.</param>
    /// <param name="activation">g, any <see cref="Activation"/>.</param>
    /// <exception cref="ArgumentException">A length does not match its shape, or a value is NaN or infinite.</exception>
    public HeadWeights(int inputSize, int outputSize, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Activation activation = Activation.Identity)
    {
        Guard.Positive(inputSize, nameof(inputSize));
        Guard.Positive(outputSize, nameof(outputSize));
        Guard.Length(weight.Length, outputSize * inputSize, $"head weight [{outputSize}, {inputSize}]", nameof(weight));
        if (!bias.IsEmpty)
        {
            Guard.Length(bias.Length, outputSize, $"head bias [{outputSize}] (or empty for none)", nameof(bias));
        }
        if (!Enum.IsDefined(activation))
        {
            throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation.");
        }
        Guard.Finite(weight, "head weight", nameof(weight));
        Guard.Finite(bias, "head bias", nameof(bias));
        InputSize = inputSize;
        OutputSize = outputSize;
        Activation = activation;
        _weight = weight.ToArray();
        _bias = bias.IsEmpty ? new float[outputSize] : bias.ToArray();
    }

    /// <summary>H: features in.</summary>
    public int InputSize { get; }

    /// <summary>O: outputs per step.</summary>
    public int OutputSize { get; }

    /// <summary>g.</summary>
    public Activation Activation { get; }

    /// <summary><c>[O, H]</c> row-major.</summary>
    public ReadOnlySpan<float> Weight => _weight;

    /// <summary><c>[O]</c>.</summary>
    public ReadOnlySpan<float> Bias => _bias;

    /// <summary>PyTorch <c>nn.Linear</c> default initialisation: weights and bias uniform in ±1/√H.</summary>
    public static HeadWeights Random(int inputSize, int outputSize, Random random, Activation activation = Activation.Identity)
    {
        ArgumentNullException.ThrowIfNull(random);
        Guard.Positive(inputSize, nameof(inputSize));
        Guard.Positive(outputSize, nameof(outputSize));
        float bound = 1f / MathF.Sqrt(inputSize);
        return new HeadWeights(inputSize, outputSize, LayerWeights.Uniform(random, outputSize * inputSize, bound),
            LayerWeights.Uniform(random, outputSize, bound), activation);
    }
}
