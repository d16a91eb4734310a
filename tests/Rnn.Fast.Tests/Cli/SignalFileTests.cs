using Rnn.Fast.Cli;
using Rnn.Fast.IO;

namespace Rnn.Fast.Tests.Cli;

/// <summary>The CLI's .wav/.npy/.csv readers and writers round-trip, and <c>rnnfast run</c> works end to end.</summary>
public sealed class SignalFileTests : IDisposable
{
    private readonly string _directory = TestFiles.TempDirectory();

    public void Dispose() => Directory.Delete(_directory, true);

    private string PathOf(string name) => Path.Combine(_directory, name);

    private static Signal Ramp(int steps, int channels) =>
        new([.. Enumerable.Range(0, steps * channels).Select(i => MathF.Sin(i * 0.37f) * 0.9f)], steps, 1, channels);

    [Theory]
    [InlineData(16, false, 1)]
    [InlineData(24, false, 2)]
    [InlineData(32, false, 1)]
    [InlineData(32, true, 3)]
    public void Wav_WriteRead_RoundTripsWithinQuantisation(int bits, bool isFloat, int channels)
    {
        Signal signal = Ramp(257, channels);
        var format = new WavFormat(44100, bits, isFloat);
        SignalFile.Write(PathOf("a.wav"), signal, format);
        Signal back = WavFile.Read(PathOf("a.wav"));
        Assert.Equal(format, back.Wav);
        Assert.Equal(channels, back.Channels);
        Assert.Equal(257, back.Steps);
        float step = isFloat ? 0 : MathF.Pow(2, 1 - bits);
        for (int i = 0; i < signal.Data.Length; i++)
        {
            Assert.True(Math.Abs(signal.Data[i] - back.Data[i]) <= step, $"{i}: {signal.Data[i]} vs {back.Data[i]}");
        }
        // Quantised values survive a second round trip exactly.
        SignalFile.Write(PathOf("b.wav"), back, format);
        Assert.Equal(back.Data, WavFile.Read(PathOf("b.wav")).Data);
    }

