using System.Globalization;
using System.Text;
using System.Text.Json;
using Rnn.Fast.IO;

namespace Rnn.Fast.Tests.IO;

/// <summary>
/// tools/export/rnnfast_export.py: its writer (plain Python lists in, no torch) is read back by the C# reader with
/// bitwise-equal weights and the metadata it was given; with PyTorch installed, exported modules reproduce PyTorch's
/// own outputs.
/// </summary>
public sealed class ExporterTests
{
    public static TheoryData<string> Kinds => ["elman", "lstm", "gru"];

    [Theory]
    [MemberData(nameof(Kinds))]
    public void WriteSafetensors_PlainLists_CSharpReaderLoadsTheSameModel(string kind)
    {
        var random = new Random(17);
        (RnnModel expected, string nonlinearity, bool batchFirst) = kind switch
        {
            "elman" => (RnnModel.Create(
                [LayerWeights.Random(CellType.Elman, 3, 5, random, Activation.Relu), LayerWeights.Random(CellType.Elman, 5, 4, random, Activation.Tanh)],
                HeadWeights.Random(4, 3, random, Activation.Softmax)), "['relu', 'tanh']", true),
            "lstm" => (RnnModel.Create([LayerWeights.Random(CellType.Lstm, 2, 5, random)], HeadWeights.Random(5, 2, random), null,
                new RnnModelOptions { Skip = 1 }), "None", false),
            _ => (RnnModel.Create([LayerWeights.Random(CellType.Gru, 2, 3, random), LayerWeights.Random(CellType.Gru, 3, 3, random)]), "None", true),
        };
        var tensors = new StringBuilder();
        for (int l = 0; l < expected.Layers.Count; l++)
        {
            LayerWeights layer = expected.Layers[l];
            int rows = layer.GateCount * layer.HiddenSize;
            // Nested lists for the matrices, the (shape, flat) form for the biases: both forms the writer takes.
            tensors.Append(CultureInfo.InvariantCulture, $"'rnn.weight_ih_l{l}': {Nested(layer.WeightIh, rows)},\n");
            tensors.Append(CultureInfo.InvariantCulture, $"'rnn.weight_hh_l{l}': {Nested(layer.WeightHh, rows)},\n");
            tensors.Append(CultureInfo.InvariantCulture, $"'rnn.bias_ih_l{l}': ([{rows}], {Flat(layer.BiasIh)}),\n");
            tensors.Append(CultureInfo.InvariantCulture, $"'rnn.bias_hh_l{l}': ([{rows}], {Flat(layer.BiasHh)}),\n");
        }
        string headActivation = "identity";
        if (expected.Head is { } head)
        {
            tensors.Append(CultureInfo.InvariantCulture, $"'head.weight': {Nested(head.Weight, head.OutputSize)},\n'head.bias': {Flat(head.Bias)},\n");
            headActivation = head.Activation.ToString().ToLowerInvariant();
        }
        string directory = TestFiles.TempDirectory();
        string script = $"""
            import rnnfast_export as e
            tensors = {"{"}
            {tensors}{"}"}
            e.write_safetensors('model.safetensors', tensors,
                e.rnnfast_metadata({expected.Layers.Count}, {nonlinearity}, '{headActivation}', {expected.Options.Skip}, {(batchFirst ? "True" : "False")}))
            """;
        Python.Run(Python.Plain, script, directory);

        string path = Path.Combine(directory, "model.safetensors");
        RnnModel loaded = ModelFile.Load(path);
        Assert.Equal(expected.Layers.Count, loaded.Layers.Count);
        for (int l = 0; l < expected.Layers.Count; l++)
        {
            LayerWeights e = expected.Layers[l], a = loaded.Layers[l];
            Assert.Equal((e.Cell, e.InputSize, e.HiddenSize), (a.Cell, a.InputSize, a.HiddenSize));
            if (e.Cell == CellType.Elman)
            {
                Assert.Equal(e.Nonlinearity, a.Nonlinearity);
            }
            Assert.Equal(e.WeightIh.ToArray(), a.WeightIh.ToArray());
            Assert.Equal(e.WeightHh.ToArray(), a.WeightHh.ToArray());
            Assert.Equal(e.BiasIh.ToArray(), a.BiasIh.ToArray());
            Assert.Equal(e.BiasHh.ToArray(), a.BiasHh.ToArray());
        }
        Assert.Equal(expected.Head is null, loaded.Head is null);
        if (expected.Head is { } h)
        {
            Assert.Equal(h.Activation, loaded.Head!.Activation);
            Assert.Equal(h.Weight.ToArray(), loaded.Head.Weight.ToArray());
            Assert.Equal(h.Bias.ToArray(), loaded.Head.Bias.ToArray());
        }
        Assert.Equal(expected.Options.Skip, loaded.Options.Skip);
        Assert.Equal(batchFirst, ModelFile.ReadBatchFirst(path));
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public void ReadBatchFirst_NotRecordedOrNotSafetensors_Null()
    {
        string directory = TestFiles.TempDirectory();
        string path = Path.Combine(directory, "plain.safetensors");
        ModelFile.SaveSafetensors(RnnModel.CreateGru(2, 3, seed: 1), path);
        Assert.Null(ModelFile.ReadBatchFirst(path));
        Assert.Null(ModelFile.ReadBatchFirst(TestFiles.Fixture("nam-lstm-example.nam")));
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public void ReadBatchFirst_NotABoolean_ModelFormatExceptionNamesTheKey()
    {
        string directory = TestFiles.TempDirectory();
        Python.Run(Python.Plain, """
            import rnnfast_export as e
            e.write_safetensors('bad.safetensors', {'weight_ih_l0': [[1.0]], 'weight_hh_l0': [[0.5]]}, {'rnnfast.batch_first': 'yes'})
            """, directory);
        var error = Assert.Throws<ModelFormatException>(() => ModelFile.ReadBatchFirst(Path.Combine(directory, "bad.safetensors")));
        Assert.Contains(ModelFile.BatchFirstKey, error.Message, StringComparison.Ordinal);
        Directory.Delete(directory, recursive: true);
    }

    /// <summary>
    /// PyTorch modules (batch-first Elman ReLU, LSTM and GRU, each with a tanh head applied in forward) exported with
    /// <c>export()</c>, and a time-major state_dict exported through the command line, give PyTorch's outputs here.
    /// </summary>
    [TorchFact]
    public void Export_PyTorchModules_CSharpReproducesPyTorchOutputs()
    {
        string directory = TestFiles.TempDirectory();
        Python.Run(Python.WithTorch!, """
            import json, torch, torch.nn as nn
            from rnnfast_export import export, main
            torch.manual_seed(7)
            class Net(nn.Module):
                def __init__(self, kind):
                    super().__init__()
                    if kind == 'rnn': self.rnn = nn.RNN(3, 6, num_layers=2, nonlinearity='relu', batch_first=True)
                    elif kind == 'lstm': self.rnn = nn.LSTM(3, 6, num_layers=2, batch_first=True)
                    else: self.rnn = nn.GRU(3, 6, batch_first=True)
                    self.head = nn.Linear(6, 2)
                def forward(self, x):
                    return torch.tanh(self.head(self.rnn(x)[0]))
            results = {}
            for kind in ['rnn', 'lstm', 'gru']:
                net = Net(kind).eval()
                x = torch.randn(2, 9, 3)  # [B, T, I]
                with torch.no_grad():
                    y = net(x)
                export(net, kind + '.safetensors', head_activation='tanh')
                results[kind] = {'x': x.reshape(-1).tolist(), 'y': y.reshape(-1).tolist(), 'shape': [2, 9, 3, 2]}
            rnn = nn.RNN(2, 4, nonlinearity='relu')
            torch.save(rnn.state_dict(), 'sd.pt')
            main(['sd.pt', 'sd.safetensors', '--nonlinearity', 'relu'])
            x = torch.randn(5, 1, 2)  # [T, B, I]
            with torch.no_grad():
                y = rnn(x)[0]
            results['sd'] = {'x': x.reshape(-1).tolist(), 'y': y.reshape(-1).tolist(), 'shape': [5, 1, 2, 4]}
            json.dump(results, open('results.json', 'w'))
            """, directory);

        using JsonDocument results = JsonDocument.Parse(File.ReadAllText(Path.Combine(directory, "results.json")));
        foreach (JsonProperty result in results.RootElement.EnumerateObject())
        {
            string path = Path.Combine(directory, result.Name + ".safetensors");
            float[] x = [.. result.Value.GetProperty("x").EnumerateArray().Select(v => v.GetSingle())];
            float[] expected = [.. result.Value.GetProperty("y").EnumerateArray().Select(v => v.GetSingle())];
            int[] shape = [.. result.Value.GetProperty("shape").EnumerateArray().Select(v => v.GetInt32())];
            bool batchFirst = result.Name != "sd";
            Assert.Equal(batchFirst, ModelFile.ReadBatchFirst(path));

            RnnModel model = ModelFile.Load(path);
            (int b, int t, int outputs) = batchFirst ? (shape[0], shape[1], shape[3]) : (shape[1], shape[0], shape[3]);
            float[] timeMajorX = batchFirst ? Transpose(x, b, t, model.InputSize) : x;
            var y = new float[t * b * outputs];
            model.Run(timeMajorX, t, model.CreateState(b), y);
            float[] actual = batchFirst ? Transpose(y, t, b, outputs) : y;
            for (int i = 0; i < expected.Length; i++)
            {
                Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5f + 1e-5f * Math.Abs(expected[i]),
                    $"{result.Name}[{i}]: PyTorch {expected[i]}, Rnn.Fast {actual[i]}");
            }
        }
        Directory.Delete(directory, recursive: true);
    }

    /// <summary>[A, B, C] -> [B, A, C].</summary>
    private static float[] Transpose(float[] data, int a, int b, int c)
    {
        var result = new float[data.Length];
        for (int i = 0; i < a; i++)
        {
            for (int j = 0; j < b; j++)
            {
                data.AsSpan((i * b + j) * c, c).CopyTo(result.AsSpan((j * a + i) * c, c));
            }
        }
        return result;
    }

    // Each float as the exact double it is, so Python's float -> float32 packing gives back the same bits.
    private static string Flat(ReadOnlySpan<float> values)
    {
        var text = new StringBuilder("[");
        foreach (float v in values)
        {
            text.Append(((double)v).ToString("R", CultureInfo.InvariantCulture)).Append(", ");
        }
        return text.Append(']').ToString();
    }

    private static string Nested(ReadOnlySpan<float> values, int rows)
    {
        int columns = values.Length / rows;
        var text = new StringBuilder("[");
        for (int r = 0; r < rows; r++)
        {
            text.Append(Flat(values.Slice(r * columns, columns))).Append(", ");
        }
        return text.Append(']').ToString();
    }
}
