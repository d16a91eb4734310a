namespace Rnn.Fast.Internals;

/// <summary>
/// The dense head <c>y = g(W h + b)</c> with W's rows zero-padded to the state stride, so its dot products have no
/// tail. Training heads also carry gradients of the same shapes.
/// </summary>
internal sealed class PackedHead
{
    public PackedHead(HeadWeights weights, int paddedInput, bool withGradients = false)
    {
        InputSize = weights.InputSize;
        OutputSize = weights.OutputSize;
        PaddedInput = paddedInput;
        Activation = weights.Activation;
        Weight = new float[checked(OutputSize * paddedInput)];
        for (int o = 0; o < OutputSize; o++)
        {
            weights.Weight.Slice(o * InputSize, InputSize).CopyTo(Weight.AsSpan(o * paddedInput));
        }
        Bias = weights.Bias.ToArray();
        HasBias = weights.HasBias;
        if (withGradients)
        {
            WeightGradient = new float[Weight.Length];
            BiasGradient = new float[Bias.Length];
        }
    }

    public int InputSize { get; }
    public int OutputSize { get; }
    public int PaddedInput { get; }
    public Activation Activation { get; }

    /// <summary>False for <c>nn.Linear(bias=False)</c>: the bias is zero, not trained and not exported.</summary>
    public bool HasBias { get; }

    public float[] Weight { get; }           // [O, Hp]
    public float[] Bias { get; }             // [O]
    public float[]? WeightGradient { get; }  // [O, Hp], training heads only
    public float[]? BiasGradient { get; }    // [O]

    /// <summary>The packed index of PyTorch element (o, j) of the weight.</summary>
    public int IndexOf(int output, int column) => output * PaddedInput + column;

    public HeadWeights ToWeights()
    {
        var weight = new float[OutputSize * InputSize];
        for (int o = 0; o < OutputSize; o++)
        {
            Weight.AsSpan(o * PaddedInput, InputSize).CopyTo(weight.AsSpan(o * InputSize));
        }
        return new HeadWeights(InputSize, OutputSize, weight, HasBias ? [.. Bias] : [], Activation);
    }
}