    [Fact]
    public void Wav_Truncated_ClearError()
    {
        SignalFile.Write(PathOf("a.wav"), Ramp(100, 1), new WavFormat(48000, 16, false));
        byte[] bytes = File.ReadAllBytes(PathOf("a.wav"));
        var e = Assert.Throws<SignalFormatException>(() => WavFile.Read(bytes[..150], "cut.wav"));
        Assert.Contains("truncated", e.Message);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Npy_WriteRead_RoundTripsExactly(int rank)
    {
        var signal = rank == 3
            ? new Signal([.. Enumerable.Range(0, 5 * 2 * 3).Select(i => i * 0.5f - 3)], 5, 2, 3) { Rank = 3 }
            : new Signal(Ramp(11, rank == 1 ? 1 : 4).Data, 11, 1, rank == 1 ? 1 : 4) { Rank = rank };
        SignalFile.Write(PathOf("a.npy"), signal, WavFormat.Float32(1));
        byte[] bytes = File.ReadAllBytes(PathOf("a.npy"));
        Assert.Equal(0, (bytes.Length - signal.Data.Length * 4) % 64); // data 64-byte aligned, as NumPy writes it
        Signal back = NpyFile.Read(PathOf("a.npy"));
        Assert.Equal((signal.Steps, signal.Batch, signal.Channels, signal.Rank), (back.Steps, back.Batch, back.Channels, back.Rank));
        Assert.Equal(signal.Data, back.Data);
    }

    [Fact]
    public void Npy_ShapeBeyondData_ClearError()
    {
        SignalFile.Write(PathOf("a.npy"), Ramp(10, 2), WavFormat.Float32(1));
        byte[] bytes = File.ReadAllBytes(PathOf("a.npy"));
        var e = Assert.Throws<SignalFormatException>(() => NpyFile.Read(bytes[..^4], "cut.npy"));
        Assert.Contains("needs 80 data bytes", e.Message);
    }

    [Fact]
    public void Csv_WriteRead_RoundTripsExactly()
    {
        Signal signal = Ramp(33, 3);
        SignalFile.Write(PathOf("a.csv"), signal, WavFormat.Float32(1));
        Signal back = CsvFile.Read(PathOf("a.csv"));
        Assert.Equal((33, 3), (back.Steps, back.Channels));
        Assert.Equal(signal.Data, back.Data);
    }

    [Fact]
    public void Csv_HeaderSkipped_RaggedRowsRejected()
    {
        Signal signal = CsvFile.Read("x,y\n1,2\n3,4\n", "h.csv");
        Assert.Equal([1f, 2f, 3f, 4f], signal.Data);
        Assert.Contains("line 2", Assert.Throws<SignalFormatException>(() => CsvFile.Read("1,2\n3\n", "r.csv")).Message);
    }

    [Fact]
    public void Run_NamOnGuitarWav_WritesSameFormatAndMatchesLibrary()
    {
        string output = PathOf("out.wav");
        int code = RunCommand.Execute(TestFiles.Fixture("nam-lstm-example.nam"), TestFiles.Fixture("nam-input.wav"), output, "float");
        Assert.Equal(0, code);
        Signal written = WavFile.Read(output);
        Signal input = WavFile.Read(TestFiles.Fixture("nam-input.wav"));
        Assert.Equal(WavFormat.Float32(48000), written.Wav);
        Assert.Equal(input.Steps, written.Steps);

        // Chunked through the CLI (the state carries over) equals one Run over the whole input.
        RnnModel model = ModelFile.Load(TestFiles.Fixture("nam-lstm-example.nam"));
        var expected = new float[input.Steps];
        model.Run(input.Data, input.Steps, model.CreateState(), expected);
        Assert.Equal(expected, written.Data);
    }

    [Fact]
    public void Run_SafetensorsOnNpyBatch_WritesNpy()
    {
        RnnModel model = RnnModel.CreateGru(3, 5, outputSize: 2, seed: 4);
        ModelFile.SaveSafetensors(model, PathOf("m.safetensors"));
        var input = new Signal([.. Enumerable.Range(0, 7 * 2 * 3).Select(i => MathF.Cos(i))], 7, 2, 3) { Rank = 3 };
        SignalFile.Write(PathOf("in.npy"), input, WavFormat.Float32(1));
        Assert.Equal(0, RunCommand.Execute(PathOf("m.safetensors"), PathOf("in.npy"), PathOf("out.npy")));
        Signal output = NpyFile.Read(PathOf("out.npy"));
        Assert.Equal((7, 2, 2), (output.Steps, output.Batch, output.Channels));
        var expected = new float[7 * 2 * 2];
        model.Run(input.Data, 7, model.CreateState(2), expected);
        Assert.Equal(expected, output.Data);
    }

    [Fact]
    public void Run_ChannelMismatch_FailsAndWritesNothing()
    {
        ModelFile.SaveSafetensors(RnnModel.CreateLstm(2, 3, seed: 1), PathOf("m.safetensors"));
        SignalFile.Write(PathOf("in.csv"), Ramp(5, 3), WavFormat.Float32(1));
        Assert.Equal(1, RunCommand.Execute(PathOf("m.safetensors"), PathOf("in.csv"), PathOf("out.csv")));
        Assert.Equal(["in.csv", "m.safetensors"], Directory.GetFiles(_directory).Select(Path.GetFileName).Order());
    }

    [Fact]
    public void Run_BadModel_FailsAndWritesNothing()
    {
        File.WriteAllBytes(PathOf("m.safetensors"), [1, 2, 3]);
        SignalFile.Write(PathOf("in.csv"), Ramp(5, 1), WavFormat.Float32(1));
        Assert.Equal(1, RunCommand.Execute(PathOf("m.safetensors"), PathOf("in.csv"), PathOf("out.wav")));
        Assert.False(File.Exists(PathOf("out.wav")));
    }

    [Fact]
    public void Info_Nam_Succeeds() => Assert.Equal(0, InfoCommand.Execute(TestFiles.Fixture("nam-lstm-example.nam")));
}
