using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Rnn.Fast.IO;
using Rnn.Fast.Onnx;

namespace Rnn.Fast.Tests.Onnx;

/// <summary>
/// RnnModel → ONNX: ONNX Runtime runs the exported file and gives Rnn.Fast's output, and the importer reads it back to
/// the same model (bitwise-equal weights), for every cell, stacked, bidirectional, heads, initial states and the residual.
/// </summary>
public sealed class OnnxExportTests
{
    private const int Steps = 6;
    private const int Batch = 3;

    public static TheoryData<string> Kinds =>
        ["lstm", "lstm-stacked-softmax", "lstm-bidir-initial", "gru-bidir-stacked", "gru-sigmoid-initial", "elman-relu-stacked", "elman-tanh-bidir-head", "lstm-skip"];

    private static RnnModel Model(string kind)
    {
        var random = new Random(kind.Length * 31 + kind[0]);
        LayerWeights Layer(CellType cell, int i, int h, Activation g = Activation.Tanh) => LayerWeights.Random(cell, i, h, random, g);
        float[] State(int h) => [.. Enumerable.Range(0, h).Select(_ => (float)(random.NextDouble() - 0.5))];
        return kind switch
        {
            "lstm" => RnnModel.Create([Layer(CellType.Lstm, 3, 5)]),
            "lstm-stacked-softmax" => RnnModel.Create([Layer(CellType.Lstm, 2, 6), Layer(CellType.Lstm, 6, 4)], HeadWeights.Random(4, 3, random, Activation.Softmax)),
            "lstm-bidir-initial" => RnnModel.Create([Layer(CellType.Lstm, 3, 4)], HeadWeights.Random(8, 2, random), options: new RnnModelOptions
            {
                ReverseLayers = [Layer(CellType.Lstm, 3, 4)],
                InitialHidden = [State(4)],
                InitialCell = [State(4)],
            }),
            "gru-bidir-stacked" => RnnModel.Create([Layer(CellType.Gru, 3, 4), Layer(CellType.Gru, 8, 3)], options: new RnnModelOptions
            {
                ReverseLayers = [Layer(CellType.Gru, 3, 4), Layer(CellType.Gru, 8, 3)],
            }),
            "gru-sigmoid-initial" => RnnModel.Create([Layer(CellType.Gru, 2, 5), Layer(CellType.Gru, 5, 5)], HeadWeights.Random(5, 2, random, Activation.Sigmoid),
                options: new RnnModelOptions { InitialHidden = [null, State(5)] }),
            "elman-relu-stacked" => RnnModel.Create([Layer(CellType.Elman, 3, 4, Activation.Relu), Layer(CellType.Elman, 4, 4, Activation.Relu)], HeadWeights.Random(4, 2, random, Activation.Relu)),
            "elman-tanh-bidir-head" => RnnModel.Create([Layer(CellType.Elman, 2, 3)], HeadWeights.Random(6, 2, random, Activation.Tanh), options: new RnnModelOptions
            {
                ReverseLayers = [Layer(CellType.Elman, 2, 3)],
            }),
            _ => RnnModel.Create([Layer(CellType.Lstm, 2, 4)], HeadWeights.Random(4, 2, random), options: new RnnModelOptions { Skip = 1 }),
        };
    }

    private static float[] Input(RnnModel model, int seed)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, Steps * Batch * model.InputSize).Select(_ => (float)(random.NextDouble() * 2 - 1))];
    }

    private static float[] RunRnnFast(RnnModel model, float[] x)
    {
        var y = new float[Steps * Batch * model.OutputSize];
        model.Run(x, Steps, model.CreateState(Batch), y);
        return y;
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Save_OnnxRuntimeRunsIt_SameOutputAsRnnFast(string kind)
    {
        RnnModel model = Model(kind);
        float[] x = Input(model, 5);
        using var session = new InferenceSession(OnnxModelFile.ToBytes(model));
        using IDisposableReadOnlyCollection<DisposableNamedOnnxValue> results =
            session.Run([NamedOnnxValue.CreateFromTensor("x", new DenseTensor<float>(x, [Steps, Batch, model.InputSize]))]);
        float[] ort = [.. results.First().AsTensor<float>()];
        OnnxGoldenTests.AssertClose(RunRnnFast(model, x), ort, $"{kind}: ONNX Runtime vs Rnn.Fast");
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Save_ThenLoad_SameModel(string kind)
    {
        RnnModel model = Model(kind);
        string dir = TestFiles.TempDirectory();
        try
        {
            string path = Path.Combine(dir, kind + ".onnx");
            OnnxModelFile.Save(model, path);
            Assert.Single(Directory.GetFiles(dir));
            if (model.Options.Skip > 0)
            {
                // The residual is written as MatMul(x) + Add, which ONNX Runtime runs but the importer does not read.
                Assert.Throws<ModelFormatException>(() => OnnxModelFile.Load(path));
                return;
            }
            RnnModel loaded = OnnxModelFile.Load(path);
            Assert.Equal(model.Layers.Count, loaded.Layers.Count);
            Assert.Equal(model.IsBidirectional, loaded.IsBidirectional);
            for (int l = 0; l < model.Layers.Count; l++)
            {
                AssertSameLayer(model.Layers[l], loaded.Layers[l]);
                if (model.Options.ReverseLayers is { } reverse)
                {
                    AssertSameLayer(reverse[l], loaded.Options.ReverseLayers![l]);
                }
                Assert.Equal(model.Options.InitialHidden?[l], loaded.Options.InitialHidden?[l]);
                Assert.Equal(model.Options.InitialCell?[l], loaded.Options.InitialCell?[l]);
            }
            Assert.Equal(model.Head?.Weight.ToArray(), loaded.Head?.Weight.ToArray());
            Assert.Equal(model.Head?.Bias.ToArray(), loaded.Head?.Bias.ToArray());
            Assert.Equal(model.Head?.Activation, loaded.Head?.Activation);
            float[] x = Input(model, 9);
            Assert.Equal(RunRnnFast(model, x), RunRnnFast(loaded, x));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static void AssertSameLayer(LayerWeights expected, LayerWeights actual)
    {
        Assert.Equal((expected.Cell, expected.InputSize, expected.HiddenSize, expected.Nonlinearity), (actual.Cell, actual.InputSize, actual.HiddenSize, actual.Nonlinearity));
        Assert.Equal(expected.WeightIh.ToArray(), actual.WeightIh.ToArray());
        Assert.Equal(expected.WeightHh.ToArray(), actual.WeightHh.ToArray());
        Assert.Equal(expected.BiasIh.ToArray(), actual.BiasIh.ToArray());
        Assert.Equal(expected.BiasHh.ToArray(), actual.BiasHh.ToArray());
    }
}
