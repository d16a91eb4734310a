using System.Globalization;
using System.Text.RegularExpressions;
using Rnn.Fast.Internals;

namespace Rnn.Fast.IO;

/// <summary>
/// Maps PyTorch <c>state_dict</c> tensor names to a <see cref="ModelDescription"/>: one nn.RNN / nn.LSTM / nn.GRU
/// (<c>{prefix}weight_ih_l{k}</c>, <c>weight_hh_l{k}</c>, <c>bias_ih_l{k}</c>, <c>bias_hh_l{k}</c>, each optionally
/// with <c>_reverse</c>), an optional nn.Linear (<c>{prefix}weight</c>, <c>{prefix}bias</c>), and the Rnn.Fast
/// extension <c>{prefix}h0_l{k}</c> / <c>{prefix}c0_l{k}</c> for initial states.
/// </summary>
/// <remarks>
/// <para>The cell type of each layer is read from <c>weight_hh</c>'s shape <c>[G*H, H]</c>: G = 1 Elman, 3 GRU, 4 LSTM.
/// Anything else in the file is rejected rather than ignored, since a tensor we do not understand (an LSTM
/// projection <c>weight_hr</c>, a second head) means the model would run wrong.</para>
/// <para>Reduced precision (docs/precision-files.md): an int8 weight matrix is an I8 tensor with an F32 tensor
/// <c>{matrix}.scale</c> of one scale per row; <c>rnnfast.weight_precision</c> (<c>float32</c>, <c>bf16</c>, <c>int8</c>)
/// states the precision, and without it the dtypes decide: every matrix BF16 loads as bf16 (PyTorch's own files of a
/// <c>model.to(torch.bfloat16)</c>), I8 as int8, anything else (F32, F16, F64, or float dtypes mixed) as float32, the
/// widest, which holds every value exactly. I8 mixed with other matrix dtypes, or matrices contradicting the key, are refused.</para>
/// </remarks>
internal static partial class StateDictMapper
{
    public const string NonlinearityKey = "rnnfast.nonlinearity";
    public const string HeadActivationKey = "rnnfast.head_activation";
    public const string SkipKey = "rnnfast.skip";

    /// <summary>The metadata key for the precision of the weight matrices: <c>bf16</c> or <c>int8</c> (written only for those), or <c>float32</c>.</summary>
    public const string WeightPrecisionKey = "rnnfast.weight_precision";

    /// <summary>The scales of int8 matrix <c>M</c> are the F32 tensor <c>M.scale</c>, one per row.</summary>
    public const string ScaleSuffix = ".scale";

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

