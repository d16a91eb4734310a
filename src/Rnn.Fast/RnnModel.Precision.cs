using Rnn.Fast.Internals;

namespace Rnn.Fast;

public sealed partial class RnnModel
{
    /// <summary>
    /// A model whose weight matrices are already in reduced precision, as a file stores them (<c>ModelFile</c>):
    /// bf16 from layers whose matrices hold exact bfloat16 values (kept bit for bit), int8 from the values and scales in
    /// <paramref name="int8"/>, kept as they are rather than quantized again (the layers then hold the dequantized
    /// values <c>q · s</c>, which is what <see cref="Layers"/> reports).
    /// </summary>
    /// <exception cref="ArgumentException">The weights do not make a model, <paramref name="int8"/> is given exactly when
    /// the precision is not int8, its shapes differ from the layers', a scale is out of range, or the kernel is unknown.</exception>
    internal static RnnModel CreateWithPrecision(IEnumerable<LayerWeights> layers, HeadWeights? head, string? kernel,
        RnnModelOptions options, WeightPrecision precision, Int8Weights? int8)
    {
        ArgumentNullException.ThrowIfNull(layers);
        ArgumentNullException.ThrowIfNull(options);
        if (!Enum.IsDefined(precision))
        {
            throw new ArgumentOutOfRangeException(nameof(precision), precision, "Expected Float32, BFloat16 or Int8.");
        }
        LayerWeights[] list = [.. layers];
        if ((precision == WeightPrecision.Int8) != (int8 is not null))
        {
            throw new ArgumentException("The int8 values and scales come with an int8 model, and only with one.", nameof(int8));
        }
        if (int8 is not null)
        {
            CheckInt8Shapes(list, options.ReverseLayers, head, int8);
        }
        RnnKernel implementation = kernel is null ? KernelRegistry.DefaultFor(list, options.ReverseLayers) : KernelRegistry.Get(kernel);
        return new RnnModel(list, head, implementation, options, precision, int8);
    }

    /// <summary>Every int8 matrix has the shape of the weight it stands for: [G·H, K] values and [G·H] scales.</summary>
    private static void CheckInt8Shapes(LayerWeights[] layers, IReadOnlyList<LayerWeights>? reverse, HeadWeights? head, Int8Weights int8)
    {
        static void Check(Int8Matrix? matrix, int rows, int columns, string what)
        {
            if (matrix is null || matrix.Values.Length != (long)rows * columns || matrix.Scales.Length != rows)
            {
                throw new ArgumentException(
                    $"The int8 {what} must hold {rows}×{columns} values and {rows} scales; got {matrix?.Values.Length ?? 0} and {matrix?.Scales.Length ?? 0}.",
                    nameof(int8));
            }
        }
        static void CheckLayers(IReadOnlyList<LayerWeights> layers, Int8Matrix[]? ih, Int8Matrix[]? hh, string direction)
        {
            if (ih is null || hh is null || ih.Length != layers.Count || hh.Length != layers.Count)
            {
                throw new ArgumentException($"The int8 weights need both matrices of every {direction} layer ({layers.Count}).", nameof(int8));
            }
            for (int l = 0; l < layers.Count; l++)
            {
                int rows = layers[l].GateCount * layers[l].HiddenSize;
                Check(ih[l], rows, layers[l].InputSize, $"weight_ih of {direction} layer {l}");
                Check(hh[l], rows, layers[l].HiddenSize, $"weight_hh of {direction} layer {l}");
            }
        }
        CheckLayers(layers, int8.Ih, int8.Hh, "forward");
        if (reverse is not null)
        {
            CheckLayers(reverse, int8.ReverseIh, int8.ReverseHh, "reverse");
        }
        if (head is not null)
        {
            Check(int8.Head, head.OutputSize, head.InputSize, "head weight");
        }
    }
}
