using System.Globalization;
using System.Text.RegularExpressions;

namespace Rnn.Fast.IO;

/// <summary>
/// Maps PyTorch <c>state_dict</c> tensor names to a <see cref="ModelDescription"/>: one nn.RNN / nn.LSTM / nn.GRU
/// (<c>{prefix}weight_ih_l{k}</c>, <c>weight_hh_l{k}</c>, <c>bias_ih_l{k}</c>, <c>bias_hh_l{k}</c>, each optionally
/// with <c>_reverse</c>), an optional nn.Linear (<c>{prefix}weight</c>, <c>{prefix}bias</c>), and the Rnn.Fast
/// extension <c>{prefix}h0_l{k}</c> / <c>{prefix}c0_l{k}</c> for initial states.
/// </summary>
/// <remarks>
/// The cell type of each layer is read from <c>weight_hh</c>'s shape <c>[G*H, H]</c>: G = 1 Elman, 3 GRU, 4 LSTM.
/// Anything else in the file is rejected rather than ignored, since a tensor we do not understand (an LSTM
/// projection <c>weight_hr</c>, a second head) means the model would run wrong.
/// </remarks>
internal static partial class StateDictMapper
{
    public const string NonlinearityKey = "rnnfast.nonlinearity";
    public const string HeadActivationKey = "rnnfast.head_activation";
    public const string SkipKey = "rnnfast.skip";

    [GeneratedRegex(@"^(?<prefix>.*?)(?<kind>weight_ih|weight_hh|bias_ih|bias_hh)_l(?<layer>[0-9]{1,6})(?<reverse>_reverse)?$", RegexOptions.CultureInvariant)]
    private static partial Regex RecurrentName();

    [GeneratedRegex(@"^(?<prefix>.*?)(?<kind>h0|c0)_l(?<layer>[0-9]{1,6})$", RegexOptions.CultureInvariant)]
    private static partial Regex InitialStateName();

    [GeneratedRegex(@"^(?<prefix>.*?)(?<kind>weight|bias)$", RegexOptions.CultureInvariant)]
    private static partial Regex LinearName();

    public static ModelDescription Map(TensorSet set, ModelLoadOptions? options)
    {
        string file = set.FileName;
        var recurrent = new Dictionary<(int Layer, bool Reverse), Dictionary<string, Tensor>>();
        var initial = new Dictionary<(int Layer, string Kind), Tensor>();
        var linear = new Dictionary<string, Dictionary<string, Tensor>>(StringComparer.Ordinal);
        var recurrentPrefixes = new SortedSet<string>(StringComparer.Ordinal);
        var initialPrefixes = new SortedSet<string>(StringComparer.Ordinal);

        foreach (Tensor tensor in set.Tensors.Values)
        {
            CheckFinite(file, tensor);
            Match match = RecurrentName().Match(tensor.Name);
            if (match.Success)
            {
                recurrentPrefixes.Add(match.Groups["prefix"].Value);
                var key = (int.Parse(match.Groups["layer"].Value, CultureInfo.InvariantCulture), match.Groups["reverse"].Success);
                if (!recurrent.TryGetValue(key, out var kinds))
                {
                    recurrent[key] = kinds = new Dictionary<string, Tensor>(StringComparer.Ordinal);
                }
                kinds[match.Groups["kind"].Value] = tensor;
                continue;
            }
            match = InitialStateName().Match(tensor.Name);
            if (match.Success)
            {
                initialPrefixes.Add(match.Groups["prefix"].Value);
                initial[(int.Parse(match.Groups["layer"].Value, CultureInfo.InvariantCulture), match.Groups["kind"].Value)] = tensor;
                continue;
            }
            match = LinearName().Match(tensor.Name);
            if (match.Success)
            {
                string prefix = match.Groups["prefix"].Value;
                if (!linear.TryGetValue(prefix, out var parts))
                {
                    linear[prefix] = parts = new Dictionary<string, Tensor>(StringComparer.Ordinal);
                }
                parts[match.Groups["kind"].Value] = tensor;
                continue;
            }
            throw new ModelFormatException(file, tensor.Name,
                "Not a tensor of an nn.RNN/nn.LSTM/nn.GRU (weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k}) or of an nn.Linear head (weight, bias).");
        }

        if (recurrentPrefixes.Count == 0)
        {
            throw new ModelFormatException(file, null, "No recurrent layer found: expected tensors named like 'rnn.weight_hh_l0'.");
        }
        if (recurrentPrefixes.Count > 1)
        {
            throw new ModelFormatException(file, null,
                $"Tensors of several recurrent modules ('{string.Join("', '", recurrentPrefixes)}'); one model holds one nn.RNN/LSTM/GRU.");
        }
        string rnnPrefix = recurrentPrefixes.Min!;
        foreach (string prefix in initialPrefixes.Where(p => p != rnnPrefix))
        {
            throw new ModelFormatException(file, $"{prefix}h0_l0", $"Initial states must use the recurrent module's prefix '{rnnPrefix}'.");
        }

        var description = new ModelDescription(file);
        int layerCount = recurrent.Keys.Count(k => !k.Reverse);
        int reverseCount = recurrent.Keys.Count(k => k.Reverse);
        for (int l = 0; l < layerCount; l++)
        {
            if (!recurrent.TryGetValue((l, false), out var kinds))
            {
                throw new ModelFormatException(file, $"{rnnPrefix}weight_hh_l{l}", $"Missing: layers must be numbered 0 to {layerCount - 1} without gaps.");
            }
            int inputSize = l == 0 ? -1 : description.Layers[l - 1].HiddenSize * (reverseCount > 0 ? 2 : 1);
            description.Layers.Add(MapLayer(file, rnnPrefix, l, "", kinds, inputSize));
        }
        if (reverseCount > 0)
        {
            for (int l = 0; l < layerCount; l++)
            {
                if (!recurrent.TryGetValue((l, true), out var kinds))
                {
                    throw new ModelFormatException(file, $"{rnnPrefix}weight_hh_l{l}_reverse",
                        "Missing: a bidirectional model needs the reverse direction of every layer.");
                }
                RawLayer forward = description.Layers[l];
                RawLayer reverse = MapLayer(file, rnnPrefix, l, "_reverse", kinds, forward.InputSize);
                if (reverse.Gates != forward.Gates || reverse.HiddenSize != forward.HiddenSize)
                {
                    throw new ModelFormatException(file, reverse.Name,
                        $"The reverse direction has shape [{reverse.Gates * reverse.HiddenSize}, {reverse.HiddenSize}] but the forward one [{forward.Gates * forward.HiddenSize}, {forward.HiddenSize}].");
                }
                description.ReverseLayers.Add(reverse);
            }
            if (reverseCount != layerCount)
            {
                throw new ModelFormatException(file, null, $"{reverseCount} reverse layers for {layerCount} forward layers.");
            }
        }

        MapInitialStates(file, initial, description);
        MapHead(file, linear, description);
        ApplySettings(file, set.Metadata, options, description);
        return description;
    }

