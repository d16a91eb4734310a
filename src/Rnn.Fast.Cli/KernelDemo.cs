using System.Runtime.InteropServices;
using Rnn.Fast.Reference;
using Spectre.Console;

namespace Rnn.Fast.Cli;

/// <summary>
/// The default demo: for LSTM and Elman (tanh) at a few sizes, which kernel runs, whether it agrees with
/// the double-precision reference, and how fast a streaming step and a sequence step are.
/// </summary>
internal static class KernelDemo
{
    private const string KernelVariable = "RNNFAST_KERNEL";

    // Steps of the reference check: long enough for errors to compound through the recurrence.
    private const int CheckSteps = 50;

    private sealed record DemoModel(CellType Cell, int InputSize, int HiddenSize, int OutputSize)
    {
        public string Name => Cell == CellType.Lstm ? "LSTM" : "Elman tanh";

        public string Shape => OutputSize > 0 ? $"I={InputSize} H={HiddenSize} O={OutputSize}" : $"I={InputSize} H={HiddenSize}";
    }

    private static readonly DemoModel[] s_models =
    [
        .. new[] { CellType.Lstm, CellType.Elman }.SelectMany(cell => new DemoModel[]
        {
            new(cell, 16, 16, 0),
            new(cell, 64, 64, 0),
            new(cell, 256, 256, 0),
            // The audio shape: one sample in, one value out per step.
            new(cell, 1, 32, 1),
        }),
    ];

    /// <summary>Runs the demo; returns 0, 1 when a correctness check failed, 2 for an unusable kernel name.</summary>
    /// <param name="kernel">Kernel name, or null for the default.</param>
    /// <param name="seed">Seed of the weights and inputs.</param>
    /// <param name="markdownRows">When given, receives one row per model for a markdown report.</param>
    public static int Run(string? kernel, int seed, List<IReadOnlyList<string>>? markdownRows = null)
    {
        string? chosen = ResolveKernel(kernel);
        if (chosen is null)
        {
            return 2;
        }
        PrintHeader(kernel, chosen);

        var table = new Table()
            .Title("[bold]Rnn.Fast kernels on this machine[/]")
            .AddColumn("Model")
            .AddColumn("Shape")
            .AddColumn("Kernel")
            .AddColumn(new TableColumn("Max abs err").RightAligned())
            .AddColumn("Check")
            .AddColumn(new TableColumn("Step ns").RightAligned())
            .AddColumn(new TableColumn("Step GFLOP/s").RightAligned())
            .AddColumn(new TableColumn("Run ns/step").RightAligned())
            .AddColumn(new TableColumn("Run GFLOP/s").RightAligned());

        bool allPassed = true;
        for (int m = 0; m < s_models.Length; m++)
        {
            DemoModel demo = s_models[m];
            AnsiConsole.MarkupLine($"[grey]Checking and timing {demo.Name} {demo.Shape}...[/]");
            var testCase = new VerificationCase(demo.InputSize, [new LayerSpec(demo.Cell, Activation.Tanh, demo.HiddenSize)],
                demo.OutputSize, Activation.Identity, CheckSteps, Batch: 1, Seed: seed + m);
            KernelCheckResult check = KernelVerifier.Check(testCase, chosen);
            allPassed &= check.Passed;

            RnnModel model = testCase.CreateModel(chosen);
            (double stepNs, double runNs) = ModelTiming.Measure(model, seed + m);
            double flops = ModelTiming.FlopsPerStep(model);
            table.AddRow(
                demo.Name,
                demo.Shape,
                model.Kernel,
                $"{check.MaxAbsError:0.0e+0}",
                check.Passed ? "[green]pass[/]" : "[red]FAIL[/]",
                $"{stepNs:N0}",
                $"{flops / stepNs:0.00}",
                $"{runNs:N0}",
                $"{flops / runNs:0.00}");
            markdownRows?.Add([demo.Name, demo.Shape, model.Kernel, $"{check.MaxAbsError:0.0e+0}", check.Passed ? "pass" : "FAIL", $"{stepNs:N0}", $"{runNs:N0}"]);
        }

        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"[grey]Check: T={CheckSteps} random steps from a random state vs the double-precision reference; {Markup.Escape(KernelVerifier.ToleranceFormula)}.[/]");
        AnsiConsole.MarkupLine($"[grey]Step: one streaming RnnModel.Step. Run: RnnModel.Run over T={ModelTiming.SequenceSteps}, per step. One stream; median of 9 timed batches after warm-up.[/]");
        AnsiConsole.MarkupLine("[grey]GFLOP/s counts the recurrent layer only: LSTM 2*4H*(I+H), Elman 2*H*(I+H) flops per step.[/]");

        if (!allPassed)
        {
            AnsiConsole.MarkupLine("[red]A correctness check failed: this kernel disagrees with the reference.[/]");
            return 1;
        }
        return 0;
    }

    /// <summary>The kernel the demo runs on, or null (after printing why) when it cannot run here.</summary>
    private static string? ResolveKernel(string? requested)
    {
        string defaultKernel;
        try
        {
            // Throws when RNNFAST_KERNEL names a kernel that cannot run here: the library never falls back silently.
            defaultKernel = RnnKernels.Default;
        }
        catch (ArgumentException e)
        {
            AnsiConsole.MarkupLine($"[red]{KernelVariable}: {Markup.Escape(e.Message)}[/]");
            return null;
        }
        if (requested is null)
        {
            return defaultKernel;
        }
        string? match = RnnKernels.Available.FirstOrDefault(k => string.Equals(k, requested, StringComparison.OrdinalIgnoreCase));
        if (match is null)
        {
            string problem = RnnKernels.All.Contains(requested, StringComparer.OrdinalIgnoreCase)
                ? "is not supported on this machine"
                : $"is unknown (known: {string.Join(", ", RnnKernels.All)})";
            AnsiConsole.MarkupLine(
                $"[red]Kernel '{Markup.Escape(requested)}' {Markup.Escape(problem)}; available here: {Markup.Escape(string.Join(", ", RnnKernels.Available))}.[/]");
        }
        return match;
    }

    private static void PrintHeader(string? requested, string chosen)
    {
        string? forced = Environment.GetEnvironmentVariable(KernelVariable);
        string why = requested is not null ? "--kernel"
            : string.IsNullOrWhiteSpace(forced) ? "default: fastest available"
            : $"default, forced by {KernelVariable}={forced}";
        AnsiConsole.MarkupLine(Markup.Escape(
            $"{RuntimeInformation.FrameworkDescription}, {RuntimeInformation.ProcessArchitecture}, {Environment.ProcessorCount} logical cores"));
        AnsiConsole.MarkupLine($"Kernels available: [bold]{Markup.Escape(string.Join(", ", RnnKernels.Available))}[/]");
        AnsiConsole.MarkupLine($"Default kernel: [bold]{Markup.Escape(RnnKernels.Default)}[/]");
        AnsiConsole.MarkupLine($"Running on: [bold]{Markup.Escape(chosen)}[/] ({Markup.Escape(why)})");
        AnsiConsole.WriteLine();
    }
}
