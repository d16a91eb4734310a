using System.CommandLine;
using System.Globalization;
using System.Text.RegularExpressions;
using Rnn.Fast.Cli;
using Rnn.Fast.IO;

namespace Rnn.Fast.Tests.Cli;

/// <summary>
/// <c>--precision fp32|bf16|int8</c> of <c>run</c>, <c>info</c> and <c>bench</c>, and the error table <c>info</c> prints
/// (<see cref="PrecisionError"/>). Commands run in-process through <see cref="CommandLine.Run"/>; bench is only parsed
/// (no timing runs in the tests).
/// </summary>
public sealed partial class PrecisionCliTests : IDisposable
{
    private readonly string _directory = TestFiles.TempDirectory();

    public void Dispose() => Directory.Delete(_directory, true);

    private string PathOf(string name) => Path.Combine(_directory, name);

    private static string Nam => TestFiles.Fixture("nam-lstm-example.nam");

    private static (int Code, string Out, string Error) Rnnfast(params string[] args) => CliReliabilityTests.Rnnfast(args);

    [GeneratedRegex(@"^│\s*(?<name>bf16|int8)\s*│\s*(?<bytes>[\d,]+)\s*│\s*(?<ratio>[\d.]+)\s*│\s*(?<maxAbs>\S+)\s*│\s*(?<meanAbs>\S+)\s*│\s*(?<maxRel>\S+)\s*│\s*(?<meanRel>\S+)\s*│$", RegexOptions.Multiline)]
    private static partial Regex TableRow();

    /// <summary>The bf16/int8 rows of info's error table: name → (max abs, mean abs, max rel, mean rel).</summary>
    private static Dictionary<string, double[]> ErrorRows(string output) =>
        TableRow().Matches(output).ToDictionary(m => m.Groups["name"].Value,
            m => new[] { "maxAbs", "meanAbs", "maxRel", "meanRel" }.Select(g => double.Parse(m.Groups[g].Value, CultureInfo.InvariantCulture)).ToArray());

    // ---- verify ----

    [Fact]
    public void Verify_Int8_ChecksTheReducedKernelsAndPasses()
    {
        Assert.Equal(0, Rnnfast("verify", "--cases", "8", "--precision", "int8").Code);
    }

    [Fact]
    public void Verify_BadPrecision_IsAUsageError() =>
        Assert.Equal(2, Rnnfast("verify", "--precision", "fp16").Code);

    // ---- Parsing ----

    [Theory]
    [InlineData("fp32", WeightPrecision.Float32)]
    [InlineData("float32", WeightPrecision.Float32)]
    [InlineData("FP32", WeightPrecision.Float32)]
    [InlineData("bf16", WeightPrecision.BFloat16)]
    [InlineData("bfloat16", WeightPrecision.BFloat16)]
    [InlineData("BFloat16", WeightPrecision.BFloat16)]
    [InlineData("int8", WeightPrecision.Int8)]
    [InlineData("INT8", WeightPrecision.Int8)]
    public void PrecisionOption_TryParse_AcceptsShortAndLongNames(string text, WeightPrecision expected)
    {
        Assert.True(PrecisionOption.TryParse(text, out WeightPrecision precision));
        Assert.Equal(expected, precision);
        Assert.Equal(expected, PrecisionOption.Parse(text));
    }

    [Theory]
    [InlineData("run")]
    [InlineData("info")]
    [InlineData("bench")]
    public void Command_EveryPrecision_Parses(string command)
    {
        foreach (string value in (string[])["fp32", "bf16", "int8", "float32", "bfloat16"])
        {
            string[] args = command switch
            {
                "run" => ["run", "--model", "m.nam", "--input", "x.npy", "--output", "y.npy", "--precision", value],
                "info" => ["info", "--model", "m.nam", "--precision", value],
                _ => ["bench", "--precision", value],
            };
            ParseResult parse = CommandLine.CreateRoot().Parse(args);
            Assert.Empty(parse.Errors);
        }
    }

    [Fact]
    public void Bench_SeveralPrecisions_ParseAsOneList()
    {
        ParseResult parse = CommandLine.CreateRoot().Parse(["bench", "--precision", "fp32", "bf16", "int8"]);
        Assert.Empty(parse.Errors);
        Option<string[]> option = parse.CommandResult.Command.Options.OfType<Option<string[]>>().Single(o => o.Name == "--precision");
        Assert.Equal(["fp32", "bf16", "int8"], parse.GetValue(option)!);
    }

