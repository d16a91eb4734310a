using Rnn.Fast.Internals;

namespace Rnn.Fast.IO;

/// <summary>
/// Turns a <see cref="ModelDescription"/> into an <see cref="RnnModel"/>. The library's own argument checks
/// (sizes, finiteness, activations, skip range) are the last line of defence: their <see cref="ArgumentException"/>s
/// become <see cref="ModelFormatException"/>s naming the file.
/// </summary>
internal static class ModelAssembler
{
    public static RnnModel Build(ModelDescription description, ModelLoadOptions? options)
    {
        string file = description.FileName;
        try
        {
            Activation Nonlinearity(int l) => description.Nonlinearities.Count > l ? description.Nonlinearities[l] : Activation.Tanh;
            LayerWeights[] layers = [.. description.Layers.Select((layer, l) => ToLayer(file, layer, Nonlinearity(l)))];
            LayerWeights[]? reverse = description.ReverseLayers.Count == 0
                ? null
                : [.. description.ReverseLayers.Select((layer, l) => ToLayer(file, layer, Nonlinearity(l)))];
            HeadWeights? head = description.Head is { } h
                ? new HeadWeights(h.InputSize, h.OutputSize, h.Weight, h.Bias, description.HeadActivation)
                : null;
            var modelOptions = new RnnModelOptions
            {
                ReverseLayers = reverse,
                Skip = description.Skip,
                InitialHidden = description.InitialHidden.Any(x => x is not null) ? description.InitialHidden : null,
                InitialCell = description.InitialCell.Any(x => x is not null) ? description.InitialCell : null,
            };
            if (description.Precision == WeightPrecision.Float32)
            {
                return RnnModel.Create(layers, head, options?.Kernel, modelOptions);
            }
            // A reduced file keeps its values: bf16 bits as they are, int8 values and scales without quantizing again.
            Int8Weights? int8 = description.Precision != WeightPrecision.Int8 ? null : new Int8Weights(
                [.. description.Layers.Select(l => l.Int8Ih!)], [.. description.Layers.Select(l => l.Int8Hh!)],
                reverse is null ? null : [.. description.ReverseLayers.Select(l => l.Int8Ih!)],
                reverse is null ? null : [.. description.ReverseLayers.Select(l => l.Int8Hh!)],
                description.Head?.Int8);
            return RnnModel.CreateWithPrecision(layers, head, options?.Kernel, modelOptions, description.Precision, int8);
        }
        catch (ArgumentException e)
        {
            throw new ModelFormatException(file, null, $"The weights do not make a valid model: {e.Message}", e);
        }
    }

    private static LayerWeights ToLayer(string file, RawLayer layer, Activation nonlinearity) => layer.Gates switch
    {
        4 => LayerWeights.Lstm(layer.InputSize, layer.HiddenSize, layer.WeightIh, layer.WeightHh, layer.BiasIh, layer.BiasHh),
        3 => LayerWeights.Gru(layer.InputSize, layer.HiddenSize, layer.WeightIh, layer.WeightHh, layer.BiasIh, layer.BiasHh),
        1 => LayerWeights.Elman(layer.InputSize, layer.HiddenSize, nonlinearity, layer.WeightIh, layer.WeightHh, layer.BiasIh, layer.BiasHh),
        _ => throw new ModelFormatException(file, layer.Name, $"{layer.Gates} gates per unit is not an RNN, GRU or LSTM."),
    };
}
