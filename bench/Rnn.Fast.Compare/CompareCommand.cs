using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Rnn.Fast.Baselines;
using Rnn.Fast.Cli;
using Spectre.Console;

namespace Rnn.Fast.Compare;

/// <summary>
/// <c>dotnet run -c Release --project bench/Rnn.Fast.Compare</c>: a quick in-process comparison on this machine of Rnn.Fast against ONNX Runtime
/// (one call per step with IoBinding, and its own sequence run), the TensorPrimitives cell and the naive
/// loops, for LSTM at H = 16, 64, 256 by default (I = H, batch 1), streaming and T = 100 sequences. Each
/// implementation is checked against Rnn.Fast before it is timed. Medians of timed batches (see
/// <see cref="Timing"/>); well under a minute. The full suite is bench/Rnn.Fast.Benchmarks; <c>rnnfast bench</c>
/// times Rnn.Fast alone, without ONNX Runtime.
/// </summary>
internal static class CompareCommand
{
    /// <summary>
    /// The largest H compared: the naive loops take tens of milliseconds per step there, and every
    /// implementation holds its own copy of the weights.
    /// </summary>
    public const int MaxHidden = 1024;

    private const int SequenceLength = 100;
    /// <summary>One measured row; the JSON field names are the property names in camelCase.</summary>
    internal sealed record Row(string Network, string Mode, int Hidden, int Input, int Batch, int SeqLen,
        string Implementation, string? Kernel, double NsPerStep, double? RatioVsOnnxRuntime);

    public static RootCommand Create()
    {
        var json = new Option<bool>("--json") { Description = "Print the rows as a JSON array instead of a table." };
        var kernel = new Option<string?>("--kernel")
        {
            Description = $"Rnn.Fast kernel to time ({string.Join(", ", RnnKernels.Available)} on this machine); default {RnnKernels.Default}.",
            HelpName = "NAME",
        };
        Option<int[]> hidden = BenchSizes.HiddenOption(MaxHidden);
        var command = new RootCommand("Time Rnn.Fast against ONNX Runtime, TensorPrimitives and naive C# on this machine (under a minute).")
        {
            json,
            kernel,
            hidden,
        };
        command.SetAction(parse => Run(parse.GetValue(json), parse.GetValue(kernel), parse.GetValue(hidden) ?? [.. BenchSizes.DefaultHidden]));
        return command;
    }

