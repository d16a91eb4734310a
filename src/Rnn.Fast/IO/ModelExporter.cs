using Rnn.Fast.Internals;

namespace Rnn.Fast.IO;

/// <summary>
/// An <see cref="RnnModel"/> as PyTorch-named tensors (<c>rnn.weight_ih_l{k}</c>..., <c>head.weight</c>, <c>head.bias</c>)
/// plus the <c>rnnfast.*</c> metadata for what tensors cannot say, so <see cref="StateDictMapper"/> reads it back
/// to the same model. A bf16 model's weight matrices are BF16, an int8 model's are I8 each followed by its F32
/// <c>{matrix}.scale</c>, and <c>rnnfast.weight_precision</c> says which (docs/precision-files.md); biases and initial
/// states are F32 always.
/// </summary>
internal static class ModelExporter
{
    public const string RecurrentPrefix = "rnn.";
    public const string HeadPrefix = "head.";

    public static (List<Tensor> Tensors, Dictionary<string, string> Metadata) Export(RnnModel model)
    {
        var tensors = new List<Tensor>();
        var matrices = new Matrices(model.Precision, model.Network.Int8Source());
        for (int l = 0; l < model.Layers.Count; l++)
        {
            AddLayer(tensors, model.Layers[l], l, "", matrices, matrices.Int8?.Ih[l], matrices.Int8?.Hh[l]);
        }
        if (model.Options.ReverseLayers is { } reverse)
        {
            for (int l = 0; l < reverse.Count; l++)
            {
                AddLayer(tensors, reverse[l], l, "_reverse", matrices, matrices.Int8?.ReverseIh![l], matrices.Int8?.ReverseHh![l]);
            }
        }
        AddInitial(tensors, model.Options.InitialHidden, "h0");
        AddInitial(tensors, model.Options.InitialCell, "c0");
        if (model.Head is { } head)
        {
            matrices.Add(tensors, HeadPrefix + "weight", head.OutputSize, head.InputSize, head.Weight, matrices.Int8?.Head);
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
        if (model.Precision != WeightPrecision.Float32)
        {
            // Only for reduced models: a float32 model's file stays exactly what it was before reduced precision existed.
            metadata[StateDictMapper.WeightPrecisionKey] = StateDictMapper.PrecisionName(model.Precision);
        }
        return (tensors, metadata);
    }

    /// <summary>How the weight matrices of one model are written: F32, BF16, or I8 with scales.</summary>
    private sealed record Matrices(WeightPrecision Precision, Int8Weights? Int8)
    {
        public void Add(List<Tensor> tensors, string name, int rows, int columns, ReadOnlySpan<float> values, Int8Matrix? int8)
        {
            switch (Precision)
            {
                case WeightPrecision.Int8:
                    // The model's own int8 values and scales, not a re-quantization of the dequantized weights.
                    tensors.Add(new Tensor(name, [rows, columns], int8!.Values));
                    tensors.Add(new Tensor(name + StateDictMapper.ScaleSuffix, [rows], int8.Scales));
                    break;
                case WeightPrecision.BFloat16:
                    // The dequantized values of a bf16 model are exact bfloat16: the writer keeps their bits.
                    tensors.Add(Tensor.Matrix(name, rows, columns, values, TensorType.BF16));
                    break;
                default:
                    tensors.Add(Tensor.Matrix(name, rows, columns, values));
                    break;
            }
        }
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

    private static void AddLayer(List<Tensor> tensors, LayerWeights layer, int index, string suffix, Matrices matrices,
        Int8Matrix? int8Ih, Int8Matrix? int8Hh)
    {
        int rows = layer.GateCount * layer.HiddenSize;
        matrices.Add(tensors, $"{RecurrentPrefix}weight_ih_l{index}{suffix}", rows, layer.InputSize, layer.WeightIh, int8Ih);
        matrices.Add(tensors, $"{RecurrentPrefix}weight_hh_l{index}{suffix}", rows, layer.HiddenSize, layer.WeightHh, int8Hh);
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