        foreach (Tensor tensor in ApplyScales(set))
        {
            CheckFinite(file, tensor);
            Match match = RecurrentName().Match(tensor.Name);
            if (match.Success)
            {
                CheckInt8Role(file, tensor, match.Groups["kind"].Value is "weight_ih" or "weight_hh");
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
                CheckInt8Role(file, tensor, isMatrix: false);
                initialPrefixes.Add(match.Groups["prefix"].Value);
                initial[(int.Parse(match.Groups["layer"].Value, CultureInfo.InvariantCulture), match.Groups["kind"].Value)] = tensor;
                continue;
            }
            match = LinearName().Match(tensor.Name);
            if (match.Success)
            {
                CheckInt8Role(file, tensor, match.Groups["kind"].Value == "weight");
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

        // Every weight matrix, first layer to last, then the reverse ones, then the head's (all present: checked above).
        IEnumerable<Tensor> matrices = recurrent.OrderBy(p => p.Key.Reverse).ThenBy(p => p.Key.Layer)
            .SelectMany(p => new[] { p.Value["weight_ih"], p.Value["weight_hh"] })
            .Concat(linear.Values.Select(parts => parts["weight"]));
        description.Precision = PrecisionOf(file, [.. matrices], set.Metadata);
        return description;
    }

    /// <summary>The name <see cref="WeightPrecisionKey"/> gives a precision.</summary>
    public static string PrecisionName(WeightPrecision precision) => precision switch
    {
        WeightPrecision.BFloat16 => "bf16",
        WeightPrecision.Int8 => "int8",
        _ => "float32",
    };

    /// <summary>
    /// The precision of the weight matrices: <see cref="WeightPrecisionKey"/> when the file states it (and then every
    /// matrix must agree), else what the dtypes say (see the class remarks).
    /// </summary>
    private static WeightPrecision PrecisionOf(string file, Tensor[] matrices, Dictionary<string, string> metadata)
    {
        WeightPrecision? declared = null;
        if (metadata.TryGetValue(WeightPrecisionKey, out string? text))
        {
            declared = text.ToUpperInvariant() switch
            {
                "FLOAT32" or "FP32" => WeightPrecision.Float32,
                "BF16" or "BFLOAT16" => WeightPrecision.BFloat16,
                "INT8" => WeightPrecision.Int8,
                _ => throw new ModelFormatException(file, WeightPrecisionKey, $"\"{text}\" is not a weight precision (float32, bf16, int8)."),
            };
        }
        if (declared == WeightPrecision.Int8 || matrices.Any(m => m.Type == TensorType.I8))
        {
            if (declared is { } other && other != WeightPrecision.Int8)
            {
                throw new ModelFormatException(file, WeightPrecisionKey,
                    $"\"{text}\", but '{matrices.First(m => m.Type == TensorType.I8).Name}' is I8: an int8 matrix makes an int8 model.");
            }
            if (matrices.FirstOrDefault(m => m.Type != TensorType.I8) is { } odd)
            {
                throw new ModelFormatException(file, odd.Name, declared is null
                    ? $"dtype {odd.Type}, but other weight matrices are I8: an int8 file stores every weight matrix as I8 with its scales (mixed precisions are not loaded)."
                    : $"dtype {odd.Type}, but {WeightPrecisionKey} is int8: every weight matrix must be I8 with its scales.");
            }
            return WeightPrecision.Int8;
        }
        if (declared == WeightPrecision.BFloat16)
        {
            if (matrices.FirstOrDefault(m => m.Type != TensorType.BF16) is { } odd)
            {
                throw new ModelFormatException(file, odd.Name, $"dtype {odd.Type}, but {WeightPrecisionKey} is bf16: every weight matrix must be BF16.");
            }
            return WeightPrecision.BFloat16;
        }
        if (declared is null && matrices.All(m => m.Type == TensorType.BF16))
        {
            // PyTorch's own file of a bf16 model: keep its weights as they are, bit for bit, in half the bytes.
            return WeightPrecision.BFloat16;
        }
        // Float32 stated, or float dtypes mixed (BF16, F16 and F32 values are all exact in float32: the widest loses nothing).
        return WeightPrecision.Float32;
    }

    /// <summary>
    /// The file's tensors with every I8 matrix resolved against its <c>.scale</c> tensor (<see cref="Tensor.WithScales"/>), and the
    /// scale tensors taken out. Every inconsistency (scales without an I8 matrix, an I8 matrix without scales, a scale of the
    /// wrong dtype or shape or value, a −128) is reported here, naming the tensor and what was expected.
    /// </summary>
    private static List<Tensor> ApplyScales(TensorSet set)
    {
        string file = set.FileName;
        var result = new List<Tensor>(set.Tensors.Count);
        foreach (Tensor tensor in set.Tensors.Values)
        {
            if (tensor.Name.EndsWith(ScaleSuffix, StringComparison.Ordinal))
            {
                string matrix = tensor.Name[..^ScaleSuffix.Length];
                if (!set.Tensors.TryGetValue(matrix, out Tensor? owner))
                {
                    throw new ModelFormatException(file, tensor.Name, $"Scales without a matrix: the file has no tensor '{matrix}'.");
                }
                if (owner.Type != TensorType.I8)
                {
                    throw new ModelFormatException(file, tensor.Name, $"'{matrix}' is {owner.Type}, not I8: only an int8 matrix has scales.");
                }
                continue; // read with its matrix
            }
            result.Add(tensor.Type == TensorType.I8 ? Scaled(file, tensor, set.Tensors) : tensor);
        }
        return result;
    }

    private static Tensor Scaled(string file, Tensor matrix, Dictionary<string, Tensor> tensors)
    {
        if (matrix.Shape.Length != 2)
        {
            throw new ModelFormatException(file, matrix.Name, $"Shape {matrix.ShapeText}: an I8 tensor must be a weight matrix [rows, K].");
        }
        int rows = matrix.Shape[0], columns = matrix.Shape[1];
        string scaleName = matrix.Name + ScaleSuffix;
        if (!tensors.TryGetValue(scaleName, out Tensor? scale))
        {
            throw new ModelFormatException(file, matrix.Name, $"An I8 matrix needs its scales: an F32 tensor '{scaleName}' of shape [{rows}], one per row.");
        }
        if (scale.Type != TensorType.F32)
        {
            throw new ModelFormatException(file, scaleName, $"dtype {scale.Type}; the scales of '{matrix.Name}' must be F32 of shape [{rows}].");
        }
        if (scale.Shape.Length != 1 || scale.Shape[0] != rows)
        {
            throw new ModelFormatException(file, scaleName, $"Shape {scale.ShapeText}, expected [{rows}]: one scale per row of '{matrix.Name}' {matrix.ShapeText}.");
        }
        for (int r = 0; r < rows; r++)
        {
            float s = scale.Data[r];
            // As ReducedMatrix.SetInt8: q · s must be finite for every q in ±127, so that a loaded model never computes an infinity.
            if (!(s >= 0f) || !float.IsFinite(WeightQuantization.Int8Max * s))
            {
                throw new ModelFormatException(file, scaleName,
                    $"Element {r} is {s}; a scale must be finite, at least 0, and at most {float.MaxValue / WeightQuantization.Int8Max:G9} (127 × scale finite).");
            }
        }
        for (int i = 0; i < matrix.Int8.Length; i++)
        {
            if (matrix.Int8[i] < -WeightQuantization.Int8Max)
            {
                throw new ModelFormatException(file, matrix.Name,
                    $"Element [{i / columns}, {i % columns}] is {matrix.Int8[i]}; the int8 scheme is symmetric, every value in [-127, 127].");
            }
        }
        return matrix.WithScales(scale.Data);
    }

    private static void CheckInt8Role(string file, Tensor tensor, bool isMatrix)
    {
        if (tensor.Type == TensorType.I8 && !isMatrix)
        {
            throw new ModelFormatException(file, tensor.Name, "dtype I8 is only for weight matrices; biases and initial states are floating point (F32).");
        }
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
        return new RawLayer(Name("weight_hh"), gates, wih.Shape[1], hidden, wih.Data, whh.Data, Bias("bias_ih"), Bias("bias_hh"))
        {
            Int8Ih = Int8Of(wih),
            Int8Hh = Int8Of(whh),
        };
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
        description.Head = new RawHead(weight.Name, features, weight.Shape[0], weight.Data, bias) { Int8 = Int8Of(weight) };
    }

    /// <summary>The int8 values and scales of a resolved I8 matrix, to build the model from them exactly; null for a float matrix.</summary>
    private static Int8Matrix? Int8Of(Tensor matrix) => matrix.Type == TensorType.I8 ? new Int8Matrix(matrix.Int8, matrix.Scales) : null;

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
