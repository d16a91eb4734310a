namespace Rnn.Fast.Training;

/// <summary>
/// One trainable tensor (PyTorch name and shape) with its gradient. The numbers live in the kernel's
/// packed layout, so training runs the same fused kernels as inference with no repacking per step;
/// <see cref="CopyValuesTo"/>, <see cref="CopyGradientsTo"/> and <see cref="SetValues"/> speak PyTorch's layout.
/// </summary>
/// <remarks>
/// Padding entries of the packed arrays hold zeros in both values and gradients, so element-wise
/// optimizers and norms over <see cref="PackedValues"/>/<see cref="PackedGradients"/> see exactly the
/// logical tensor plus zeros.
/// </remarks>
public sealed class Parameter
{
    private readonly int[] _packedIndex; // PyTorch flat index -> packed index

    internal Parameter(string name, int[] shape, float[] values, float[] gradients, int[] packedIndex)
    {
        Name = name;
        Shape = shape;
        Values = values;
        Gradients = gradients;
        _packedIndex = packedIndex;
    }

    /// <summary>PyTorch state_dict name: <c>weight_ih_l0</c>, <c>bias_hh_l1</c>, <c>head.weight</c>, ...</summary>
    public string Name { get; }

    /// <summary>PyTorch shape, e.g. <c>[4H, I]</c>.</summary>
    public IReadOnlyList<int> Shape { get; }

    /// <summary>Number of logical elements (product of <see cref="Shape"/>).</summary>
    public int Count => _packedIndex.Length;

    internal float[] Values { get; }
    internal float[] Gradients { get; }

    /// <summary>Every trainable tensor of a network, in PyTorch state_dict order, over the packed arrays themselves.</summary>
    internal static Parameter[] Of(Internals.Network network)
    {
        var parameters = new List<Parameter>();
        for (int l = 0; l < network.Layers.Length; l++)
        {
            Internals.PackedLayer layer = network.Layers[l];
            Internals.LayerGradients gradients = layer.Gradients!;
            parameters.Add(Matrix($"weight_ih_l{l}", layer.Wx, gradients.Wx));
            parameters.Add(Matrix($"weight_hh_l{l}", layer.Wh, gradients.Wh));
            // A bias=False layer has no bias parameters (as in PyTorch): its zero biases are never updated.
            if (layer.HasBiasIh)
            {
                parameters.Add(Matrix($"bias_ih_l{l}", layer.BiasIh, gradients.BiasIh));
            }
            if (layer.HasBiasHh)
            {
                parameters.Add(Matrix($"bias_hh_l{l}", layer.BiasHh, gradients.BiasHh));
            }
        }
        if (network.Head is { } head)
        {
            int[] index = new int[head.OutputSize * head.InputSize];
            for (int o = 0; o < head.OutputSize; o++)
            {
                for (int j = 0; j < head.InputSize; j++)
                {
                    index[o * head.InputSize + j] = head.IndexOf(o, j);
                }
            }
            parameters.Add(new Parameter("head.weight", [head.OutputSize, head.InputSize], head.Weight, head.WeightGradient!, index));
            if (head.HasBias)
            {
                parameters.Add(new Parameter("head.bias", [head.OutputSize], head.Bias, head.BiasGradient!, [.. Enumerable.Range(0, head.OutputSize)]));
            }
        }
        return [.. parameters];
    }

    // A packed matrix (a bias is one with a single column) as PyTorch's [G·H, K], or [G·H] for a bias.
    private static Parameter Matrix(string name, Internals.PackedMatrix matrix, float[] gradients)
    {
        int rows = matrix.Gates * matrix.Units;
        var index = new int[rows * matrix.Columns];
        for (int row = 0; row < rows; row++)
        {
            for (int j = 0; j < matrix.Columns; j++)
            {
                index[row * matrix.Columns + j] = matrix.IndexOf(row, j);
            }
        }
        int[] shape = name.StartsWith("bias", StringComparison.Ordinal) ? [rows] : [rows, matrix.Columns];
        return new Parameter(name, shape, matrix.Values, gradients, index);
    }

    /// <summary>The packed values (logical elements plus zero padding), for element-wise updates.</summary>
    public Span<float> PackedValues => Values;

    /// <summary>The packed gradients (zeros in the padding), for element-wise updates and norms.</summary>
    public Span<float> PackedGradients => Gradients;

    /// <summary>Copies the values out in PyTorch layout.</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is not <see cref="Count"/> long.</exception>
    public void CopyValuesTo(Span<float> destination) => Gather(Values, destination, nameof(destination));

    /// <summary>Copies the gradients out in PyTorch layout.</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is not <see cref="Count"/> long.</exception>
    public void CopyGradientsTo(Span<float> destination) => Gather(Gradients, destination, nameof(destination));

    /// <summary>Sets the values from PyTorch layout. Call <see cref="TrainableModel.ParametersChanged"/> afterwards.</summary>
    /// <exception cref="ArgumentException">Wrong length, or a NaN/infinite value.</exception>
    public void SetValues(ReadOnlySpan<float> source)
    {
        Internals.Guard.Length(source.Length, Count, $"{Name} [{string.Join(", ", Shape)}]", nameof(source));
        Internals.Guard.Finite(source, Name, nameof(source));
        for (int i = 0; i < source.Length; i++)
        {
            Values[_packedIndex[i]] = source[i];
        }
    }

    /// <summary>Sets the gradients from PyTorch layout (for gradients computed elsewhere, or tests).</summary>
    /// <exception cref="ArgumentException">Wrong length.</exception>
    public void SetGradients(ReadOnlySpan<float> source)
    {
        Internals.Guard.Length(source.Length, Count, $"{Name} [{string.Join(", ", Shape)}]", nameof(source));
        for (int i = 0; i < source.Length; i++)
        {
            Gradients[_packedIndex[i]] = source[i];
        }
    }

    /// <summary>Values in PyTorch layout, as a new array.</summary>
    public float[] ToArray()
    {
        var values = new float[Count];
        CopyValuesTo(values);
        return values;
    }

    private void Gather(float[] packed, Span<float> destination, string paramName)
    {
        Internals.Guard.Length(destination.Length, Count, $"{Name} [{string.Join(", ", Shape)}]", paramName);
        for (int i = 0; i < destination.Length; i++)
        {
            destination[i] = packed[_packedIndex[i]];
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"{Name} [{string.Join(", ", Shape)}]";
}
