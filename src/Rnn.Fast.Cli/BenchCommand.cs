using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Spectre.Console;

namespace Rnn.Fast.Cli;

/// <summary>
/// <c>rnnfast bench</c>: times Rnn.Fast alone on this machine, on every available kernel (or <c>--kernel</c>):
/// LSTM with I = H at H = 16, 64, 256 by default, batch 1, a streaming <see cref="RnnModel.Step"/> and a
/// T = 100 <see cref="RnnModel.Run(ReadOnlySpan{float}, int, RnnState, Span{float})"/>, in ns per step and GFLOP/s, plus the audio shape (I = 1, H = 16,
/// a 1-output linear head). <c>--precision fp32 bf16 int8</c> times the same models with their weight matrices in
/// each precision (<see cref="RnnModel.WithPrecision(WeightPrecision)"/>). Medians of timed batches (see <see cref="Timing"/>). The comparison with
/// ONNX Runtime, TensorPrimitives and naive C# is bench/Rnn.Fast.Compare; the full suite bench/Rnn.Fast.Benchmarks.
/// </summary>
internal static class BenchCommand
{
    /// <summary>The audio shape: one sample in, one value out per step.</summary>
    private const int AudioHidden = 16;

    /// <summary>One measured row; the JSON field names are the property names in camelCase.</summary>
    internal sealed record Row(string Network, string Mode, int Input, int Hidden, int Output, int Batch, int SeqLen,
        string Kernel, string Precision, double NsPerStep, double GflopsPerSecond);

    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "Print the rows as a JSON array instead of a table." };
        var kernel = new Option<string?>("--kernel")
        {
            Description = $"Time only this kernel ({string.Join(", ", RnnKernels.Available)} on this machine); default: every one.",
            HelpName = "NAME",
        };
        Option<int[]> hidden = BenchSizes.HiddenOption(BenchSizes.MaxHidden);
        Option<string[]> precision = PrecisionOption.CreateMany(
            "Weight precisions to time, one or more of fp32, bf16, int8; default fp32. With several, the table adds each Step's speed-up over fp32.");
        var command = new Command("bench",
            "Time Rnn.Fast's kernels on this machine: streaming steps and T=100 sequences, ns/step and GFLOP/s. " +
            "bench/Rnn.Fast.Compare compares with ONNX Runtime, TensorPrimitives and naive C#.")
        {
            json,
            kernel,
            hidden,
            precision,
        };
        command.SetAction(parse => Run(parse.GetValue(json), parse.GetValue(kernel), parse.GetValue(hidden) ?? [.. BenchSizes.DefaultHidden],
            parse.GetValue(precision)));
        return command;
    }

    /// <summary>Times and prints; 0 on success, 2 for an unusable kernel, size or precision (nothing is allocated then).</summary>
    public static int Run(bool json, string? kernel, int[] hiddenSizes, string[]? precisions = null)
    {
        ArgumentNullException.ThrowIfNull(hiddenSizes);
        var weights = new List<WeightPrecision>();
        foreach (string name in precisions is null or [] ? ["fp32"] : precisions)
        {
            if (!PrecisionOption.TryParse(name, out WeightPrecision p))
            {
                Terminal.Error(PrecisionOption.Problem(name));
                return 2;
            }
            if (!weights.Contains(p))
            {
                weights.Add(p);
            }
        }
        string[] kernels;
        if (kernel is null)
        {
            kernels = [.. RnnKernels.Available];
        }
        else if (RnnKernels.Available.FirstOrDefault(k => string.Equals(k, kernel, StringComparison.OrdinalIgnoreCase)) is { } match)
        {
            kernels = [match];
        }
        else
        {
            Console.Error.WriteLine($"Unknown or unsupported kernel '{kernel}'. Available: {string.Join(", ", RnnKernels.Available)}.");
            return 2;
        }
        if (BenchSizes.Problem(hiddenSizes, BenchSizes.MaxHidden) is { } problem)
        {
            Console.Error.WriteLine(problem);
            return 2;
        }

        var rows = new List<Row>();
        foreach ((int input, int hidden, int output) in Shapes(hiddenSizes))
        {
            foreach (string k in kernels)
            {
                foreach (WeightPrecision p in weights)
                {
                    if (!json)
                    {
                        string head = output > 0 ? $" O={output}" : "";
                        AnsiConsole.MarkupLine($"[grey]LSTM I={input} H={hidden}{head} on {Markup.Escape(k)}, {PrecisionOption.Name(p)}: timing...[/]");
                    }
                    rows.AddRange(Measure(input, hidden, output, k, p));
                }
            }
        }
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(rows, BenchJsonContext.Default.ListRow));
        }
        else
        {
            Print(rows);
        }
        return 0;
    }

    /// <summary>(I, H, O) of every timed model: I = H without a head per requested size, then the audio shape.</summary>
    internal static IEnumerable<(int Input, int Hidden, int Output)> Shapes(IEnumerable<int> hiddenSizes) =>
        [.. hiddenSizes.Select(h => (h, h, 0)), (1, AudioHidden, 1)];

    /// <summary>The streaming and sequence rows of one LSTM shape on one kernel, weights in <paramref name="precision"/>.</summary>
    internal static Row[] Measure(int input, int hidden, int output, string kernel, WeightPrecision precision = WeightPrecision.Float32)
    {
        var random = new Random(hidden);
        LayerWeights layer = LayerWeights.Random(CellType.Lstm, input, hidden, random);
        HeadWeights? head = output > 0 ? HeadWeights.Random(hidden, output, random) : null;
        RnnModel model = RnnModel.Create([layer], head, kernel).WithPrecision(precision);
        string name = PrecisionOption.Name(precision);
        (double stepNs, double runNs) = ModelTiming.Measure(model, seed: 1);
        double flops = ModelTiming.FlopsPerStep(model);
        return
        [
            new Row("LSTM", "streaming", input, hidden, model.OutputSize, 1, 1, model.Kernel, name, Math.Round(stepNs, 1), Math.Round(flops / stepNs, 2)),
            new Row("LSTM", "sequence", input, hidden, model.OutputSize, 1, ModelTiming.SequenceSteps, model.Kernel, name, Math.Round(runNs, 1), Math.Round(flops / runNs, 2)),
        ];
    }

    private static void Print(List<Row> rows)
    {
        // With several precisions, each row's Step against the fp32 Step of the same shape and kernel (if fp32 was timed).
        bool compare = rows.Select(r => r.Precision).Distinct().Count() > 1 && rows.Any(r => r.Precision == "fp32");
        var table = new Table()
            .Title($"[bold]Rnn.Fast LSTM, batch 1: ns per time step (median)[/]")
            .AddColumn("Shape")
            .AddColumn("Kernel")
            .AddColumn("Weights")
            .AddColumn(new TableColumn("Step ns").RightAligned())
            .AddColumn(new TableColumn("Step GFLOP/s").RightAligned())
            .AddColumn(new TableColumn($"Run T={ModelTiming.SequenceSteps} ns/step").RightAligned())
            .AddColumn(new TableColumn("Run GFLOP/s").RightAligned());
        if (compare)
        {
            table.AddColumn(new TableColumn("Step × fp32").RightAligned());
        }
        foreach (IGrouping<(int, int, int, string, string), Row> pair in rows.GroupBy(r => (r.Input, r.Hidden, r.Output, r.Kernel, r.Precision)))
        {
            Row step = pair.Single(r => r.Mode == "streaming");
            Row run = pair.Single(r => r.Mode == "sequence");
            string shape = step.Input == 1 && step.Output == 1 && step.Hidden == AudioHidden
                ? string.Create(CultureInfo.InvariantCulture, $"I={step.Input} H={step.Hidden} O={step.Output} (audio)")
                : string.Create(CultureInfo.InvariantCulture, $"I={step.Input} H={step.Hidden}");
            List<string> cells =
            [
                shape, Markup.Escape(step.Kernel), step.Precision,
                step.NsPerStep.ToString("N1", CultureInfo.InvariantCulture),
                step.GflopsPerSecond.ToString("0.00", CultureInfo.InvariantCulture),
                run.NsPerStep.ToString("N1", CultureInfo.InvariantCulture),
                run.GflopsPerSecond.ToString("0.00", CultureInfo.InvariantCulture),
            ];
            if (compare)
            {
                Row? fp32 = rows.FirstOrDefault(r => r.Mode == "streaming" && r.Precision == "fp32"
                    && (r.Input, r.Hidden, r.Output, r.Kernel) == (step.Input, step.Hidden, step.Output, step.Kernel));
                cells.Add(fp32 is null || step.NsPerStep <= 0 ? "" : (fp32.NsPerStep / step.NsPerStep).ToString("0.00", CultureInfo.InvariantCulture) + "×");
            }
            table.AddRow([.. cells]);
        }
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine("[grey]GFLOP/s counts the recurrent layer only, 2*4H*(I+H) flops per step. " +
            "Against ONNX Runtime, TensorPrimitives and naive C#: dotnet run -c Release --project bench/Rnn.Fast.Compare.[/]");
        AnsiConsole.MarkupLine($"[grey]{Environment.ProcessorCount} cores, load average {Timing.LoadAverage()}; a shared or busy machine inflates every row.[/]");
    }
}

/// <summary>Source-generated JSON for <see cref="BenchCommand.Row"/> (camelCase names).</summary>
[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[System.Text.Json.Serialization.JsonSerializable(typeof(List<BenchCommand.Row>))]
internal sealed partial class BenchJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
