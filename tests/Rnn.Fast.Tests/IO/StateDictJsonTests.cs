using System.Globalization;
using System.Text;
using Rnn.Fast.IO;

namespace Rnn.Fast.Tests.IO;

/// <summary>The JSON of guitar-amp training scripts: sizes checked against model_data; output lin(h) + x[:skip].</summary>
public sealed class StateDictJsonTests
{
    private static string Matrix(ReadOnlySpan<float> values, int rows, int columns)
    {
        var text = new StringBuilder("[");
        for (int r = 0; r < rows; r++)
        {
            text.Append(r == 0 ? "[" : ",[");
            for (int c = 0; c < columns; c++)
            {
                text.Append(c == 0 ? "" : ",").Append(values[r * columns + c].ToString("R", CultureInfo.InvariantCulture));
            }
            text.Append(']');
        }
        return text.Append(']').ToString();
    }

    private static string Vector(ReadOnlySpan<float> values) => Matrix(values, 1, values.Length)[1..^1];

    /// <summary>The JSON of <paramref name="model"/> (one layer and a 1-output head) as the training scripts write it.</summary>
    internal static string Json(RnnModel model, string unitType, int skip, string extraModelData = "")
    {
        LayerWeights layer = model.Layers[0];
        HeadWeights head = model.Head!;
        int rows = layer.GateCount * layer.HiddenSize;
        return $$"""
            {"model_data": {"model": "SimpleRNN", "unit_type": "{{unitType}}", "input_size": {{layer.InputSize}}, "hidden_size": {{layer.HiddenSize}},
              "num_layers": 1, "output_size": {{head.OutputSize}}, "skip": {{skip}}, "bias_fl": true{{extraModelData}} },
             "state_dict": {"rec.weight_ih_l0": {{Matrix(layer.WeightIh, rows, layer.InputSize)}}, "rec.weight_hh_l0": {{Matrix(layer.WeightHh, rows, layer.HiddenSize)}},
              "rec.bias_ih_l0": {{Vector(layer.BiasIh)}}, "rec.bias_hh_l0": {{Vector(layer.BiasHh)}},
              "lin.weight": {{Matrix(head.Weight, head.OutputSize, head.InputSize)}}, "lin.bias": {{Vector(head.Bias)}} } }
            """;
    }

    [Theory]
    [InlineData("LSTM")]
    [InlineData("GRU")]
    public void Load_AmpModelJson_OutputIsHeadPlusSkippedInput(string unit)
    {
        RnnModel source = unit == "LSTM" ? RnnModel.CreateLstm(1, 8, outputSize: 1, seed: 5) : RnnModel.CreateGru(1, 8, outputSize: 1, seed: 5);
        RnnModel loaded = ModelFile.Load(Encoding.UTF8.GetBytes(Json(source, unit, skip: 1)), ModelFileFormat.StateDictJson, "amp.json");
        Assert.Equal(1, loaded.Options.Skip);

        var random = new Random(1);
        float[] x = [.. Enumerable.Range(0, 50).Select(_ => (float)(random.NextDouble() - 0.5))];
        var withoutSkip = new float[x.Length];
        var withSkip = new float[x.Length];
        source.Run(x, x.Length, source.CreateState(), withoutSkip);
        loaded.Run(x, x.Length, loaded.CreateState(), withSkip);
        for (int t = 0; t < x.Length; t++)
        {
            // Same weights parsed from round-trip text, same kernel: identical but for the residual's one rounding.
            Assert.Equal(withoutSkip[t] + x[t], withSkip[t], 1e-6f);
        }
    }

    public static TheoryData<string, string, string> Malformed => new()
    {
        { "not JSON", "{\"model_data\": ", "Not valid JSON" },
        { "no state_dict", "{\"model_data\": {}}", "state_dict" },
        { "unit_type disagrees", Json(RnnModel.CreateLstm(1, 4, outputSize: 1), "GRU", 0), "unit_type" },
        { "hidden_size disagrees", Json(RnnModel.CreateLstm(1, 4, outputSize: 1), "LSTM", 0).Replace("\"hidden_size\": 4", "\"hidden_size\": 5"), "hidden_size" },
        { "skip too large", Json(RnnModel.CreateLstm(1, 4, outputSize: 1), "LSTM", 3), "Skip" },
        { "ragged matrix", Json(RnnModel.CreateLstm(1, 4, outputSize: 1), "LSTM", 0).Replace("\"lin.weight\": [[", "\"lin.weight\": [[1],["), "rectangular" },
        { "string weight", Json(RnnModel.CreateLstm(1, 4, outputSize: 1), "LSTM", 0).Replace("\"lin.bias\": [", "\"lin.bias\": [\"x\","), "lin.bias" },
        { "overflowing weight", Json(RnnModel.CreateLstm(1, 4, outputSize: 1), "LSTM", 0).Replace("\"lin.bias\": [", "\"lin.bias\": [1e300,"), "finite" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Load_MalformedJson_ThrowsModelFormatException(string what, string json, string expected)
    {
        var e = Assert.Throws<ModelFormatException>(() => ModelFile.Load(Encoding.UTF8.GetBytes(json), ModelFileFormat.StateDictJson, "bad.json"));
        Assert.True(e.Message.Contains(expected, StringComparison.Ordinal), $"{what}: '{e.Message}' should mention '{expected}'.");
    }

    public static TheoryData<string, string, string> MalformedNam => new()
    {
        { "WaveNet", "{\"architecture\": \"WaveNet\", \"config\": {}, \"weights\": []}", "only \"LSTM\"" },
        { "too few weights", "{\"architecture\": \"LSTM\", \"config\": {\"input_size\": 1, \"hidden_size\": 3, \"num_layers\": 1}, \"weights\": [1, 2]}", "needs 70" },
        { "huge config", "{\"architecture\": \"LSTM\", \"config\": {\"input_size\": 1, \"hidden_size\": 99999999999, \"num_layers\": 1}, \"weights\": []}", "hidden_size" },
        { "config as string", "{\"architecture\": \"LSTM\", \"config\": \"big\", \"weights\": []}", "config" },
        { "array root", "[1, 2, 3]", "JSON object" },
    };

    [Theory]
    [MemberData(nameof(MalformedNam))]
    public void Load_MalformedNam_ThrowsModelFormatException(string what, string json, string expected)
    {
        var e = Assert.Throws<ModelFormatException>(() => ModelFile.Load(Encoding.UTF8.GetBytes(json), ModelFileFormat.Nam, "bad.nam"));
        Assert.True(e.Message.Contains(expected, StringComparison.Ordinal), $"{what}: '{e.Message}' should mention '{expected}'.");
    }
}