    public static int Run(bool json, string? kernel, int[] hiddenSizes)
    {
        kernel ??= RnnKernels.Default;
        if (!RnnKernels.Available.Contains(kernel))
        {
            Console.Error.WriteLine($"Unknown or unsupported kernel '{kernel}'. Available: {string.Join(", ", RnnKernels.Available)}.");
            return 2;
        }
        if (BenchSizes.Problem(hiddenSizes, MaxHidden) is { } problem)
        {
            Console.Error.WriteLine(problem);
            return 2;
        }
        var rows = new List<Row>();
        foreach (int hidden in hiddenSizes)
        {
            if (!json)
            {
                AnsiConsole.MarkupLine($"[grey]LSTM H={hidden}: checking and timing...[/]");
            }
            rows.AddRange(Measure(hidden, kernel));
        }
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(rows, CompareJsonContext.Default.ListRow));
        }
        else
        {
            Print(rows);
        }
        return 0;
    }

    internal static List<Row> Measure(int hidden, string kernel)
    {
        RnnModel model = RnnModel.CreateLstm(hidden, hidden, seed: hidden, kernel: kernel);
        LayerWeights layer = model.Layers[0];
        float[] inputs = Inputs(SequenceLength * hidden);
        var outputs = new float[SequenceLength * hidden];
        var rows = new List<Row>();

        // Streaming: a ring of 100 inputs, one step each; the state carries on.
        RnnState state = model.CreateState();
        var naive = new NaiveLstm(layer);
        var tp = new TensorPrimitivesRnn(layer);
        using var onnxStep = new OnnxRnnRunner(layer);
        var streaming = new (string Name, string? Kernel, StepFunction Step)[]
        {
            ("Rnn.Fast", kernel, (x, y) => model.Step(x, state, y)),
            ("OnnxRuntime", null, onnxStep.Step),
            ("TensorPrimitives", null, tp.Step),
            ("Naive", null, naive.Step),
        };
        float[] expected = StepOutputs(streaming[0].Step, inputs, hidden);
        state.Reset();
        var results = new List<(string, string?, double)>();
        foreach ((string name, string? k, StepFunction step) in streaming)
        {
            if (name != "Rnn.Fast")
            {
                Check(name, expected, StepOutputs(step, inputs, hidden));
            }
            double ns = Timing.MedianNanoseconds(n =>
            {
                for (int i = 0; i < n; i++)
                {
                    for (int t = 0; t < SequenceLength; t++)
                    {
                        step(inputs.AsSpan(t * hidden, hidden), outputs.AsSpan(t * hidden, hidden));
                    }
                }
            }, SequenceLength);
            results.Add((name, k, ns));
        }
        AddRows(rows, "streaming", hidden, 1, results);

        // Sequences: one call of T = 100 steps, batch 1.
        var tpSequence = new TensorPrimitivesRnn(layer);
        using var onnxSequence = new OnnxRnnRunner(layer, steps: SequenceLength);
        RnnState sequenceState = model.CreateState();
        var sequences = new (string Name, string? Kernel, Action Run)[]
        {
            ("Rnn.Fast", kernel, () => model.Run(inputs, SequenceLength, sequenceState, outputs)),
            ("OnnxRuntime", null, () => onnxSequence.Run(inputs, outputs)),
            ("TensorPrimitives", null, () => tpSequence.Run(inputs, SequenceLength, outputs)),
        };
        results.Clear();
        foreach ((string name, string? k, Action run) in sequences)
        {
            run();
            Check(name + " sequence", expected, outputs);
            double ns = Timing.MedianNanoseconds(n =>
            {
                for (int i = 0; i < n; i++)
                {
                    run();
                }
            }, SequenceLength);
            results.Add((name, k, ns));
        }
        AddRows(rows, "sequence", hidden, SequenceLength, results);
        return rows;
    }

    private static void AddRows(List<Row> rows, string mode, int hidden, int seqLen, List<(string Name, string? Kernel, double Ns)> results)
    {
        double onnx = results.Single(r => r.Name == "OnnxRuntime").Ns;
        foreach ((string name, string? k, double ns) in results)
        {
            rows.Add(new Row("LSTM", mode, hidden, hidden, 1, seqLen, name, k, Math.Round(ns, 1), Math.Round(onnx / ns, 2)));
        }
    }

    private static float[] StepOutputs(StepFunction step, float[] inputs, int hidden)
    {
        var outputs = new float[inputs.Length];
        for (int t = 0; t < SequenceLength; t++)
        {
            step(inputs.AsSpan(t * hidden, hidden), outputs.AsSpan(t * hidden, hidden));
        }
        return outputs;
    }

    private static void Check(string name, float[] expected, float[] actual)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            if (!(Math.Abs(expected[i] - actual[i]) <= 1e-3f * (1 + Math.Abs(expected[i]))))
            {
                throw new InvalidOperationException($"{name} disagrees with Rnn.Fast at output {i}: {actual[i]} vs {expected[i]}.");
            }
        }
    }

    private static float[] Inputs(int count)
    {
        var random = new Random(1);
        var values = new float[count];
        for (int i = 0; i < count; i++)
        {
            values[i] = (float)(random.NextDouble() * 2 - 1);
        }
        return values;
    }

    private static void Print(List<Row> rows)
    {
        var table = new Table()
            .Title("[bold]LSTM, I = H, batch 1: ns per time step (median)[/]")
            .AddColumn("Mode")
            .AddColumn(new TableColumn("H").RightAligned())
            .AddColumn("Implementation")
            .AddColumn(new TableColumn("ns/step").RightAligned())
            .AddColumn(new TableColumn("× faster than ONNX Runtime").RightAligned());
        foreach (Row row in rows)
        {
            string name = row.Kernel is null ? row.Implementation : $"{row.Implementation} ({row.Kernel})";
            table.AddRow(row.Mode, row.Hidden.ToString(CultureInfo.InvariantCulture), Markup.Escape(name),
                row.NsPerStep.ToString("N1", CultureInfo.InvariantCulture),
                row.RatioVsOnnxRuntime?.ToString("0.00", CultureInfo.InvariantCulture) ?? "");
        }
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"[grey]{Environment.ProcessorCount} cores, load average {Timing.LoadAverage()}; a shared or busy machine inflates every row.[/]");
    }
}

/// <summary>Source-generated JSON for <see cref="CompareCommand.Row"/> (camelCase names).</summary>
[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[System.Text.Json.Serialization.JsonSerializable(typeof(List<CompareCommand.Row>))]
internal sealed partial class CompareJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
