namespace Rnn.Fast.IO;

/// <summary>
/// Turns a <see cref="ModelDescription"/> into an <see cref="RnnModel"/>. The library's own argument checks
/// (sizes, finiteness, activations) are the last line of defence: their <see cref="ArgumentException"/>s
/// become <see cref="ModelFormatException"/>s naming the file.
/// </summary>
internal static class ModelAssembler
{
    public static RnnModel Build(ModelDescription description, ModelLoadOptions? options)
    {
        string file = description.FileName;
        try
        {
            var layers = new List<LayerWeights>();
            for (int l = 0; l < description.Layers.Count; l++)
            {
                layers.Add(ToLayer(file, description.Layers[l], description.Nonlinearities.Count > l ? description.Nonlinearities[l] : Activation.Tanh));
            }
            HeadWeights? head = description.Head is { } h
                ? new HeadWeights(h.InputSize, h.OutputSize, h.Weight, h.Bias, description.HeadActivation)
                : null;
            if (description.ReverseLayers.Count > 0)
            {
                throw new ModelFormatException(file, description.ReverseLayers[0].Name, "Bidirectional models are not supported yet.");
            }
            if (description.Skip != 0)
            {
                throw new ModelFormatException(file, null, "Skip connections are not supported yet.");
            }
            if (description.InitialHidden.Any(x => x is not null) || description.InitialCell.Any(x => x is not null))
            {
                throw new ModelFormatException(file, null, "Initial states are not supported yet.");
            }
            return RnnModel.Create(layers, head, options?.Kernel);
        }
        catch (ArgumentException e)
        {
            throw new ModelFormatException(file, null, $"The weights do not make a valid model: {e.Message}", e);
        }
    }

    private static LayerWeights ToLayer(string file, RawLayer layer, Activation nonlinearity) => layer.Gates switch
    {
        4 => LayerWeights.Lstm(layer.InputSize, layer.HiddenSize, layer.WeightIh, layer.WeightHh, layer.BiasIh, layer.BiasHh),
        1 => LayerWeights.Elman(layer.InputSize, layer.HiddenSize, nonlinearity, layer.WeightIh, layer.WeightHh, layer.BiasIh, layer.BiasHh),
        _ => throw new ModelFormatException(file, layer.Name, "GRU layers are not supported yet."),
    };
}
