using Rnn.Fast.Cli;

namespace Rnn.Fast.Tests.Onnx;

/// <summary><c>rnnfast run/info --model m.onnx</c>: the CLI dispatches .onnx files to Rnn.Fast.Onnx.</summary>
public sealed class OnnxCliTests
{
    private static string Golden(string name) => Path.Combine(AppContext.BaseDirectory, "Golden", "onnx", name);

    [Fact]
    public void Run_OnnxModel_WritesPyTorchOutput()
    {
        string dir = TestFiles.TempDirectory();
        try
        {
            string output = Path.Combine(dir, "y.npy");
            Assert.Equal(0, RunCommand.Execute(Golden("lstm_bidir_stacked_sigmoid_o14_dyn.onnx"), Golden("lstm_bidir_stacked_sigmoid_o14_dyn.input.npy"), output));
            Signal expected = NpyFile.Read(Golden("lstm_bidir_stacked_sigmoid_o14_dyn.output.npy"));
            Signal actual = NpyFile.Read(output);
            Assert.Equal((expected.Steps, expected.Batch, expected.Channels), (actual.Steps, actual.Batch, actual.Channels));
            OnnxGoldenTests.AssertClose(expected.Data, actual.Data, "rnnfast run");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Info_OnnxModel_Succeeds_BrokenOnnx_Fails()
    {
        Assert.Equal(0, InfoCommand.Execute(Golden("gru_stacked_tanh_o17_dyn.onnx")));
        string dir = TestFiles.TempDirectory();
        try
        {
            string broken = Path.Combine(dir, "broken.onnx");
            File.WriteAllBytes(broken, [8, 1, 2]);
            Assert.Equal(1, InfoCommand.Execute(broken));
            Assert.Equal(1, RunCommand.Execute(broken, Golden("gru_stacked_tanh_o17_dyn.input.npy"), Path.Combine(dir, "y.npy")));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
