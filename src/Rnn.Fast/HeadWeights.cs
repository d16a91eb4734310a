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
    /// <exception cref="ArgumentException">A length does not match its shape, a value is NaN or infinite, or O*H is longer than an array can be.</exception>
    public HeadWeights(int inputSize, int outputSize, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Activation activation = Activation.Identity)
    {
        Guard.Positive(inputSize, nameof(inputSize));
        Guard.Positive(outputSize, nameof(outputSize));
        int length = WeightLength(inputSize, outputSize);
        Guard.Length(weight.Length, length, $"head weight [{outputSize}, {inputSize}]", nameof(weight));
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
        HasBias = !bias.IsEmpty;
    }

    /// <summary>O*H, checked: the product of two sizes can overflow <see cref="int"/> and wrap to a length empty spans pass.</summary>
    private static int WeightLength(int inputSize, int outputSize)
    {
        long length = (long)outputSize * inputSize;
        if (length > Array.MaxLength)
        {
            throw new ArgumentException(
                $"A head of output size {outputSize} and input size {inputSize} needs weight [{outputSize}, {inputSize}] = {length:N0} values, more than an array holds ({Array.MaxLength:N0}).",
                nameof(outputSize));
        }
        return (int)length;
    }

    /// <summary>True when created with a bias; false for a head without (PyTorch <c>nn.Linear(bias=False)</c>), whose
    /// <see cref="Bias"/> is zeros.</summary>
    public bool HasBias { get; }

    /// <summary>Number of parameters, counted as PyTorch counts them: O*H, plus O with a bias.</summary>
    public long ParameterCount => (long)OutputSize * InputSize + (HasBias ? OutputSize : 0);

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
        return new HeadWeights(inputSize, outputSize, LayerWeights.Uniform(random, WeightLength(inputSize, outputSize), bound),
            LayerWeights.Uniform(random, outputSize, bound), activation);
    }
}
