using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Exporters;
using BenchmarkDotNet.Exporters.Csv;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Perfolizer.Horology;

namespace Rnn.Fast.Benchmarks;

/// <summary>
/// The suite's configuration: GitHub markdown and CSV reports (both keep BenchmarkDotNet's environment
/// header: CPU, runtime, JIT ISA), allocations, median and minimum, a GFLOP/s column (from the mean), and
/// every time in ns so rows compare at a glance.
/// </summary>
internal static class BenchmarkConfig
{
    /// <summary>
    /// A short job for a first look or a busy machine: 3 warm-up and 5 measured iterations of 250 ms in
    /// one process. Enough to see ratios and the floor; not for small differences. In-process (no
    /// per-case build and process start), which keeps a run of the whole comparison within minutes.
    /// </summary>
    public static Job QuickJob { get; } = Job.Default
        .WithLaunchCount(1)
        .WithWarmupCount(3)
        .WithIterationCount(5)
        .WithIterationTime(TimeInterval.FromMilliseconds(250))
        .WithToolchain(InProcessEmitToolchain.Instance)
        .WithId("Quick");

    public static IConfig Create(bool quick)
    {
        ManualConfig config = ManualConfig.CreateMinimumViable()
            .AddExporter(MarkdownExporter.GitHub, CsvExporter.Default)
            .AddDiagnoser(MemoryDiagnoser.Default)
            // Median and Min beside the mean: on a shared or busy machine the mean is pulled up by
            // preemption, and the minimum is the best estimate of what the code itself costs.
            .AddColumn(StatisticColumn.Median, StatisticColumn.Min, new GflopsColumn())
            .AddAnalyser([.. DefaultConfig.Instance.GetAnalysers()])
            .AddValidator([.. DefaultConfig.Instance.GetValidators()])
            .WithSummaryStyle(SummaryStyle.Default.WithTimeUnit(TimeUnit.Nanosecond))
            // The generated project is built once per run; on a busy 2-core machine that can take longer
            // than BenchmarkDotNet's 2-minute default, which fails the whole run.
            .WithBuildTimeout(TimeSpan.FromMinutes(10));
        // Without --quick the default job runs, or whatever --job on the command line asks for.
        return quick ? config.AddJob(QuickJob) : config;
    }
}