    [Theory]
    [InlineData("run")]
    [InlineData("info")]
    [InlineData("bench")]
    public void Command_UnknownPrecision_IsAUsageErrorNamingTheOptionAndTheValues(string command)
    {
        string model = PathOf("m.safetensors");
        ModelFile.SaveSafetensors(RnnModel.CreateLstm(1, 4, outputSize: 1, seed: 1), model);
        string[] args = command switch
        {
            "run" => ["run", "--model", model, "--input", Nam, "--output", PathOf("y.npy"), "--precision", "fp16"],
            "info" => ["info", "--model", model, "--precision", "fp16"],
            _ => ["bench", "--precision", "fp16"],
        };
        (int code, string output, string error) = Rnnfast(args);
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.StartsWith("Error: --precision fp16", error);
        Assert.Contains("fp32, bf16 or int8", error);
        Assert.False(File.Exists(PathOf("y.npy")));
    }

    [Fact]
    public void Execute_UnknownPrecision_IsAUsageError()
    {
        using Terminal.Captured captured = Terminal.Capture();
        Assert.Equal(2, InfoCommand.Execute(Nam, precision: "int4"));
        Assert.Equal(2, RunCommand.Execute(Nam, TestFiles.Fixture("nam-input.wav"), PathOf("y.wav"), precision: "int4"));
        Assert.Equal(2, BenchCommand.Run(json: true, kernel: null, [16], ["int4"]));
        Assert.Equal(3, captured.Error.Split('\n').Count(l => l.StartsWith("Error: --precision int4: unknown precision", StringComparison.Ordinal)));
        Assert.Equal("", captured.Output);
        Assert.False(File.Exists(PathOf("y.wav")));
    }

    // ---- info ----

    [Fact]
    public void Info_Default_PrintsBf16AndInt8ErrorsOfTheNamModel()
    {
        (int code, string output, string error) = Rnnfast("info", "--model", Nam);
        Assert.True(code == 0, error);
        Assert.Contains("nam-lstm-example.nam", output);           // the summary as before
        Assert.Contains("76 parameters", output);
        Assert.Contains("Max abs error", output);
        Dictionary<string, double[]> rows = ErrorRows(output);
        Assert.Equal(["bf16", "int8"], rows.Keys.Order());
        foreach ((string name, double[] e) in rows)
        {
            // Reduced weights change the outputs, but a trained amp model's by far less than 0.1.
            Assert.True(e[0] > 0 && e[0] < 0.1, $"{name}: max abs {e[0]}");
            Assert.True(e[1] > 0 && e[1] <= e[0], $"{name}: mean abs {e[1]} vs max {e[0]}");
            Assert.True(e[3] > 0 && e[3] <= e[2], $"{name}: mean rel {e[3]} vs max {e[2]}");
        }
        Assert.Matches(@"│\s*fp32\s*│\s*204\s*│", output);            // 51 weights × 4 bytes
        Assert.Matches(@"│\s*bf16\s*│\s*102\s*│\s*0\.50\s*│", output);
        Assert.Matches(@"│\s*int8\s*│\s*151\s*│", output);             // 51 bytes + 25 row scales × 4
    }

    [Fact]
    public void Info_PrecisionInt8_PrintsOnlyThatRow()
    {
        (int code, string output, string error) = Rnnfast("info", "--model", Nam, "--precision", "int8");
        Assert.True(code == 0, error);
        Assert.Equal(["int8"], ErrorRows(output).Keys);
    }

    [Fact]
    public void Info_PrecisionFp32_PrintsTheBytesWithoutAnErrorTable()
    {
        (int code, string output, string error) = Rnnfast("info", "--model", Nam, "--precision", "float32");
        Assert.True(code == 0, error);
        Assert.Contains("Weights: fp32, 204 bytes", output);
        Assert.DoesNotContain("Max abs error", output);
    }

    // ---- run ----

    [Fact]
    public void Run_Int8_WritesOutputsCloseToFp32AndKeepsTheInput()
    {
        string model = PathOf("m.safetensors");
        ModelFile.SaveSafetensors(RnnModel.CreateLstm(2, 16, outputSize: 1, seed: 3), model);
        var x = new Signal([.. Enumerable.Range(0, 300 * 2).Select(i => 0.5f * MathF.Sin(0.1f * i))], 300, 1, 2);
        SignalFile.Write(PathOf("x.npy"), x, WavFormat.Float32(1));
        byte[] before = File.ReadAllBytes(PathOf("x.npy"));

        (int code, string output, string error) = Rnnfast("run", "--model", model, "--input", PathOf("x.npy"), "--output", PathOf("y32.npy"));
        Assert.True(code == 0, error);
        (code, output, error) = Rnnfast("run", "--model", model, "--input", PathOf("x.npy"), "--output", PathOf("y8.npy"), "--precision", "int8");
        Assert.True(code == 0, error);
        Assert.Contains("int8 weights", output);
        Assert.Equal(before, File.ReadAllBytes(PathOf("x.npy")));

        float[] y32 = SignalFile.Read(PathOf("y32.npy")).Data, y8 = SignalFile.Read(PathOf("y8.npy")).Data;
        Assert.Equal(300, y8.Length);
        Assert.NotEqual(y32, y8);
        Assert.All(y32.Zip(y8), p => Assert.True(Math.Abs(p.First - p.Second) < 0.05, $"{p.First} vs {p.Second}"));
        // The model stored in int8 computes what the library's int8 model computes.
        RnnModel int8 = ModelFile.Load(model).WithPrecision(WeightPrecision.Int8);
        var expected = new float[300];
        int8.Run(x.Data, 300, int8.CreateState(), expected);
        Assert.Equal(expected, y8);
    }