    private static RawLayer MapLayer(string file, string prefix, int layer, string suffix, Dictionary<string, Tensor> kinds, int expectedInput)
    {
        string Name(string kind) => $"{prefix}{kind}_l{layer}{suffix}";
        if (!kinds.TryGetValue("weight_hh", out Tensor? whh))
        {
            throw new ModelFormatException(file, Name("weight_hh"), "Missing.");
        }
        if (!kinds.TryGetValue("weight_ih", out Tensor? wih))
        {
            throw new ModelFormatException(file, Name("weight_ih"), "Missing.");
        }
        if (whh.Shape.Length != 2 || whh.Shape[1] < 1 || whh.Shape[0] % whh.Shape[1] != 0
            || whh.Shape[0] / whh.Shape[1] is not (1 or 3 or 4))
        {
            throw new ModelFormatException(file, whh.Name,
                $"Shape {whh.ShapeText} is not [G*H, H] with G = 1 (RNN), 3 (GRU) or 4 (LSTM) and H >= 1.");
        }
        int hidden = whh.Shape[1];
        int rows = whh.Shape[0];
        int gates = rows / hidden;
        if (wih.Shape.Length != 2 || wih.Shape[0] != rows)
        {
            throw new ModelFormatException(file, wih.Name, $"Shape {wih.ShapeText} does not match weight_hh {whh.ShapeText}: expected [{rows}, I].");
        }
        if (expectedInput >= 0 && wih.Shape[1] != expectedInput)
        {
            throw new ModelFormatException(file, wih.Name, $"Shape {wih.ShapeText}: layer {layer} takes the previous layer's {expectedInput} outputs, so expected [{rows}, {expectedInput}].");
        }
        float[] Bias(string kind)
        {
            if (!kinds.TryGetValue(kind, out Tensor? bias))
            {
                return [];
            }
            if (bias.Shape.Length != 1 || bias.Shape[0] != rows)
            {
                throw new ModelFormatException(file, bias.Name, $"Shape {bias.ShapeText}, expected [{rows}].");
            }
            return bias.Data;
        }
        return new RawLayer(Name("weight_hh"), gates, wih.Shape[1], hidden, wih.Data, whh.Data, Bias("bias_ih"), Bias("bias_hh"));
    }

    private static void MapInitialStates(string file, Dictionary<(int Layer, string Kind), Tensor> initial, ModelDescription description)
    {
        if (initial.Count == 0)
        {
            return;
        }
        foreach (RawLayer layer in description.Layers)
        {
            description.InitialHidden.Add(null);
            description.InitialCell.Add(null);
        }
        foreach (((int l, string kind), Tensor tensor) in initial)
        {
            if (l >= description.Layers.Count)
            {
                throw new ModelFormatException(file, tensor.Name, $"There is no layer {l}; the model has {description.Layers.Count}.");
            }
            RawLayer layer = description.Layers[l];
            if (tensor.Data.Length != layer.HiddenSize)
            {
                throw new ModelFormatException(file, tensor.Name, $"Shape {tensor.ShapeText}, expected [{layer.HiddenSize}] (H of layer {l}).");
            }
            if (kind == "c0")
            {
                if (layer.Gates != 4)
                {
                    throw new ModelFormatException(file, tensor.Name, $"Layer {l} is not an LSTM and has no cell state.");
                }
                description.InitialCell[l] = tensor.Data;
            }
            else
            {
                description.InitialHidden[l] = tensor.Data;
            }
        }
    }

