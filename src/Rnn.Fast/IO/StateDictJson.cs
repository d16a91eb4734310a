using System.Globalization;
using System.Text.Json;

namespace Rnn.Fast.IO;

/// <summary>
/// Reads the JSON written by guitar-amp training scripts (e.g. Automated-GuitarAmpModelling):
/// <c>{"model_data": {"unit_type": "LSTM"|"GRU"|"RNN", "input_size", "hidden_size", "num_layers", "output_size",
/// "skip", "bias_fl"}, "state_dict": {"rec.weight_ih_l0": [[...]], ..., "lin.weight": [[...]], "lin.bias": [...]}}</c>.
/// The model computes <c>lin(h) + x[:skip]</c>. The tensors are mapped like a safetensors state dict; the
/// <c>model_data</c> sizes, where present, must agree with them.
/// </summary>
internal static class StateDictJson
{
    private const int MaxSize = 1 << 20;

    public static ModelDescription Read(ReadOnlyMemory<byte> content, string file, ModelLoadOptions? options)
    {
        using JsonDocument document = JsonFields.Parse(content, file);
        JsonElement root = document.RootElement;
        JsonElement modelData = JsonFields.Object(root, "model_data", file);
        JsonElement stateDict = JsonFields.Object(root, "state_dict", file);

        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (JsonProperty property in stateDict.EnumerateObject())
        {
            if (!tensors.TryAdd(property.Name, ReadTensor(property.Name, property.Value, file)))
            {
                throw new ModelFormatException(file, property.Name, "The name appears twice in state_dict.");
            }
        }
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        if (JsonFields.OptionalInt(modelData, "skip", file, 0, MaxSize) is { } skip)
        {
            metadata[StateDictMapper.SkipKey] = skip.ToString(CultureInfo.InvariantCulture);
        }
        ModelDescription description = StateDictMapper.Map(new TensorSet(file, tensors, metadata), options);
        CheckModelData(modelData, description, file);
        return description;
    }

    private static void CheckModelData(JsonElement modelData, ModelDescription description, string file)
    {
        RawLayer first = description.Layers[0];
        if (modelData.TryGetProperty("unit_type", out _))
        {
            string unit = JsonFields.String(modelData, "unit_type", file);
            int gates = unit.ToUpperInvariant() switch
            {
                "LSTM" => 4,
                "GRU" => 3,
                "RNN" => 1,
                _ => throw new ModelFormatException(file, "model_data.unit_type", $"\"{unit}\" is not LSTM, GRU or RNN."),
            };
            foreach (RawLayer layer in description.Layers.Where(l => l.Gates != gates))
            {
                throw new ModelFormatException(file, layer.Name, $"unit_type is {unit} but the weights have {layer.Gates} gate(s) per unit.");
            }
        }
        Agree(JsonFields.OptionalInt(modelData, "input_size", file, 0, MaxSize), first.InputSize, "input_size");
        Agree(JsonFields.OptionalInt(modelData, "hidden_size", file, 1, MaxSize), first.HiddenSize, "hidden_size");
        Agree(JsonFields.OptionalInt(modelData, "num_layers", file, 1, MaxSize), description.Layers.Count, "num_layers");
        int? outputSize = JsonFields.OptionalInt(modelData, "output_size", file, 1, MaxSize);
        if (outputSize is not null && description.Head is null)
        {
            throw new ModelFormatException(file, "model_data.output_size", "Is given but state_dict has no linear head.");
        }
        Agree(outputSize, description.Head?.OutputSize ?? 0, "output_size");
        if (JsonFields.OptionalBool(modelData, "bias_fl", file) is true && description.Head is { Bias.Length: 0 } head)
        {
            throw new ModelFormatException(file, head.Name, "bias_fl is true but the head has no bias.");
        }

        void Agree(int? declared, int actual, string name)
        {
            if (declared is { } value && value != actual)
            {
                throw new ModelFormatException(file, "model_data." + name, $"Says {value} but the weights have {actual}.");
            }
        }
    }

    /// <summary>A nested JSON array as a row-major tensor; every row at a level must have the same length.</summary>
    private static Tensor ReadTensor(string name, JsonElement value, string file)
    {
        var shape = new List<int>();
        JsonElement probe = value;
        while (probe.ValueKind == JsonValueKind.Array)
        {
            int length = probe.GetArrayLength();
            shape.Add(length);
            if (length == 0)
            {
                break;
            }
            probe = probe[0];
        }
        if (shape.Count == 0)
        {
            throw new ModelFormatException(file, name, "Must be a (nested) array of numbers.");
        }
        // The shape is read off the first element at each level, so a ragged array can claim any product of lengths;
        // check it before sizing anything on it (the full walk below then finds any raggedness).
        long elements = 1;
        foreach (int dim in shape)
        {
            if (dim != 0 && elements > Array.MaxLength / dim)
            {
                throw new ModelFormatException(file, name, $"Shape [{string.Join(", ", shape)}] has more elements than a tensor can hold.");
            }
            elements *= dim;
        }
        var data = new List<float>((int)Math.Min(elements, 1 << 20));
        Flatten(value, 0);
        return new Tensor(name, [.. shape], [.. data]);

        void Flatten(JsonElement element, int depth)
        {
            if (depth == shape.Count)
            {
                data.Add(JsonFields.Float(element, file, name));
                return;
            }
            if (element.ValueKind != JsonValueKind.Array || element.GetArrayLength() != shape[depth])
            {
                throw new ModelFormatException(file, name, $"Not a rectangular array of shape [{string.Join(", ", shape)}].");
            }
            foreach (JsonElement item in element.EnumerateArray())
            {
                Flatten(item, depth + 1);
            }
        }
    }
}
