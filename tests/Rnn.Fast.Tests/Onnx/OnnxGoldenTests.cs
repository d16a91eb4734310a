using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Rnn.Fast.Cli;
using Rnn.Fast.IO;
using Rnn.Fast.Onnx;

namespace Rnn.Fast.Tests.Onnx;

/// <summary>
/// Models exported by torch.onnx.export from PyTorch 1.13 (tools/onnx/generate.py): nn.RNN tanh/ReLU, nn.LSTM, nn.GRU,
/// stacked, bidirectional, batch-first, with and without an nn.Linear head (MatMul+Add or Gemm) and activation, opsets
/// 11/14/17, dynamic and fixed axes, zero/learned/run-time initial states. Each loads and reproduces PyTorch's output
/// and final state on every kernel, and ONNX Runtime running the same file agrees with both.
/// </summary>
public sealed class OnnxGoldenTests
{
    private const double Relative = 1e-5;
    private const double Absolute = 2e-6;

    private static string[] Names => [.. Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Golden", "onnx"), "*.onnx")
        .Select(Path.GetFileNameWithoutExtension).OfType<string>().Order(StringComparer.Ordinal)];

    public static TheoryData<string, string> Cases
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (string name in Names)
            {
                foreach (string kernel in RnnKernels.Available)
                {
                    data.Add(name, kernel);
                }
            }
            return data;
        }
    }

    public static TheoryData<string> Files => [.. Names];

    private static string Golden(string name) => Path.Combine(AppContext.BaseDirectory, "Golden", "onnx", name);

    private static Signal? Optional(string name) => File.Exists(Golden(name)) ? NpyFile.Read(Golden(name)) : null;

    [Fact]
    public void Golden_AllCasesPresent()
    {
        Assert.True(Names.Length >= 12, $"{Names.Length} ONNX golden files");
        foreach (string op in new[] { "lstm", "gru", "rnn" })
        {
            Assert.Contains(Names, n => n.StartsWith(op, StringComparison.Ordinal));
        }
        foreach (string opset in new[] { "o11", "o14", "o17" })
        {
            Assert.Contains(Names, n => n.Contains(opset, StringComparison.Ordinal));
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Import_TorchExport_MatchesPyTorchOutputAndFinalState(string name, string kernel)
    {
        OnnxImport import = OnnxModelFile.Import(Golden(name + ".onnx"), new ModelLoadOptions { Kernel = kernel });
        RnnModel model = import.Model;
        Assert.Equal(kernel, model.Kernel);
        Assert.Equal(name.Contains("batch_first", StringComparison.Ordinal), import.BatchFirst);
        Signal input = NpyFile.Read(Golden(name + ".input.npy"));
        Signal expected = NpyFile.Read(Golden(name + ".output.npy"));
        // .npy [A, B, C] reads as Steps = A, Batch = B; batch-first files hold [B, T, ·].
        (int steps, int batch) = import.BatchFirst ? (input.Batch, input.Steps) : (input.Steps, input.Batch);
        Assert.Equal(model.InputSize, input.Channels);
        Assert.Equal(model.OutputSize, expected.Channels);

        RnnState state = model.CreateState(batch);
        int directions = model.IsBidirectional ? 2 : 1;
        Signal? h0 = Optional(name + ".h0.npy");
        Signal? c0 = Optional(name + ".c0.npy");
        Assert.Equal(h0 is null ? 0 : c0 is null ? 1 : 2, import.StateInputs.Count);
        ForEachState(model, batch, (l, d, b, offset, h) =>
        {
            h0?.Data.AsSpan(offset, h).CopyTo(state.Hidden(l, b, d == 1));
            c0?.Data.AsSpan(offset, h).CopyTo(state.Cell(l, b, d == 1));
        });
        var output = new float[steps * batch * model.OutputSize];
        model.Run(import.BatchFirst ? Transpose(input.Data, batch, steps, input.Channels) : input.Data, steps, state, output);
        AssertClose(expected.Data, import.BatchFirst ? Transpose(output, steps, batch, model.OutputSize) : output, $"{name} output");

        Signal? hN = Optional(name + ".h_n.npy");
        Signal? cN = Optional(name + ".c_n.npy");
        if (hN is not null)
        {
            Assert.Equal(model.Layers.Count * directions, hN.Steps);
        }
        ForEachState(model, batch, (l, d, b, offset, h) =>
        {
            if (hN is not null)
            {
                AssertClose(hN.Data.AsSpan(offset, h), state.Hidden(l, b, d == 1), $"{name} h_n layer {l} dir {d} stream {b}");
            }
            if (cN is not null)
            {
                AssertClose(cN.Data.AsSpan(offset, h), state.Cell(l, b, d == 1), $"{name} c_n layer {l} dir {d} stream {b}");
            }
        });
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void OnnxRuntime_SameFile_AgreesWithPyTorchAndRnnFast(string name)
    {
        using var session = new InferenceSession(Golden(name + ".onnx"));
        Signal input = NpyFile.Read(Golden(name + ".input.npy"));
        Signal expected = NpyFile.Read(Golden(name + ".output.npy"));
        var feeds = new List<NamedOnnxValue> { Named(session.InputMetadata.Keys.First(), input) };
        foreach (string state in session.InputMetadata.Keys.Skip(1))
        {
            feeds.Add(Named(state, NpyFile.Read(Golden($"{name}.{state}.npy"))));
        }
        using IDisposableReadOnlyCollection<DisposableNamedOnnxValue> results = session.Run(feeds);
        float[] ort = [.. results.First().AsTensor<float>()];
        AssertClose(expected.Data, ort, $"{name} ONNX Runtime vs PyTorch");

        OnnxImport import = OnnxModelFile.Import(Golden(name + ".onnx"));
        Assert.Equal(session.InputMetadata.Keys.First(), import.InputName);
        Assert.Equal(session.InputMetadata.Keys.Skip(1), import.StateInputs);
        Assert.Equal(session.OutputMetadata.Keys.First(), import.OutputName);
        if (import.StateInputs.Count == 0)
        {
            RnnModel model = import.Model;
            (int steps, int batch) = import.BatchFirst ? (input.Batch, input.Steps) : (input.Steps, input.Batch);
            var output = new float[steps * batch * model.OutputSize];
            model.Run(import.BatchFirst ? Transpose(input.Data, batch, steps, input.Channels) : input.Data, steps, model.CreateState(batch), output);
            AssertClose(ort, import.BatchFirst ? Transpose(output, steps, batch, model.OutputSize) : output, $"{name} Rnn.Fast vs ONNX Runtime");
        }
    }

    private static NamedOnnxValue Named(string name, Signal signal) =>
        NamedOnnxValue.CreateFromTensor(name, new DenseTensor<float>(signal.Data, [signal.Steps, signal.Batch, signal.Channels]));

    // (layer, direction, stream, offset into a [layers * directions, B, H] array, H)
    private static void ForEachState(RnnModel model, int batch, Action<int, int, int, int, int> action)
    {
        int directions = model.IsBidirectional ? 2 : 1;
        for (int l = 0; l < model.Layers.Count; l++)
        {
            int h = model.Layers[l].HiddenSize;
            for (int d = 0; d < directions; d++)
            {
                for (int b = 0; b < batch; b++)
                {
                    action(l, d, b, ((l * directions + d) * batch + b) * h, h);
                }
            }
        }
    }

    /// <summary>[A, B, C] → [B, A, C].</summary>
    internal static float[] Transpose(float[] data, int a, int b, int c)
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

    internal static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double error = Math.Abs((double)actual[i] - expected[i]);
            Assert.True(error <= Absolute + Relative * Math.Abs(expected[i]),
                $"{what}[{i}]: {actual[i]} vs {expected[i]} (error {error:e2})");
        }
    }
}
