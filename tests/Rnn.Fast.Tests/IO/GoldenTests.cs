using Rnn.Fast.Cli;
using Rnn.Fast.Internals;
using Rnn.Fast.IO;

namespace Rnn.Fast.Tests.IO;

/// <summary>
/// Models saved by PyTorch 1.13 (tools/golden/generate.py) load and reproduce PyTorch's outputs and final states,
/// on every kernel this machine has: nn.RNN tanh/ReLU, nn.LSTM, nn.GRU, stacked, bidirectional, with and without a head,
/// weights stored as F32, F64, F16 and BF16.
/// </summary>
public sealed class GoldenTests
{
    // Float32 against float32 PyTorch: both round, in different orders, so allow a few ulps of relative error
    // plus a small absolute floor for values near zero.
    private const double Relative = 1e-5;
    private const double Absolute = 2e-6;

    public static TheoryData<string, string> Cases
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (string file in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Golden"), "*.safetensors").Order(StringComparer.Ordinal))
            {
                foreach (RnnKernel kernel in KernelRegistry.Available)
                {
                    data.Add(Path.GetFileNameWithoutExtension(file), kernel.Name);
                }
            }
            return data;
        }
    }

    [Fact]
    public void Golden_AllCasesPresent() => Assert.True(Cases.Count >= 10 * KernelRegistry.Available.Count);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Load_PyTorchModel_MatchesPyTorchOutputAndFinalState(string name, string kernel)
    {
        RnnModel model = ModelFile.Load(TestFiles.Golden(name + ".safetensors"), new ModelLoadOptions { Kernel = kernel });
        Signal input = NpyFile.Read(TestFiles.Golden(name + ".input.npy"));
        Signal expected = NpyFile.Read(TestFiles.Golden(name + ".output.npy"));
        Assert.Equal(model.InputSize, input.Channels);
        Assert.Equal(model.OutputSize, expected.Channels);

        RnnState state = model.CreateState(input.Batch);
        var output = new float[expected.Data.Length];
        model.Run(input.Data, input.Steps, state, output);
        AssertClose(expected.Data, output, $"{name} output");

        int directions = model.IsBidirectional ? 2 : 1;
        Signal hN = NpyFile.Read(TestFiles.Golden(name + ".h_n.npy")); // [layers * directions, B, H]
        string cPath = TestFiles.Golden(name + ".c_n.npy");
        Signal? cN = File.Exists(cPath) ? NpyFile.Read(cPath) : null;
        Assert.Equal(model.Layers.Count * directions, hN.Steps);
        for (int l = 0; l < model.Layers.Count; l++)
        {
            for (int d = 0; d < directions; d++)
            {
                for (int b = 0; b < input.Batch; b++)
                {
                    int offset = ((l * directions + d) * input.Batch + b) * hN.Channels;
                    AssertClose(hN.Data.AsSpan(offset, hN.Channels), state.Hidden(l, b, d == 1), $"{name} h_n layer {l} dir {d} stream {b}");
                    if (cN is not null)
                    {
                        AssertClose(cN.Data.AsSpan(offset, cN.Channels), state.Cell(l, b, d == 1), $"{name} c_n layer {l} dir {d} stream {b}");
                    }
                }
            }
        }
    }

    private static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double error = Math.Abs((double)actual[i] - expected[i]);
            Assert.True(error <= Absolute + Relative * Math.Abs(expected[i]),
                $"{what}[{i}]: {actual[i]} vs PyTorch {expected[i]} (error {error:e2})");
        }
    }
}
