using System.CommandLine;
using System.Diagnostics;
using Rnn.Fast.Reference;
using Spectre.Console;

namespace Rnn.Fast.Cli;

/// <summary>
/// <c>rnnfast verify</c>: every available kernel against the double-precision reference on the same
/// random cases. The checking lives in <see cref="KernelVerifier"/> (shared with the tests); this only renders.
/// </summary>
internal static class VerifyCommand
{
    public static Command Create()
    {
        var cases = new Option<int>("--cases")
        {
            Description = "Random cases per kernel.",
            DefaultValueFactory = _ => 200,
        };
        cases.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() < 1)
            {
                result.AddError("--cases must be at least 1.");
            }
        });
        var seed = new Option<int>("--seed")
        {
            Description = "Seed of the random cases (the same seed gives the same cases on every machine).",
            DefaultValueFactory = _ => 1,
        };
        var command = new Command("verify", "Check every available kernel against the double-precision reference on random shapes.")
        {
            cases,
            seed,
        };
        command.SetAction(parse => Run(parse.GetValue(cases), parse.GetValue(seed)));
        return command;
    }

    /// <summary>Runs the verification; returns 0 when every kernel passes every case, else 1.</summary>
    private static int Run(int cases, int seed)
    {
        IReadOnlyList<string> kernels = RnnKernels.Available;
        AnsiConsole.MarkupLine($"Verifying [bold]{Markup.Escape(string.Join(", ", kernels))}[/] on {cases} random cases each (seed {seed}).");
        AnsiConsole.MarkupLine(
            "[grey]Cases: Elman tanh/ReLU/sigmoid or LSTM per layer, 1-2 layers, I and H in 1..70 (a fifth up to 300), " +
            "optional head (identity/tanh/ReLU/sigmoid/softmax), T 1..20, B 1..4, non-zero initial state; " +
            "every Step and Run output and the final h and c are compared.[/]");
        AnsiConsole.MarkupLine($"[grey]Tolerance per value: {Markup.Escape(KernelVerifier.ToleranceFormula)}.[/]");

        var clock = Stopwatch.StartNew();
        IReadOnlyList<KernelVerificationSummary> summaries = KernelVerifier.Verify(kernels, cases, seed);
        clock.Stop();

        var table = new Table()
            .AddColumn("Kernel")
            .AddColumn(new TableColumn("Cases").RightAligned())
            .AddColumn(new TableColumn("Failed").RightAligned())
            .AddColumn(new TableColumn("Max abs error").RightAligned())
            .AddColumn(new TableColumn("Max error / tolerance").RightAligned())
            .AddColumn("Result");
        foreach (KernelVerificationSummary summary in summaries)
        {
            table.AddRow(
                Markup.Escape(summary.Kernel),
                $"{summary.Cases}",
                $"{summary.Failures}",
                $"{summary.MaxAbsError:0.00e+0}",
                $"{summary.MaxScaledError:0.000}",
                summary.Passed ? "[green]pass[/]" : "[red]FAIL[/]");
        }
        AnsiConsole.Write(table);

        // The worst case of each kernel, so a failure can be reproduced (same seed) and a pass shows its margin.
        foreach (KernelVerificationSummary summary in summaries)
        {
            if (summary.Worst is { } worst)
            {
                string colour = summary.Passed ? "grey" : "red";
                AnsiConsole.MarkupLine($"[{colour}]{Markup.Escape(summary.Kernel)} worst: {Markup.Escape(worst.Case.ToString())}; {Markup.Escape(worst.Worst)}[/]");
            }
        }
        AnsiConsole.MarkupLine($"[grey]{clock.Elapsed.TotalSeconds:0.0} s[/]");

        bool passed = summaries.All(s => s.Passed);
        if (!passed)
        {
            AnsiConsole.MarkupLine("[red]Verification failed: at least one kernel disagrees with the reference.[/]");
        }
        return passed ? 0 : 1;
    }
}
