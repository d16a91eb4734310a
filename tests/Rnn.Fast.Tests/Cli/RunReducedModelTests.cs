using Rnn.Fast.Cli;
using Rnn.Fast.IO;

namespace Rnn.Fast.Tests.Cli;

/// <summary><c>rnnfast run</c> on a saved int8 (and bf16) model file: the file's precision is what runs.</summary>
public sealed class RunReducedModelTests : IDisposable
{
    private const int T = 6, B = 2, I = 3;
    private readonly string _directory = TestFiles.TempDirectory();

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string PathOf(string name) => Path.Combine(_directory, name);

    [Theory]
    [InlineData(WeightPrecision.Int8)]
    [InlineData(WeightPrecision.BFloat16)]
    public void Run_ReducedModelFile_OutputsOfTheReducedModel(WeightPrecision precision)
    {
        RnnModel model = RnnModel.CreateLstm(I, 5, layers: 2, outputSize: 2, seed: 11).WithPrecision(precision);
        ModelFile.SaveSafetensors(model, PathOf("m.safetensors"));
        float[] x = [.. Enumerable.Range(0, T * B * I).Select(i => MathF.Cos(0.3f * i))];
        SignalFile.Write(PathOf("in.npy"), new Signal(x, T, B, I) { Rank = 3 }, WavFormat.Float32(1));

        Assert.Equal(0, RunCommand.Execute(PathOf("m.safetensors"), PathOf("in.npy"), PathOf("out.npy"), kernel: model.Kernel));

        var expected = new float[T * B * model.OutputSize];
        model.Run(x, T, model.CreateState(B), expected);
        Assert.Equal(expected, NpyFile.Read(PathOf("out.npy")).Data);
        // Not what the float32 original computes: the file's precision ran.
        var float32 = new float[expected.Length];
        RnnModel original = RnnModel.CreateLstm(I, 5, layers: 2, outputSize: 2, seed: 11);
        original.Run(x, T, original.CreateState(B), float32);
        Assert.NotEqual(float32, expected);
    }
}
