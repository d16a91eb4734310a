using System.Text.Json;

namespace Rnn.Fast.IO;

/// <summary>
/// Reads a Neural Amp Modeler <c>.nam</c> file of architecture <c>"LSTM"</c>: <c>config</c> gives input_size,
/// hidden_size and num_layers; <c>weights</c> is one flat array holding, per layer, <c>W [4H, in + H]</c>
/// (columns <c>[W_ih | W_hh]</c>, gates i, f, g, o), the summed bias <c>b [4H]</c>, <c>h0 [H]</c> and <c>c0 [H]</c>;
/// then the head's H weights and 1 bias. The array must be used up exactly.
/// </summary>
internal static class NamFile
{
    // Far above any real amp model, and small enough that the size arithmetic below stays in range.
    private const int MaxSize = 1 << 14;
    private const int MaxLayers = 64;

    public static ModelDescription Read(ReadOnlyMemory<byte> content, string file)
    {
        using JsonDocument document = JsonFields.Parse(content, file);
        JsonElement root = document.RootElement;
        string architecture = JsonFields.String(root, "architecture", file);
        if (architecture != "LSTM")
        {
            throw new ModelFormatException(file, "architecture", $"\"{architecture}\" models are not supported; only \"LSTM\".");
        }
        JsonElement config = JsonFields.Object(root, "config", file);
        int inputSize = JsonFields.Int(config, "input_size", file, 1, MaxSize);
        int hiddenSize = JsonFields.Int(config, "hidden_size", file, 1, MaxSize);
        int layers = JsonFields.Int(config, "num_layers", file, 1, MaxLayers);
        JsonElement weights = JsonFields.Array(root, "weights", file);

        // Check the count before reading a single number, so a wrong config is reported as such.
        long expected = hiddenSize + 1L;
        for (int l = 0; l < layers; l++)
        {
            int input = l == 0 ? inputSize : hiddenSize;
            expected += 4L * hiddenSize * (input + hiddenSize) + 4L * hiddenSize + 2L * hiddenSize;
        }
        int count = weights.GetArrayLength();
        if (count != expected)
        {
            throw new ModelFormatException(file, "weights",
                $"Has {count} numbers but an LSTM of input {inputSize}, hidden {hiddenSize} and {layers} layers with a 1-output head needs {expected}.");
        }

        var flat = new float[count];
        int index = 0;
        foreach (JsonElement value in weights.EnumerateArray())
        {
            flat[index] = JsonFields.Float(value, file, $"weights[{index}]");
            index++;
        }

        var description = new ModelDescription(file) { SampleRate = JsonFields.OptionalPositive(root, "sample_rate", file) };
        int position = 0;
        ReadOnlySpan<float> Take(int length)
        {
            ReadOnlySpan<float> span = flat.AsSpan(position, length);
            position += length;
            return span;
        }
        int rows = 4 * hiddenSize;
        for (int l = 0; l < layers; l++)
        {
            int input = l == 0 ? inputSize : hiddenSize;
            ReadOnlySpan<float> w = Take(rows * (input + hiddenSize)); // [4H, in + H] = [W_ih | W_hh]
            var weightIh = new float[rows * input];
            var weightHh = new float[rows * hiddenSize];
            for (int r = 0; r < rows; r++)
            {
                w.Slice(r * (input + hiddenSize), input).CopyTo(weightIh.AsSpan(r * input));
                w.Slice(r * (input + hiddenSize) + input, hiddenSize).CopyTo(weightHh.AsSpan(r * hiddenSize));
            }
            // NAM stores b_ih + b_hh already summed; the sum as b_ih with b_hh zero computes the same.
            float[] bias = Take(rows).ToArray();
            description.Layers.Add(new RawLayer($"weights (layer {l})", 4, input, hiddenSize, weightIh, weightHh, bias, new float[rows]));
            description.Nonlinearities.Add(Activation.Tanh);
            description.InitialHidden.Add(Take(hiddenSize).ToArray());
            description.InitialCell.Add(Take(hiddenSize).ToArray());
        }
        float[] headWeight = Take(hiddenSize).ToArray();
        float[] headBias = Take(1).ToArray();
        description.Head = new RawHead("weights (head)", hiddenSize, 1, headWeight, headBias);
        return description;
    }
}