    private static void MapHead(string file, Dictionary<string, Dictionary<string, Tensor>> linear, ModelDescription description)
    {
        if (linear.Count == 0)
        {
            return;
        }
        if (linear.Count > 1)
        {
            throw new ModelFormatException(file, null,
                $"Several linear modules ('{string.Join("', '", linear.Keys.Order(StringComparer.Ordinal))}'); a model has at most one head.");
        }
        (string prefix, Dictionary<string, Tensor> parts) = linear.Single();
        if (!parts.TryGetValue("weight", out Tensor? weight))
        {
            throw new ModelFormatException(file, prefix + "weight", "Missing: the head has a bias but no weight.");
        }
        RawLayer last = description.Layers[^1];
        int features = last.HiddenSize * (description.ReverseLayers.Count > 0 ? 2 : 1);
        if (weight.Shape.Length != 2 || weight.Shape[0] < 1 || weight.Shape[1] != features)
        {
            throw new ModelFormatException(file, weight.Name, $"Shape {weight.ShapeText}, expected [O, {features}] (O >= 1, {features} features from the last layer).");
        }
        float[] bias = [];
        if (parts.TryGetValue("bias", out Tensor? biasTensor))
        {
            if (biasTensor.Shape.Length != 1 || biasTensor.Shape[0] != weight.Shape[0])
            {
                throw new ModelFormatException(file, biasTensor.Name, $"Shape {biasTensor.ShapeText}, expected [{weight.Shape[0]}].");
            }
            bias = biasTensor.Data;
        }
        description.Head = new RawHead(weight.Name, features, weight.Shape[0], weight.Data, bias);
    }

    private static void ApplySettings(string file, Dictionary<string, string> metadata, ModelLoadOptions? options, ModelDescription description)
    {
        int layers = description.Layers.Count;
        if (options?.Nonlinearity is { } f)
        {
            description.Nonlinearities.AddRange(Enumerable.Repeat(f, layers));
        }
        else if (metadata.TryGetValue(NonlinearityKey, out string? text))
        {
            // One name for every layer, or a comma-separated name per layer.
            string[] names = text.Split(',', StringSplitOptions.TrimEntries);
            if (names.Length != 1 && names.Length != layers)
            {
                throw new ModelFormatException(file, NonlinearityKey, $"\"{text}\" names {names.Length} nonlinearities for {layers} layers.");
            }
            for (int l = 0; l < layers; l++)
            {
                description.Nonlinearities.Add(ParseActivation(file, NonlinearityKey, names[names.Length == 1 ? 0 : l]));
            }
        }
        else
        {
            // PyTorch's default, and the only choice for LSTM and GRU; for an nn.RNN the file cannot tell relu from tanh.
            description.Nonlinearities.AddRange(Enumerable.Repeat(Activation.Tanh, layers));
            description.NonlinearityAssumed = description.Layers.Any(l => l.Gates == 1);
        }

        if (options?.HeadActivation is { } g)
        {
            description.HeadActivation = g;
        }
        else if (metadata.TryGetValue(HeadActivationKey, out string? text))
        {
            description.HeadActivation = ParseActivation(file, HeadActivationKey, text);
        }

        if (options?.Skip is { } skip)
        {
            description.Skip = skip;
        }
        else if (metadata.TryGetValue(SkipKey, out string? text))
        {
            if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int parsed))
            {
                throw new ModelFormatException(file, SkipKey, $"\"{text}\" is not a non-negative integer.");
            }
            description.Skip = parsed;
        }
    }

    public static Activation ParseActivation(string file, string key, string text) => text.ToUpperInvariant() switch
    {
        "IDENTITY" or "LINEAR" or "NONE" => Activation.Identity,
        "TANH" => Activation.Tanh,
        "RELU" => Activation.Relu,
        "SIGMOID" => Activation.Sigmoid,
        "SOFTMAX" => Activation.Softmax,
        _ => throw new ModelFormatException(file, key, $"\"{text}\" is not an activation (identity, tanh, relu, sigmoid, softmax)."),
    };

    public static string ActivationName(Activation activation) => activation.ToString().ToLowerInvariant();

    private static void CheckFinite(string file, Tensor tensor)
    {
        for (int i = 0; i < tensor.Data.Length; i++)
        {
            if (!float.IsFinite(tensor.Data[i]))
            {
                throw new ModelFormatException(file, tensor.Name, $"Element {i} is {tensor.Data[i]}; weights must be finite (after conversion to float32).");
            }
        }
    }
}
