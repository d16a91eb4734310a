extern alias compare;

using System.Text.Json;
using compare::Rnn.Fast.Compare;
using Rnn.Fast.Cli;

namespace Rnn.Fast.Tests.Cli;

/// <summary>
/// <c>rnnfast bench</c> (Rnn.Fast alone) and bench/Rnn.Fast.Compare (against ONNX Runtime and the other
/// baselines): their JSON rows and their refusal of sizes that would take gigabytes and hours. No timing runs here.
/// </summary>
public sealed class BenchCommandTests
{
    [Fact]
    public void BenchJson_Row_HasTheDocumentedCamelCaseFields()
    {
        List<BenchCommand.Row> rows = [new("LSTM", "streaming", 16, 16, 16, 1, 1, "Avx2Fma", "bf16", 123.4, 8.3)];
        using JsonDocument json = JsonDocument.Parse(JsonSerializer.Serialize(rows, BenchJsonContext.Default.ListRow));
        JsonElement row = json.RootElement[0];
        string[] names = [.. row.EnumerateObject().Select(p => p.Name)];
        Assert.Equal(["network", "mode", "input", "hidden", "output", "batch", "seqLen", "kernel", "precision", "nsPerStep", "gflopsPerSecond"], names);
        Assert.Equal(123.4, row.GetProperty("nsPerStep").GetDouble());
    }

    [Fact]
    public void CompareJson_Row_HasTheDocumentedCamelCaseFields()
    {
        List<CompareCommand.Row> rows = [new("LSTM", "streaming", 16, 16, 1, 1, "Rnn.Fast", "Avx2Fma", 123.4, 20.5)];
        using JsonDocument json = JsonDocument.Parse(JsonSerializer.Serialize(rows, CompareJsonContext.Default.ListRow));
        JsonElement row = json.RootElement[0];
        string[] names = [.. row.EnumerateObject().Select(p => p.Name)];
        Assert.Equal(["network", "mode", "hidden", "input", "batch", "seqLen", "implementation", "kernel", "nsPerStep", "ratioVsOnnxRuntime"], names);
        Assert.Equal(123.4, row.GetProperty("nsPerStep").GetDouble());
    }

    [Fact]
    public void Bench_Shapes_AreTheRequestedSizesThenTheAudioShape()
    {
        Assert.Equal([(16, 16, 0), (64, 64, 0), (1, 16, 1)], BenchCommand.Shapes([16, 64]));
    }

    [Theory]
    [InlineData(100000)]
    [InlineData(BenchSizes.MaxHidden + 1)]
    [InlineData(0)]
    [InlineData(-3)]
    public void Bench_AbsurdHidden_IsRefusedWithExitCode2BeforeAllocating(int hidden)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        Assert.Equal(2, BenchCommand.Run(json: true, kernel: null, [16, hidden]));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20, "a refused size must not allocate a model");
    }

    [Fact]
    public void Compare_AbsurdHidden_IsRefusedWithExitCode2()
    {
        Assert.Equal(2, CompareCommand.Run(json: true, kernel: null, [100000]));
        Assert.Equal(2, CompareCommand.Run(json: true, kernel: null, [CompareCommand.MaxHidden + 1]));
    }

    [Fact]
    public void BenchSizes_Problem_NamesTheOptionTheSizeAndTheLimit()
    {
        string? problem = BenchSizes.Problem([16, 100000], BenchSizes.MaxHidden);
        Assert.Equal("--hidden 100000 is too large: at most 2048 (an LSTM with I = H = 100000 has 320 GB of weights).", problem);
        Assert.Null(BenchSizes.Problem([1, BenchSizes.MaxHidden], BenchSizes.MaxHidden));
        Assert.Equal("--hidden needs one or more sizes.", BenchSizes.Problem([], BenchSizes.MaxHidden));
    }

    [Fact]
    public void Bench_UnknownKernel_IsRefusedWithExitCode2()
    {
        Assert.Equal(2, BenchCommand.Run(json: true, kernel: "Bogus", [16]));
    }
}
