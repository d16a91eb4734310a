using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using Rnn.Fast.Cli;
using Rnn.Fast.IO;

namespace Rnn.Fast.Tests.Cli;

/// <summary>
/// Issue 12, the CLI side: hostile and clumsy command lines and files get a one-line message on stderr that names the
/// file or option and the problem, exit code 1 (runtime) or 2 (usage), no stack trace, and nothing left behind.
/// Every command runs in-process through <see cref="CommandLine.Run"/>, as the shell would run it.
/// </summary>
public sealed class CliReliabilityTests : IDisposable
{
    private readonly string _directory = TestFiles.TempDirectory();

    public void Dispose() => Directory.Delete(_directory, true);

    private string PathOf(string name) => Path.Combine(_directory, name);

    private static string Nam => TestFiles.Fixture("nam-lstm-example.nam");

    private static string NamInput => TestFiles.Fixture("nam-input.wav");

    /// <summary>Runs an rnnfast command line in-process; returns the exit code and what went to stdout and stderr.</summary>
    internal static (int Code, string Out, string Error) Rnnfast(params string[] args)
    {
        using Terminal.Captured captured = Terminal.Capture();
        int code = CommandLine.Run(args);
        return (code, captured.Output, captured.Error);
    }

    /// <summary>A failure as users must see it: on stderr only, one "Error:" line naming <paramref name="names"/>, no stack trace.</summary>
    private static void AssertCleanError((int Code, string Out, string Error) result, int code, params string[] names)
    {
        Assert.True(code == result.Code, $"exit {result.Code}, expected {code}; stderr: {result.Error}");
        Assert.Equal("", result.Out);
        Assert.StartsWith("Error: ", result.Error);
        Assert.DoesNotContain("   at ", result.Error);
        Assert.DoesNotContain("(Parameter '", result.Error);
        Assert.DoesNotContain(".tmp", result.Error);
        foreach (string name in names)
        {
            Assert.Contains(name, result.Error);
        }
    }

    private string[] FilesLeft() => [.. Directory.GetFileSystemEntries(_directory).Select(Path.GetFileName).Order(StringComparer.Ordinal)!];

    private static Signal Ramp(int steps, int channels, float phase = 0) =>
        new([.. Enumerable.Range(0, steps * channels).Select(i => MathF.Sin(i * 0.37f + phase) * 0.5f)], steps, 1, channels);

    private string WriteModel(RnnModel model, string name = "m.safetensors")
    {
        ModelFile.SaveSafetensors(model, PathOf(name));
        return PathOf(name);
    }

