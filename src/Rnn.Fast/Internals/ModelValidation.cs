namespace Rnn.Fast.Internals;

/// <summary>The checks a model's layers, head and options must pass before anything is packed.</summary>
internal static class ModelValidation
{
    public static void Validate(LayerWeights[] layers, HeadWeights? head, RnnModelOptions options)
    {
        if (layers.Length == 0)
        {
            throw new ArgumentException("A model needs at least one recurrent layer.", nameof(layers));
        }
        IReadOnlyList<LayerWeights>? reverse = options.ReverseLayers;
        if (reverse is not null && reverse.Count != layers.Length)
        {
            throw new ArgumentException($"Expected {layers.Length} reverse layers (one per layer), got {reverse.Count}.", nameof(options));
        }
        int directions = reverse is null ? 1 : 2;
        for (int l = 0; l < layers.Length; l++)
        {
            ArgumentNullException.ThrowIfNull(layers[l], nameof(layers));
            int expectedInputs = l == 0 ? layers[0].InputSize : directions * layers[l - 1].HiddenSize;
            if (layers[l].InputSize != expectedInputs)
            {
                throw new ArgumentException(
                    $"Layer {l} takes {layers[l].InputSize} inputs but layer {l - 1} produces {expectedInputs}.", nameof(layers));
            }
            if (reverse is not null)
            {
                LayerWeights r = reverse[l] ?? throw new ArgumentException($"Reverse layer {l} is null.", nameof(options));
                if (r.Cell != layers[l].Cell || r.HiddenSize != layers[l].HiddenSize || r.InputSize != expectedInputs || r.Nonlinearity != layers[l].Nonlinearity)
                {
                    throw new ArgumentException(
                        $"Reverse layer {l} must match layer {l}: {layers[l].Cell} with {expectedInputs} inputs and {layers[l].HiddenSize} hidden units.", nameof(options));
                }
            }
        }
        int lastWidth = directions * layers[^1].HiddenSize;
        if (head is not null && head.InputSize != lastWidth)
        {
            throw new ArgumentException($"The head takes {head.InputSize} inputs but the last layer produces {lastWidth}.", nameof(head));
        }
        int outputs = head?.OutputSize ?? lastWidth;
        if (options.Skip < 0 || options.Skip > Math.Min(layers[0].InputSize, outputs))
        {
            throw new ArgumentException(
                $"Skip must be between 0 and min(input size {layers[0].InputSize}, output size {outputs}), got {options.Skip}.", nameof(options));
        }
        ValidateInitial(options.InitialHidden, layers, cellOnly: false);
        ValidateInitial(options.InitialCell, layers, cellOnly: true);
    }

    private static void ValidateInitial(IReadOnlyList<float[]?>? initial, LayerWeights[] layers, bool cellOnly)
    {
        if (initial is null)
        {
            return;
        }
        string what = cellOnly ? "InitialCell" : "InitialHidden";
        if (initial.Count != layers.Length)
        {
            throw new ArgumentException($"{what}: expected {layers.Length} entries (one per layer), got {initial.Count}.", "options");
        }
        for (int l = 0; l < layers.Length; l++)
        {
            if (initial[l] is not { } values)
            {
                continue;
            }
            if (cellOnly && layers[l].Cell != CellType.Lstm)
            {
                throw new ArgumentException($"{what}[{l}]: layer {l} is a {layers[l].Cell} layer and has no cell state.", "options");
            }
            Guard.Length(values.Length, layers[l].HiddenSize, $"{what}[{l}], hidden size of layer {l}", "options");
            Guard.Finite(values, $"{what}[{l}]", "options");
        }
    }
}
