using System.Text.Json;
using Rnn.Fast.Cli;

namespace Rnn.Fast.Tests.Cli;

public sealed class BenchCommandTests
{
    [Fact]
    public void BenchJson_Row_HasTheDocumentedCamelCaseFields()
    {
        List<BenchCommand.Row> rows = [new("LSTM", "streaming", 16, 16, 1, 1, "Rnn.Fast", "Avx2Fma", 123.4, 20.5)];
        using JsonDocument json = JsonDocument.Parse(JsonSerializer.Serialize(rows, BenchJsonContext.Default.ListRow));
        JsonElement row = json.RootElement[0];
        string[] names = [.. row.EnumerateObject().Select(p => p.Name)];
        Assert.Equal(["network", "mode", "hidden", "input", "batch", "seqLen", "implementation", "kernel", "nsPerStep", "ratioVsOnnxRuntime"], names);
        Assert.Equal(123.4, row.GetProperty("nsPerStep").GetDouble());
    }
}