    private static bool MakeFifo(string path)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            return false;
        }
        using var mkfifo = Process.Start(new ProcessStartInfo("mkfifo", [path]) { UseShellExecute = false });
        mkfifo!.WaitForExit();
        return mkfifo.ExitCode == 0;
    }

    // ---- 1. The output path must not destroy the input ----

    [Fact]
    public void Run_OutputIsTheInput_RefusedAndInputKept()
    {
        string model = WriteModel(RnnModel.CreateLstm(1, 4, outputSize: 1, seed: 1));
        SignalFile.Write(PathOf("x.npy"), Ramp(20, 1), WavFormat.Float32(1));
        byte[] before = File.ReadAllBytes(PathOf("x.npy"));
        AssertCleanError(Rnnfast("run", "--model", model, "--input", PathOf("x.npy"), "--output", PathOf("x.npy")), 2, "x.npy", "destroy the input");
        Assert.Equal(before, File.ReadAllBytes(PathOf("x.npy")));
        Assert.Equal(["m.safetensors", "x.npy"], FilesLeft());
        if (!OperatingSystem.IsWindows())
        {
            // The model file is an input too.
            File.CreateSymbolicLink(PathOf("y.npy"), "m.safetensors");
            AssertCleanError(Rnnfast("run", "--model", model, "--input", PathOf("x.npy"), "--output", PathOf("y.npy")), 2, "y.npy", "m.safetensors");
            Assert.Equal("m.safetensors", new FileInfo(PathOf("y.npy")).LinkTarget);
        }
    }

    [Fact]
    public void Run_OutputSymlinkToInput_RefusedAndLinkKept()
    {
        if (OperatingSystem.IsWindows())
        {
            return; // symbolic links need privileges there
        }
        string model = WriteModel(RnnModel.CreateLstm(1, 4, outputSize: 1, seed: 1));
        SignalFile.Write(PathOf("x.csv"), Ramp(20, 1), WavFormat.Float32(1));
        byte[] before = File.ReadAllBytes(PathOf("x.csv"));
        File.CreateSymbolicLink(PathOf("alias.csv"), "x.csv");
        Directory.CreateSymbolicLink(PathOf("folder-link"), _directory);
        AssertCleanError(Rnnfast("run", "--model", model, "--input", PathOf("x.csv"), "--output", PathOf("alias.csv")), 2, "alias.csv", "destroy the input");
        // A link in a folder component leads to the input as well.
        AssertCleanError(Rnnfast("run", "--model", model, "--input", PathOf("x.csv"), "--output", Path.Combine(PathOf("folder-link"), "x.csv")), 2);
        Assert.Equal(before, File.ReadAllBytes(PathOf("x.csv")));
        Assert.Equal("x.csv", new FileInfo(PathOf("alias.csv")).LinkTarget);
        Assert.Equal(["alias.csv", "folder-link", "m.safetensors", "x.csv"], FilesLeft());
    }

    [Fact]
    public void Run_OutputSymlinkToAnotherFile_WrittenThroughAndLinkKept()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }
        string model = WriteModel(RnnModel.CreateLstm(1, 4, outputSize: 1, seed: 1));
        SignalFile.Write(PathOf("x.npy"), Ramp(20, 1), WavFormat.Float32(1));
        Directory.CreateDirectory(PathOf("results"));
        File.WriteAllText(PathOf("results/y.npy"), "old");
        File.CreateSymbolicLink(PathOf("y.npy"), "results/y.npy");
        var result = Rnnfast("run", "--model", model, "--input", PathOf("x.npy"), "--output", PathOf("y.npy"));
        Assert.True(result.Code == 0, result.Error);
        Assert.Equal("results/y.npy", new FileInfo(PathOf("y.npy")).LinkTarget);
        Assert.Equal(20, NpyFile.Read(PathOf("results/y.npy")).Steps);
        Assert.Equal(["y.npy"], Directory.GetFiles(PathOf("results")).Select(Path.GetFileName));
    }

    [Fact]
    public void Run_OutputLinkToDevFull_FailsLoudlyAndWritesNothing()
    {
        if (!File.Exists("/dev/full"))
        {
            return; // Linux only
        }
        string model = WriteModel(RnnModel.CreateLstm(1, 4, outputSize: 1, seed: 1));
        SignalFile.Write(PathOf("x.npy"), Ramp(20, 1), WavFormat.Float32(1));
        File.CreateSymbolicLink(PathOf("full.npy"), "/dev/full");
        AssertCleanError(Rnnfast("run", "--model", model, "--input", PathOf("x.npy"), "--output", PathOf("full.npy")), 1, "full.npy", "/dev/full", "character device");
        AssertCleanError(Rnnfast("run", "--model", model, "--input", PathOf("x.npy"), "--output", "/dev/full"), 2, "unknown output type");
        Assert.Equal("/dev/full", new FileInfo(PathOf("full.npy")).LinkTarget);
        Assert.Equal(["full.npy", "m.safetensors", "x.npy"], FilesLeft());
    }

    [Fact]
    public void Run_OutputIsADirectory_ClearError()
    {
        string model = WriteModel(RnnModel.CreateLstm(1, 4, outputSize: 1, seed: 1));
        SignalFile.Write(PathOf("x.npy"), Ramp(20, 1), WavFormat.Float32(1));
        Directory.CreateDirectory(PathOf("out.npy"));
        AssertCleanError(Rnnfast("run", "--model", model, "--input", PathOf("x.npy"), "--output", PathOf("out.npy")), 1, "out.npy", "is a directory");
        AssertCleanError(Rnnfast("run", "--model", model, "--input", PathOf("x.npy"), "--output", PathOf("missing/out.npy")), 1, "out.npy", "does not exist");
        Assert.Equal(["m.safetensors", "out.npy", "x.npy"], FilesLeft());
    }

    // ---- 16. Write errors name the output, not the temporary file ----

    [Fact]
    public void SignalFileWrite_FolderMissing_ErrorNamesOutputNotTemporaryFile()
    {
        string output = PathOf("gone/y.npy");
        var e = Assert.Throws<IOException>(() => SignalFile.Write(output, Ramp(3, 1), WavFormat.Float32(1)));
        Assert.Contains(output, e.Message);
        Assert.DoesNotContain(".tmp", e.Message);
    }

    // ---- 3. A ReLU nn.RNN saved without metadata ----

    /// <summary>An nn.RNN state_dict as PyTorch saves it: the tensors only, no rnnfast.nonlinearity.</summary>
    private string WritePlainStateDict(RnnModel model, string name)
    {
        (List<Tensor> tensors, Dictionary<string, string> metadata) = ModelExporter.Export(model);
        metadata.Remove(StateDictMapper.NonlinearityKey);
        using (FileStream stream = File.Create(PathOf(name)))
        {
            SafetensorsWriter.Write(stream, tensors, metadata);
        }
        return PathOf(name);
    }

    private static RnnModel ReluRnn(Activation f) => RnnModel.Create(
        [LayerWeights.Random(CellType.Elman, 1, 6, new Random(11), f)], HeadWeights.Random(6, 1, new Random(12)));

    [Fact]
    public void Run_ReluRnnWithoutMetadata_AssumesTanhWithWarning_AndNonlinearityOptionRunsRelu()
    {
        string model = WritePlainStateDict(ReluRnn(Activation.Relu), "relu.safetensors");
        Signal x = Ramp(40, 1);
        SignalFile.Write(PathOf("x.npy"), x, WavFormat.Float32(1));
        float[] Expected(Activation f)
        {
            RnnModel m = ReluRnn(f);
            var y = new float[x.Steps];
            m.Run(x.Data, x.Steps, m.CreateState(), y);
            return y;
        }

        var assumed = Rnnfast("run", "--model", model, "--input", PathOf("x.npy"), "--output", PathOf("tanh.npy"));
        Assert.Equal(0, assumed.Code);
        Assert.Contains("Warning: relu.safetensors does not say which nonlinearity", assumed.Error);
        Assert.Contains("--nonlinearity relu", assumed.Error);
        Assert.Equal(Expected(Activation.Tanh), NpyFile.Read(PathOf("tanh.npy")).Data);

        var relu = Rnnfast("run", "--model", model, "--input", PathOf("x.npy"), "--output", PathOf("relu.npy"), "--nonlinearity", "relu");
        Assert.Equal(0, relu.Code);
        Assert.Equal("", relu.Error);
        Assert.Equal(Expected(Activation.Relu), NpyFile.Read(PathOf("relu.npy")).Data);
    }

    [Fact]
    public void Info_ReluRnnWithoutMetadata_MarksAssumed_AndOptionOverrides()
    {
        string model = WritePlainStateDict(ReluRnn(Activation.Relu), "relu.safetensors");
        var assumed = Rnnfast("info", "--model", model);
        Assert.Equal(0, assumed.Code);
        Assert.Contains("Elman (tanh, assumed)", assumed.Out);
        Assert.Contains("(assumed)", assumed.Out);
        Assert.Contains("Warning:", assumed.Error);

        var given = Rnnfast("info", "--model", model, "--nonlinearity", "relu");
        Assert.Equal(0, given.Code);
        Assert.Contains("Elman (relu)", given.Out);
        Assert.DoesNotContain("assumed", given.Out);
        Assert.Equal("", given.Error);

        AssertCleanError(Rnnfast("info", "--model", model, "--nonlinearity", "gelu"), 2, "gelu");
    }

    // ---- 5. Sample rates ----

    private string WavAt(int rate, string name)
    {
        Signal input = WavFile.Read(NamInput);
        var cut = new Signal(input.Data[..4800], 4800, 1, 1);
        SignalFile.Write(PathOf(name), cut, new WavFormat(rate, 16, false));
        return PathOf(name);
    }

    [Fact]
    public void Run_WavAtAnotherRateThanTheNamModel_RefusedUnlessIgnored()
    {
        string input = WavAt(44100, "in44.wav");
        AssertCleanError(Rnnfast("run", "--model", Nam, "--input", input, "--output", PathOf("out.wav")), 1, "in44.wav", "44100 Hz", "48000 Hz", "--ignore-sample-rate");
        Assert.False(File.Exists(PathOf("out.wav")));

        var forced = Rnnfast("run", "--model", Nam, "--input", input, "--output", PathOf("out.wav"), "--ignore-sample-rate");
        Assert.Equal(0, forced.Code);
        Assert.Contains("Warning: in44.wav is sampled at 44100 Hz", forced.Error);
        Assert.Equal(44100, WavFile.Read(PathOf("out.wav")).Wav!.SampleRate);

        var matching = Rnnfast("run", "--model", Nam, "--input", WavAt(48000, "in48.wav"), "--output", PathOf("out48.wav"));
        Assert.Equal(0, matching.Code);
        Assert.Equal("", matching.Error);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("2000000000")]
    public void Run_SampleRateOutOfRange_UsageErrorAndNoOutput(string rate)
    {
        string model = WriteModel(RnnModel.CreateLstm(1, 4, outputSize: 1, seed: 1));
        SignalFile.Write(PathOf("x.npy"), Ramp(20, 1), WavFormat.Float32(1));
        AssertCleanError(Rnnfast("run", "--model", model, "--input", PathOf("x.npy"), "--output", PathOf("y.wav"), "--sample-rate", rate), 2, "--sample-rate");
        Assert.Equal(["m.safetensors", "x.npy"], FilesLeft());
    }

    [Fact]
    public void Run_NpyToWav_OutputAtTheModelsRate()
    {
        SignalFile.Write(PathOf("x.npy"), Ramp(20, 1), WavFormat.Float32(1));
        Assert.Equal(0, Rnnfast("run", "--model", Nam, "--input", PathOf("x.npy"), "--output", PathOf("y.wav")).Code);
        Assert.Equal(48000, WavFile.Read(PathOf("y.wav")).Wav!.SampleRate);
        Assert.Equal(0, Rnnfast("run", "--model", Nam, "--input", PathOf("x.npy"), "--output", PathOf("z.wav"), "--sample-rate", "96000").Code);
        Assert.Equal(96000, WavFile.Read(PathOf("z.wav")).Wav!.SampleRate);
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(3_000_000_000u)]
    public void Run_WavWithImpossibleSampleRate_Refused(uint rate)
    {
        byte[] wav = File.ReadAllBytes(WavAt(48000, "ok.wav"));
        BinaryPrimitives.WriteUInt32LittleEndian(wav.AsSpan(24), rate);
        File.WriteAllBytes(PathOf("bad.wav"), wav);
        AssertCleanError(Rnnfast("run", "--model", Nam, "--input", PathOf("bad.wav"), "--output", PathOf("out.wav")), 1, "bad.wav", $"sample rate {rate} Hz");
        Assert.False(File.Exists(PathOf("out.wav")));
    }

    // ---- 6. Non-finite input samples are counted ----

    [Fact]
    public void Run_NonFiniteCsvCells_CountedOnStderr()
    {
        string model = WriteModel(RnnModel.CreateLstm(1, 4, outputSize: 1, seed: 1));
        File.WriteAllText(PathOf("x.csv"), "x\n0.5\nNaN\nInfinity\n-Infinity\n1e400\n0.25\n");
        var result = Rnnfast("run", "--model", model, "--input", PathOf("x.csv"), "--output", PathOf("y.wav"), "--output-format", "pcm16");
        Assert.Equal(0, result.Code);
        Assert.Contains("x.csv has 4 non-finite input samples (1 NaN, 3 infinite) of 6", result.Error);
        Assert.Contains("non-finite output values", result.Error);
        Assert.Contains("PCM cannot hold them", result.Error);
    }

    [Fact]
    public void Run_NonFiniteNpy_CountedOnStderr()
    {
        string model = WriteModel(RnnModel.CreateLstm(1, 4, outputSize: 1, seed: 1));
        SignalFile.Write(PathOf("x.npy"), new Signal([1, float.NaN, 2, float.PositiveInfinity], 4, 1, 1), WavFormat.Float32(1));
        var result = Rnnfast("run", "--model", model, "--input", PathOf("x.npy"), "--output", PathOf("y.npy"));
        Assert.Equal(0, result.Code);
        Assert.Contains("x.npy has 2 non-finite input samples (1 NaN, 1 infinite) of 4", result.Error);
    }

    // ---- 8, 9, 18. Devices, FIFOs and directories are refused before reading ----

    [Fact]
    public void Run_InputIsDevZero_RefusedBeforeReading()
    {
        if (!File.Exists("/dev/zero"))
        {
            return;
        }
        string model = WriteModel(RnnModel.CreateLstm(1, 4, outputSize: 1, seed: 1));
        File.CreateSymbolicLink(PathOf("zero.npy"), "/dev/zero");
        File.CreateSymbolicLink(PathOf("zero.nam"), "/dev/zero");
        long before = GC.GetAllocatedBytesForCurrentThread();
        AssertCleanError(Rnnfast("run", "--model", model, "--input", PathOf("zero.npy"), "--output", PathOf("y.npy")), 1, "zero.npy", "character device");
        AssertCleanError(Rnnfast("info", "--model", PathOf("zero.nam")), 1, "zero.nam", "character device");
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64 << 20, "a device was read");
    }

    [Fact]
    public async Task Run_FifoWithoutWriter_RefusedWithoutHanging()
    {
        if (!MakeFifo(PathOf("pipe.npy")) || !MakeFifo(PathOf("pipe.nam")))
        {
            return;
        }
        string model = WriteModel(RnnModel.CreateLstm(1, 4, outputSize: 1, seed: 1));
        Task<(int, string, string)> input = Task.Run(() => Rnnfast("run", "--model", model, "--input", PathOf("pipe.npy"), "--output", PathOf("y.npy")));
        Task<(int, string, string)> modelFile = Task.Run(() => Rnnfast("info", "--model", PathOf("pipe.nam")));
        // A hang fails here with a TimeoutException (opening a FIFO with no writer blocks forever).
        await Task.WhenAll(input, modelFile).WaitAsync(TimeSpan.FromSeconds(20));
        AssertCleanError(await input, 1, "pipe.npy", "FIFO");
        AssertCleanError(await modelFile, 1, "pipe.nam", "FIFO");
    }

    [Fact]
    public void Run_DirectoryAsFile_ClearMessage()
    {
        string model = WriteModel(RnnModel.CreateLstm(1, 4, outputSize: 1, seed: 1));
        Directory.CreateDirectory(PathOf("x.npy"));
        Directory.CreateDirectory(PathOf("d.nam"));
        AssertCleanError(Rnnfast("run", "--model", model, "--input", PathOf("x.npy"), "--output", PathOf("y.npy")), 1, "x.npy", "is a directory");
        AssertCleanError(Rnnfast("info", "--model", PathOf("d.nam")), 1, "d.nam", "is a directory");
        var missing = Rnnfast("run", "--model", model, "--input", PathOf("nothing.npy"), "--output", PathOf("y.npy"));
        AssertCleanError(missing, 1, "nothing.npy", "no such file");
    }

    // ---- 10, 15. Absurd .npy shapes ----

    private string WriteNpy(string name, string shape, int dataBytes = 0)
    {
        string header = $"{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}";
        header += new string(' ', (64 - (10 + header.Length + 1) % 64) % 64) + "\n";
        var bytes = new List<byte> { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0, (byte)header.Length, (byte)(header.Length >> 8) };
        bytes.AddRange(Encoding.Latin1.GetBytes(header));
        bytes.AddRange(new byte[dataBytes]);
        File.WriteAllBytes(PathOf(name), [.. bytes]);
        return PathOf(name);
    }

    [Theory]
    [InlineData(30_000_000)]
    [InlineData(int.MaxValue)]
    public void Run_NpyOfZeroStepsAndHugeBatch_EmptyOutputWithoutState(int batch)
    {
        string model = WriteModel(RnnModel.CreateLstm(1, 16, outputSize: 1, seed: 1));
        string input = WriteNpy("x.npy", $"(0, {batch}, 1)");
        long before = GC.GetAllocatedBytesForCurrentThread();
        var result = Rnnfast("run", "--model", model, "--input", input, "--output", PathOf("y.npy"));
        Assert.True(result.Code == 0, result.Error);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64 << 20, "state was allocated for zero steps");
        Signal output = NpyFile.Read(PathOf("y.npy"));
        Assert.Equal((0, batch, 1), (output.Steps, output.Batch, output.Channels));
    }

    [Fact]
    public void Run_NpyWithManyStreamsOfABigModel_RefusedBeforeAllocatingState()
    {
        string model = WriteModel(RnnModel.CreateLstm(1, 512, outputSize: 1, seed: 1));
        string input = WriteNpy("x.npy", "(1, 200000, 1)", 4 * 200000);
        AssertCleanError(Rnnfast("run", "--model", model, "--input", input, "--output", PathOf("y.npy")), 1, "200,000 streams", "MB of state");
    }

    [Theory]
    [InlineData("(1000000000, 0, 1)", "batch (axis 1) 0")]
    [InlineData("(5, 0)", "channels (axis 1) 0")]
    [InlineData("(-1, 1)", "is '-1', not a non-negative integer")]
    [InlineData("(3, -2, 1)", "is '-2', not a non-negative integer")]
    [InlineData("(99999999999,)", "too large")]
    [InlineData("(2147483647, 2147483647, 2147483647)", "needs 39614081201791936601413124092 data bytes but the file has 0")]
    public void Run_NpyWithAbsurdShape_ClearMessage(string shape, string problem)
    {
        string model = WriteModel(RnnModel.CreateLstm(1, 4, outputSize: 1, seed: 1));
        string input = WriteNpy("x.npy", shape);
        AssertCleanError(Rnnfast("run", "--model", model, "--input", input, "--output", PathOf("y.npy")), 1, "x.npy", problem);
        Assert.False(File.Exists(PathOf("y.npy")));
    }

    // ---- 12. demo --output to an impossible folder ----

    [Fact]
    public void Demo_OutputUnderAFile_CleanError()
    {
        File.WriteAllText(PathOf("plain"), "a file");
        AssertCleanError(Rnnfast("demo", "clipping", "--output", PathOf("plain/x")), 1, "--output", "plain/x", "cannot create the folder");
        AssertCleanError(Rnnfast("demo", "clipping", "--output", PathOf("plain")), 1, "plain", "not a folder");
    }

    // ---- 17, 21, 22. Argument errors, stderr, exit codes ----

    [Fact]
    public void Run_UnknownKernel_IsAUsageError()
    {
        string model = WriteModel(RnnModel.CreateLstm(1, 4, outputSize: 1, seed: 1));
        SignalFile.Write(PathOf("x.npy"), Ramp(5, 1), WavFormat.Float32(1));
        var result = Rnnfast("run", "--model", model, "--input", PathOf("x.npy"), "--output", PathOf("y.npy"), "--kernel", "Bogus");
        AssertCleanError(result, 2, "--kernel Bogus", "unknown kernel");
        Assert.DoesNotContain("valid model", result.Error);
        AssertCleanError(Rnnfast("info", "--model", model, "--kernel", "Bogus"), 2, "--kernel Bogus");
    }

    [Fact]
    public void CommandLine_ExitCodes_ZeroSuccessOneRuntimeTwoUsage()
    {
        SignalFile.Write(PathOf("x.npy"), Ramp(5, 1), WavFormat.Float32(1));
        File.WriteAllText(PathOf("bad.nam"), "{ not json");
        Assert.Equal(0, Rnnfast("info", "--model", Nam).Code);
        AssertCleanError(Rnnfast("info", "--model", PathOf("bad.nam")), 1, "bad.nam");
        AssertCleanError(Rnnfast("info", "--model", PathOf("missing.nam")), 1, "missing.nam");
        AssertCleanError(Rnnfast("run", "--model", Nam, "--input", PathOf("x.npy"), "--output", PathOf("y.txt")), 2, "y.txt", "unknown output type");
        AssertCleanError(Rnnfast("info", "--model", PathOf("m.txt")), 2, "m.txt", "unknown model file type");
        AssertCleanError(Rnnfast("run", "--model", Nam, "--input", PathOf("x.npy")), 2, "--output");
        AssertCleanError(Rnnfast("run", "--model", Nam, "--input", PathOf("x.npy"), "--output", PathOf("y.wav"), "--output-format", "mp3"), 2, "mp3");
        AssertCleanError(Rnnfast("info", "--model", Nam, "--frobnicate"), 2, "--frobnicate");
        AssertCleanError(Rnnfast("nosuchcommand"), 2, "nosuchcommand");
        Assert.Equal(["bad.nam", "x.npy"], FilesLeft());
    }

    [Fact]
    public void Run_UnparsableNumbers_UsageErrorWithoutDotNetTypeNames()
    {
        foreach (string[] args in new[]
        {
            new[] { "run", "--model", Nam, "--input", NamInput, "--output", "y.wav", "--sample-rate", "abc" },
            ["run", "--model", Nam, "--input", NamInput, "--output", "y.wav", "--sample-rate", "99999999999"],
            ["demo", "--seed", "x"],
        })
        {
            var result = Rnnfast(args);
            AssertCleanError(result, 2, args[^1], "expected a whole number");
            Assert.DoesNotContain("System.", result.Error);
        }
    }

    [Fact]
    public void Run_OutputUnderAFileOrWithALongName_ClearErrorOrWritten()
    {
        string model = WriteModel(RnnModel.CreateLstm(1, 4, outputSize: 1, seed: 1));
        SignalFile.Write(PathOf("x.npy"), Ramp(5, 1), WavFormat.Float32(1));
        AssertCleanError(Rnnfast("run", "--model", model, "--input", PathOf("x.npy"), "--output", PathOf("x.npy/y.npy")), 1, "x.npy is a file, not a folder");
        // 250 characters: a legal name, which the temporary file beside it must not push past the limit.
        string longName = new string('a', 246) + ".npy";
        var result = Rnnfast("run", "--model", model, "--input", PathOf("x.npy"), "--output", PathOf(longName));
        Assert.True(result.Code == 0, result.Error);
        Assert.Equal([longName, "m.safetensors", "x.npy"], FilesLeft());
    }

    [Fact]
    public void CommandLine_StdoutRedirected_SpectreDoesNotWrapAt80Columns()
    {
        if (!Console.IsOutputRedirected)
        {
            return; // only meaningful where the test host pipes stdout, as CI does
        }
        Assert.Equal(0, Rnnfast("info", "--model", Nam).Code);
        Assert.Equal(Terminal.UnwrappedWidth, Spectre.Console.AnsiConsole.Profile.Width);
    }

    [Fact]
    public void Messages_Of_DropsParameterNameDecorations()
    {
        var e = Assert.Throws<ArgumentException>(() => ModelFile.FormatOf("model.txt"));
        Assert.Contains("(Parameter 'path')", e.Message);
        Assert.Equal("'model.txt': unknown model file type; use .safetensors, .nam or .json.", Messages.Of(e));
        Assert.Equal("Must be at least 1.", Messages.Of(new ArgumentOutOfRangeException("batch", 0, "Must be at least 1.")));
    }

    [Fact]
    public void Run_Success_ResultOnStdoutNothingOnStderr_LongLinesUnwrapped()
    {
        string model = WriteModel(RnnModel.CreateLstm(1, 4, outputSize: 1, seed: 1), "a-model-file-with-a-rather-long-name-so-that-the-line-passes-eighty-columns.safetensors");
        SignalFile.Write(PathOf("x.npy"), Ramp(5, 1), WavFormat.Float32(1));
        string output = PathOf("an-output-file-whose-name-alone-is-longer-than-the-eighty-columns-of-a-classic-terminal.npy");
        var result = Rnnfast("run", "--model", model, "--input", PathOf("x.npy"), "--output", output);
        Assert.Equal(0, result.Code);
        Assert.Equal("", result.Error);
        Assert.Single(result.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(Path.GetFileName(output), result.Out);
    }

    // ---- 24. A stereo WAV into a 1-input model: channels as independent streams ----

    [Fact]
    public void Run_StereoWavIntoMonoModel_ChannelsRunAsIndependentStreams()
    {
        Signal mono = WavFile.Read(NamInput);
        const int steps = 3000;
        float[] left = mono.Data[..steps];
        float[] right = [.. mono.Data[steps..(2 * steps)].Select(v => -0.5f * v)];
        var stereo = new float[2 * steps];
        for (int t = 0; t < steps; t++)
        {
            stereo[2 * t] = left[t];
            stereo[2 * t + 1] = right[t];
        }
        SignalFile.Write(PathOf("stereo.wav"), new Signal(stereo, steps, 1, 2), WavFormat.Float32(48000));

        var result = Rnnfast("run", "--model", Nam, "--input", PathOf("stereo.wav"), "--output", PathOf("out.wav"));
        Assert.True(result.Code == 0, result.Error);
        Assert.Contains("2 channels of stereo.wav run as independent streams", result.Out);
        Signal output = WavFile.Read(PathOf("out.wav"));
        Assert.Equal((steps, 2), (output.Steps, output.Channels));

        RnnModel model = ModelFile.Load(Nam);
        foreach ((float[] channel, int c) in new[] { (left, 0), (right, 1) })
        {
            var expected = new float[steps];
            model.Run(channel, steps, model.CreateState(), expected);
            float[] actual = [.. Enumerable.Range(0, steps).Select(t => output.Data[2 * t + c])];
            // The batch kernel may sum in another order than the single-stream one.
            for (int t = 0; t < steps; t++)
            {
                Assert.Equal(expected[t], actual[t], 1e-5f);
            }
        }
    }

    [Fact]
    public void Run_StereoCsvIntoMonoModel_StillAChannelMismatch()
    {
        SignalFile.Write(PathOf("x.csv"), Ramp(5, 2), WavFormat.Float32(1));
        AssertCleanError(Rnnfast("run", "--model", Nam, "--input", PathOf("x.csv"), "--output", PathOf("y.csv")), 1, "x.csv has 2 channel(s) per step but the model takes 1");
    }

    // ---- 25. Parameters of a bias=False model, counted as PyTorch counts them ----

    [Fact]
    public void Info_BiasFalseGru_CountsParametersAsPyTorch()
    {
        // torch.nn.GRU(2, 8, bias=False): 3*8*(2+8) = 240 parameters (288 with biases).
        var random = new Random(5);
        LayerWeights layer = LayerWeights.Gru(2, 8, LayerWeights.Uniform(random, 24 * 2, 0.3f), LayerWeights.Uniform(random, 24 * 8, 0.3f), [], []);
        string model = WriteModel(RnnModel.Create([layer]), "gru.safetensors");
        var result = Rnnfast("info", "--model", model);
        Assert.Equal(0, result.Code);
        Assert.Contains("240 parameters", result.Out);
        Assert.Equal(240, ModelFile.Load(model).Layers[0].ParameterCount);
    }
}
