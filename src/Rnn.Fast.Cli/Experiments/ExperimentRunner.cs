using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using Spectre.Console;

namespace Rnn.Fast.Cli.Experiments;

/// <summary>One named experiment of <c>rnnfast demo</c>.</summary>
internal sealed record Experiment(string Name, string Description, Func<ExperimentContext, ExperimentReport> Run);

/// <summary>Runs experiments under progress bars and writes their files and index.md to one folder.</summary>
internal static class ExperimentRunner
{
    public static readonly Experiment[] All =
    [
        new(GradientFlowExperiment.Name, "Gradient flow over time: ‖∂L/∂h(t)‖ vs distance for Elman RNNs at several spectral radii and LSTMs; gradient norm while training.", GradientFlowExperiment.Run),
        new(AddingExperiment.Name, "The adding problem: Elman (tanh) vs LSTM learning curves against the 1/6 baseline.", AddingExperiment.Run),
        new(ClippingExperiment.Name, "An exploding Elman RNN trained without clipping, with clipping by value and by global norm.", ClippingExperiment.Run),
        new(TbpttExperiment.Name, "Full BPTT vs truncated BPTT (k = 5, 20, 50) on a long stream with a 10-step dependency.", TbpttExperiment.Run),
    ];

    /// <summary>What quick mode shortens, for index.md.</summary>
    private const string QuickModeNote =
        "Quick mode (the default) shortens: gradients — 8 streams instead of 32, training-run plot 150 steps instead of 400; " +
        "adding — T = 50 only (full: 50, 100, 200), 1200 training steps instead of 4000; clipping — 400 steps instead of 1500; " +
        "tbptt — 4 passes over the 10 000-step stream instead of 20, held-out stream 1000 steps instead of 2000. Run with `--full` for the full versions.";

    /// <summary>Creates the output folder, or says on stderr why it cannot (naming the folder, no stack trace).</summary>
    public static bool TryCreateFolder(string output)
    {
        try
        {
            if (File.Exists(output))
            {
                throw new IOException("it is a file, not a folder");
            }
            Directory.CreateDirectory(output);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            Terminal.Error($"--output {output}: cannot create the folder: {Messages.Of(e)}");
            return false;
        }
    }

    /// <summary>Runs the experiments (and the kernel table first when <paramref name="kernelDemo"/> is given); returns the exit code.</summary>
    public static int Run(IReadOnlyList<Experiment> experiments, Func<List<IReadOnlyList<string>>, int>? kernelDemo, string output, bool full, int seed, string? kernel)
    {
        var kernelRows = new List<IReadOnlyList<string>>();
        int exitCode = kernelDemo?.Invoke(kernelRows) ?? 0;
        if (exitCode == 2 || (kernel is not null && !RnnKernels.Available.Contains(kernel, StringComparer.OrdinalIgnoreCase)))
        {
            // An unusable --kernel (the kernel demo has said why, or this is a single experiment): nothing to train on.
            if (kernelDemo is null)
            {
                Terminal.Error($"--kernel {kernel}: not available here; available: {string.Join(", ", RnnKernels.Available)}.");
            }
            return ExitCodes.Usage;
        }
        if (!TryCreateFolder(output))
        {
            return ExitCodes.Failure;
        }
        if (kernelDemo is not null)
        {
            AnsiConsole.WriteLine();
        }

        AnsiConsole.MarkupLine(Markup.Escape($"Experiments ({(full ? "full" : "quick")} mode, seed {seed}) -> {Path.GetFullPath(output)}"));
        var reports = new List<ExperimentReport>();
        var clock = Stopwatch.StartNew();
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(progressContext =>
            {
                var context = new ExperimentContext(output, full, seed, kernel, new SpectreProgress(progressContext));
                foreach (Experiment experiment in experiments)
                {
                    ExperimentReport report = experiment.Run(context);
                    File.WriteAllText(Path.Combine(output, experiment.Name + ".md"), "# rnnfast demo " + experiment.Name + "\n\n" + report.Markdown);
                    reports.Add(report);
                }
            });
        clock.Stop();

        foreach (ExperimentReport report in reports)
        {
            AnsiConsole.MarkupLine($"[bold]{Markup.Escape(report.Name)}[/]");
            foreach (string line in report.Summary)
            {
                AnsiConsole.MarkupLine("  " + Markup.Escape(line));
            }
        }

        // index.md belongs to the run of everything; one experiment alone leaves it (and the others' files) as they are.
        string reportPath = Path.Combine(output, experiments.Count == 1 ? experiments[0].Name + ".md" : "index.md");
        if (experiments.Count > 1)
        {
            File.WriteAllText(reportPath, IndexMarkdown(reports, kernelRows, full, seed, kernel, clock.Elapsed));
        }
        AnsiConsole.MarkupLine(Markup.Escape($"Wrote {reports.Count} experiment(s) in {clock.Elapsed.TotalSeconds:0} s; report: {reportPath}"));
        return exitCode;
    }

    private static string IndexMarkdown(List<ExperimentReport> reports, List<IReadOnlyList<string>> kernelRows, bool full, int seed, string? kernel, TimeSpan elapsed)
    {
        var md = new StringBuilder();
        md.Append("# Rnn.Fast experiments: vanishing and exploding gradients, long-term dependencies, clipping, truncation\n\n");
        md.Append(ReportFiles.Invariant(
            $"`rnnfast demo{(full ? " --full" : "")} --seed {seed}{(kernel is null ? "" : " --kernel " + kernel)}` on {RuntimeInformation.FrameworkDescription}, {RuntimeInformation.ProcessArchitecture}, {Environment.ProcessorCount} logical cores, kernel {kernel ?? RnnKernels.Default}; experiments took {elapsed.TotalSeconds:0} s. Every experiment is seeded; wall-clock times vary with the machine and its load.\n\n"));
        if (!full)
        {
            md.Append(QuickModeNote).Append("\n\n");
        }
        md.Append("Contents: ").AppendJoin(", ", reports.Select(r => $"[{r.Name}](#{Anchor(r.Markdown)})")).Append(".\n\n");
        if (kernelRows.Count > 0)
        {
            md.Append("## Engine core checks\n\n");
            md.Append("Each model checked against the double-precision reference over 50 steps, then timed (median of 9 batches).\n\n");
            md.Append(ReportFiles.Table(["model", "shape", "kernel", "max abs err", "check", "step ns", "run ns/step"], kernelRows)).Append('\n');
        }
        foreach (ExperimentReport report in reports)
        {
            md.Append(report.Markdown);
        }
        return md.ToString();
    }

    /// <summary>GitHub's anchor of a section's first heading.</summary>
    private static string Anchor(string markdown)
    {
        string heading = markdown.Split('\n')[0].TrimStart('#', ' ').ToLowerInvariant();
        var anchor = new StringBuilder();
        foreach (char c in heading)
        {
            if (char.IsLetterOrDigit(c) || c == '-' || c == '_')
            {
                anchor.Append(c);
            }
            else if (c == ' ')
            {
                anchor.Append('-');
            }
        }
        return anchor.ToString();
    }
}
