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
        Option<string[]> precision = PrecisionOption.CreateMany(
            "Weight precisions to verify (default all three): the reduced ones run every matrix through the bf16/int8 products, whatever its size.");
        precision.DefaultValueFactory = _ => ["fp32", "bf16", "int8"];
        var command = new Command("verify", "Check every available kernel against the double-precision reference on random shapes.")
        {
            cases,
            seed,
            precision,
        };
        command.SetAction(parse =>
        {
            WeightPrecision[] precisions = [.. parse.GetValue(precision)!.Select(p => PrecisionOption.Parse(p)!.Value).Distinct()];
            int exit = 0;
            foreach (WeightPrecision p in precisions)
            {
                exit = Math.Max(exit, Run(parse.GetValue(cases), parse.GetValue(seed), p));
            }
            return exit;
        });
        return command;
    }

    /// <summary>Runs the verification of one precision; returns 0 when every kernel passes every case, else 1.</summary>
    private static int Run(int cases, int seed, WeightPrecision precision)
    {
        IReadOnlyList<string> kernels = RnnKernels.Available;
        string weights = precision switch
        {
            WeightPrecision.BFloat16 => "bf16 weights (reference on the dequantized weights)",
            WeightPrecision.Int8 => "int8 weights (reference on the dequantized weights)",
            _ => "float32 weights",
        };
        AnsiConsole.MarkupLine($"Verifying [bold]{Markup.Escape(string.Join(", ", kernels))}[/] with {weights} on {cases} random cases each (seed {seed}).");
        AnsiConsole.MarkupLine(
            "[grey]Cases, five structures equally often: one Elman (tanh/ReLU/sigmoid), LSTM or GRU layer; a stack of 2-3 layers; " +
            "a bidirectional model of 1-2 layers (stacks and bidirectional models draw each layer's cell); " +
            "I and H in 1..70 (a fifth up to 300), a head (identity/tanh/ReLU/sigmoid/softmax) half the time, T 1..20, B 1..4, " +
            "non-zero initial state; every Step (unidirectional) and Run output and the final h and c of both directions are compared.[/]");
        AnsiConsole.MarkupLine($"[grey]Tolerance per value: {Markup.Escape(KernelVerifier.ToleranceFormula)}.[/]");
        if (RnnKernels.BelowHardwareNote is { } note)
        {
            AnsiConsole.MarkupLine($"[yellow]Below the hardware:[/] {Markup.Escape(note)}");
        }

        var clock = Stopwatch.StartNew();
        VerificationReport report = KernelVerifier.Verify(kernels, cases, seed, precision);
        IReadOnlyList<KernelVerificationSummary> summaries = report.Kernels;
        clock.Stop();

        AnsiConsole.Write(FamilyTable(report, kernels));

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
        bool subnormalSafe = SubnormalTable(kernels, precision);
        AnsiConsole.MarkupLine($"[grey]{clock.Elapsed.TotalSeconds:0.0} s[/]");

        bool passed = report.Passed;
        if (!passed)
        {
            AnsiConsole.MarkupLine("[red]Verification failed: at least one kernel disagrees with the reference.[/]");
        }
        if (!subnormalSafe)
        {
            AnsiConsole.MarkupLine("[red]Verification failed: a kernel let a decaying state turn subnormal (slow on x86).[/]");
        }
        return passed && subnormalSafe ? 0 : 1;
    }

    /// <summary>
    /// <see cref="SubnormalCheck"/>: per kernel, whether a state decaying in silence stays out of the subnormals on every
    /// path; the failing checks are listed. Returns whether all passed.
    /// </summary>
    private static bool SubnormalTable(IReadOnlyList<string> kernels, WeightPrecision precision)
    {
        IReadOnlyList<SubnormalCheckResult> results = SubnormalCheck.Run(kernels, precision);
        var table = new Table()
            .Title("[bold]Subnormal safety: a state decaying in silence (LSTM, GRU, Elman tanh/ReLU; H 16 and 128; Step of 1 and 3 streams, Run of 9)[/]")
            .AddColumn("Kernel")
            .AddColumn(new TableColumn("Checks").RightAligned())
            .AddColumn(new TableColumn("Subnormal values").RightAligned())
            .AddColumn(new TableColumn("Ended at 0").RightAligned())
            .AddColumn("Result");
        foreach (IGrouping<string, SubnormalCheckResult> kernel in results.GroupBy(r => r.Kernel))
        {
            bool ok = kernel.All(r => r.Passed);
            table.AddRow(
                Markup.Escape(kernel.Key),
                $"{kernel.Count()}",
                $"{kernel.Sum(r => r.SubnormalValues)}",
                $"{kernel.Count(r => r.EndedAtZero)}/{kernel.Count()}",
                ok ? "[green]pass[/]" : "[red]FAIL[/]");
        }
        AnsiConsole.Write(table);
        foreach (SubnormalCheckResult failed in results.Where(r => !r.Passed))
        {
            AnsiConsole.MarkupLine($"[red]{Markup.Escape(failed.Kernel)}: {Markup.Escape(failed.Case)}: {failed.SubnormalValues} subnormal values, " +
                $"{(failed.EndedAtZero ? "ended at 0" : "did not end at 0")}[/]");
        }
        return results.All(r => r.Passed);
    }

    /// <summary>One row per model family, one column per kernel: the worst error / tolerance of the family's cases, or the failures.</summary>
    private static Table FamilyTable(VerificationReport report, IReadOnlyList<string> kernels)
    {
        var table = new Table()
            .Title("[bold]Max error / tolerance per model family (above 1 fails)[/]")
            .AddColumn("Model family")
            .AddColumn(new TableColumn("Cases").RightAligned());
        foreach (string kernel in kernels)
        {
            table.AddColumn(new TableColumn(Markup.Escape(kernel)).RightAligned());
        }
        foreach (FamilySummary family in report.Families)
        {
            var cells = new List<string> { Markup.Escape(family.Family), $"{family.Cases}" };
            for (int k = 0; k < kernels.Count; k++)
            {
                cells.Add(family.Failures[k] == 0
                    ? $"{family.MaxScaledError[k]:0.000}"
                    : $"[red]{family.MaxScaledError[k]:0.000} ({family.Failures[k]} failed)[/]");
            }
            table.AddRow([.. cells]);
        }
        return table;
    }
}
