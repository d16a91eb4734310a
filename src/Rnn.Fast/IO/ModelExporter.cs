namespace Rnn.Fast.IO;

/// <summary>
/// An <see cref="RnnModel"/> as PyTorch-named tensors (<c>rnn.weight_ih_l{k}</c>..., <c>head.weight</c>, <c>head.bias</c>)
/// plus the <c>rnnfast.*</c> metadata for what tensors cannot say, so <see cref="StateDictMapper"/> reads it back
/// to the same model.
/// </summary>
internal static class ModelExporter
{
    public const string RecurrentPrefix = "rnn.";
    public const string HeadPrefix = "head.";

    public static (List<Tensor> Tensors, Dictionary<string, string> Metadata) Export(RnnModel model)
    {
        var tensors = new List<Tensor>();
        for (int l = 0; l < model.Layers.Count; l++)
        {
            AddLayer(tensors, model.Layers[l], l, "");
        }
        if (model.Options.ReverseLayers is { } reverse)
        {
            for (int l = 0; l < reverse.Count; l++)
            {
                AddLayer(tensors, reverse[l], l, "_reverse");
            }
        }
        AddInitial(tensors, model.Options.InitialHidden, "h0");
        AddInitial(tensors, model.Options.InitialCell, "c0");
        if (model.Head is { } head)
        {
            tensors.Add(Tensor.Matrix(HeadPrefix + "weight", head.OutputSize, head.InputSize, head.Weight));
            if (head.HasBias)
            {
                tensors.Add(Tensor.Vector(HeadPrefix + "bias", head.Bias));
            }
        }
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["format"] = "pt",
            [StateDictMapper.NonlinearityKey] = string.Join(",", model.Layers.Select(l => StateDictMapper.ActivationName(l.Nonlinearity))),
        };
        if (model.Head is not null)
        {
            metadata[StateDictMapper.HeadActivationKey] = StateDictMapper.ActivationName(model.Head.Activation);
        }
        if (model.Options.Skip != 0)
        {
            metadata[StateDictMapper.SkipKey] = model.Options.Skip.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        return (tensors, metadata);
    }

    private static void AddInitial(List<Tensor> tensors, IReadOnlyList<float[]?>? initial, string kind)
    {
        for (int l = 0; l < (initial?.Count ?? 0); l++)
        {
            if (initial![l] is { } values)
            {
                tensors.Add(Tensor.Vector($"{RecurrentPrefix}{kind}_l{l}", values));
            }
        }
    }

    private static void AddLayer(List<Tensor> tensors, LayerWeights layer, int index, string suffix)
    {
        int rows = layer.GateCount * layer.HiddenSize;
        tensors.Add(Tensor.Matrix($"{RecurrentPrefix}weight_ih_l{index}{suffix}", rows, layer.InputSize, layer.WeightIh));
        tensors.Add(Tensor.Matrix($"{RecurrentPrefix}weight_hh_l{index}{suffix}", rows, layer.HiddenSize, layer.WeightHh));
        // A layer without biases (PyTorch bias=False) is saved without them, so it reads back with the same parameter count.
        if (layer.HasBiasIh)
        {
            tensors.Add(Tensor.Vector($"{RecurrentPrefix}bias_ih_l{index}{suffix}", layer.BiasIh));
        }
        if (layer.HasBiasHh)
        {
            tensors.Add(Tensor.Vector($"{RecurrentPrefix}bias_hh_l{index}{suffix}", layer.BiasHh));
        }
    }
}