    // ---- precision-report (docs/precision.md) ----

    [Fact]
    public void PrecisionReport_PrintsAMarkdownRowPerModelAndPrecision()
    {
        (int code, string output, string error) = Rnnfast("precision-report", "--model", Nam);
        Assert.True(code == 0, error);
        Assert.Contains("| model | steps | precision | weight bytes (× fp32) | max abs | mean abs | max rel | mean rel |", output);
        Assert.Contains("| random Elman I=256 H=256 | 512 | int8 |", output);
        Assert.Contains("| `nam-lstm-example.nam` (LSTM I=1 H=3 O=1) | 512 | bf16 | 102 (0.50) |", output);
        Assert.Equal(2 * (9 + 2 + 1), output.Split('\n').Count(l => l.StartsWith("| random", StringComparison.Ordinal) || l.StartsWith("| `", StringComparison.Ordinal)));
        Assert.True(CommandLine.CreateRoot().Subcommands.Single(c => c.Name == "precision-report").Hidden);   // a tool for the docs
    }

    // ---- PrecisionError ----

    [Fact]
    public void PrecisionError_Compare_UsesTheDocumentedFloor()
    {
        // RMS of [3, 4, 0, 0] is 2.5, so the floor is 0.25: |Δ| of 0.5 at y = 0 counts as 0.5 / 0.25 = 2.
        PrecisionErrorStats s = PrecisionError.Compare(WeightPrecision.Int8, [3f, 4f, 0f, 0f], [3.3f, 4f, 0.5f, 0f], 4, 10, 40);
        Assert.Equal(0.25, s.Floor, 12);
        Assert.Equal(0.5, s.MaxAbs, 6);
        Assert.Equal(0.2, s.MeanAbs, 6);
        Assert.Equal(2.0, s.MaxRel, 6);
        Assert.Equal((0.1 + 2.0) / 4, s.MeanRel, 6);
    }

    [Fact]
    public void PrecisionError_WeightBytes_CountsMatricesAndInt8RowScales()
    {
        // LSTM I=5 H=4 (two [16, ·] matrices) + bidirectional copy + head [3, 8].
        var random = new Random(2);
        RnnModel model = RnnModel.Create([LayerWeights.Random(CellType.Lstm, 5, 4, random)], HeadWeights.Random(8, 3, random),
            options: new RnnModelOptions { ReverseLayers = [LayerWeights.Random(CellType.Lstm, 5, 4, random)] });
        long weights = 2 * (16 * 5 + 16 * 4) + 3 * 8;
        long rows = 2 * (16 + 16) + 3;
        Assert.Equal(4 * weights, PrecisionError.WeightBytes(model, WeightPrecision.Float32));
        Assert.Equal(2 * weights, PrecisionError.WeightBytes(model, WeightPrecision.BFloat16));
        Assert.Equal(weights + 4 * rows, PrecisionError.WeightBytes(model, WeightPrecision.Int8));
    }

    [Fact]
    public void PrecisionError_Measure_IsSeededAndZeroForBf16ExactWeights()
    {
        // gru_stacked_head is stored as BF16: its bf16 model has the same weights, so only summation order differs.
        RnnModel model = ModelFile.Load(TestFiles.Golden("gru_stacked_head.safetensors"));
        int steps = PrecisionError.ProbeSteps(model);
        float[] probe = PrecisionError.Probe(model.InputSize, steps);
        Assert.Equal(probe, PrecisionError.Probe(model.InputSize, steps));
        PrecisionErrorStats bf16 = PrecisionError.Measure(model, WeightPrecision.BFloat16, probe, steps);
        PrecisionErrorStats int8 = PrecisionError.Measure(model, WeightPrecision.Int8, probe, steps);
        Assert.True(bf16.MaxAbs < 1e-5, $"bf16 of bf16 weights: {bf16.MaxAbs}");
        Assert.True(int8.MaxAbs > 1e-5 && int8.MaxAbs < 0.1, $"int8: {int8.MaxAbs}");
        Assert.Equal(int8, PrecisionError.Measure(model, WeightPrecision.Int8, probe, steps));
    }

    [Fact]
    public void PrecisionError_AudioProbe_IsAQuietNoteWithinRange()
    {
        float[] probe = PrecisionError.Probe(1, PrecisionError.MaxProbeSteps);
        Assert.All(probe, v => Assert.True(Math.Abs(v) <= 0.61f, $"{v}"));
        Assert.True(probe.Max() > 0.3f);
    }
}
