namespace Rnn.Fast.Internals;

/// <summary>
/// The dense head <c>y = g(W h + b)</c> with W's rows zero-padded to the state stride, so its dot products have no
/// tail. Training heads also carry gradients of the same shapes.
/// </summary>
internal sealed class PackedHead
{
    public PackedHead(HeadWeights weights, int paddedInput, bool withGradients = false,
        WeightPrecision precision = WeightPrecision.Float32, int lanes = 1, Int8Matrix? int8 = null, bool? reducedProducts = null)
    {
        InputSize = weights.InputSize;
        OutputSize = weights.OutputSize;
        PaddedInput = paddedInput;
        Activation = weights.Activation;
        Bias = weights.Bias.ToArray();
        HasBias = weights.HasBias;
        ReadOnlySpan<float> rows = weights.Weight;
        if (precision != WeightPrecision.Float32)
        {
            // One gate of O units: the head is a product like any other, its rows [O] padded to whole blocks.
            Reduced = int8 is null
                ? ReducedMatrix.FromRows(weights.Weight, OutputSize, InputSize, 1, lanes, precision)
                : ReducedMatrix.FromInt8(int8.Values, int8.Scales, OutputSize, InputSize, 1, lanes);
            UsesReducedProducts = ReducedExecution.UseReducedProducts(4L * OutputSize * InputSize, precision, reducedProducts);
            if (UsesReducedProducts)
            {
                ReducedBias = new float[Reduced.RowWidth];
                Bias.CopyTo(ReducedBias, 0);
            }
            rows = Reduced.ToRows(); // a small head runs as float32 on its dequantized values (ReducedExecution)
        }
        Weight = UsesReducedProducts ? [] : new float[checked(OutputSize * paddedInput)];
        for (int o = 0; o < OutputSize && !UsesReducedProducts; o++)
        {
            rows.Slice(o * InputSize, InputSize).CopyTo(Weight.AsSpan(o * paddedInput));
        }
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

    public float[] Weight { get; }           // [O, Hp]; empty when the reduced products run

    /// <summary>The weight in bf16 or int8 as one gate of O units; null for float32.</summary>
    public ReducedMatrix? Reduced { get; }

    /// <summary>True when the head multiplies by <see cref="Reduced"/>; false when it runs as float32 (<see cref="Weight"/>).</summary>
    public bool UsesReducedProducts { get; }

    /// <summary>The bias padded to <see cref="ReducedMatrix.RowWidth"/>; empty for float32.</summary>
    public float[] ReducedBias { get; } = [];
    public float[] Bias { get; }             // [O]
    public float[]? WeightGradient { get; }  // [O, Hp], training heads only
    public float[]? BiasGradient { get; }    // [O]

    /// <summary>The packed index of PyTorch element (o, j) of the weight.</summary>
    public int IndexOf(int output, int column) => output * PaddedInput + column;

    /// <remarks>A reduced head gives its dequantized weight.</remarks>
    public HeadWeights ToWeights()
    {
        if (Reduced is not null)
        {
            return new HeadWeights(InputSize, OutputSize, Reduced.ToRows(), HasBias ? [.. Bias] : [], Activation);
        }
        var weight = new float[OutputSize * InputSize];
        for (int o = 0; o < OutputSize; o++)
        {
            Weight.AsSpan(o * PaddedInput, InputSize).CopyTo(weight.AsSpan(o * InputSize));
        }
        return new HeadWeights(InputSize, OutputSize, weight, HasBias ? [.. Bias] : [], Activation);
    }
}
