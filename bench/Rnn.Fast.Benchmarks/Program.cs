using BenchmarkDotNet.Running;
using Rnn.Fast.Benchmarks;

// Everything after `--` goes to BenchmarkDotNet (--filter, --job, --artifacts, ...), except --quick,
// which selects BenchmarkConfig.QuickJob, and --latency, which runs the tail-latency harness instead
// (not BenchmarkDotNet; `--out FILE` also writes its markdown). Examples:
//   dotnet run -c Release --project bench/Rnn.Fast.Benchmarks -- --filter '*Streaming*' --quick
// `--profile-training [kernel]` instead prints a Stopwatch breakdown of a training step, and
// `--profile-training-rows [kernel] [cell] [H]` the per-row cost against T·B (TrainingProfile).
int rowSweep = Array.IndexOf(args, "--profile-training-rows");
if (rowSweep >= 0)
{
    string? Arg(int i) => rowSweep + i < args.Length ? args[rowSweep + i] : null;
    TrainingProfile.RowSweep(Arg(1), Enum.Parse<Rnn.Fast.CellType>(Arg(2) ?? "Lstm"), int.Parse(Arg(3) ?? "128", System.Globalization.CultureInfo.InvariantCulture));
    return 0;
}
int profile = Array.IndexOf(args, "--profile-training");
if (profile >= 0)
{
    TrainingProfile.Run(profile + 1 < args.Length ? args[profile + 1] : null);
    return 0;
}
// `--throughput [--quick]` runs the throughput harness of issue 11 (FMA peak, batched LSTM against ONNX Runtime,
// training steps) instead of BenchmarkDotNet.
if (args.Contains("--throughput", StringComparer.Ordinal))
{
    return ThroughputHarness.Run(args);
}
//   dotnet run -c Release --project bench/Rnn.Fast.Benchmarks -- --latency --out latency.md
if (args.Contains("--latency", StringComparer.Ordinal))
{
    return LatencyHarness.Run(args);
}
bool quick = args.Contains("--quick", StringComparer.Ordinal);
// `--precision` selects the reduced-precision suites of issue 15 (PrecisionStepBenchmarks, PrecisionSequenceBenchmarks),
// the same as `--filter '*Precision*'`; add `--job dry` for a one-iteration check that every case runs:
//   dotnet run -c Release --project bench/Rnn.Fast.Benchmarks -- --precision --job dry
bool precision = args.Contains("--precision", StringComparer.Ordinal);
string[] rest = [.. args.Where(a => a is not ("--quick" or "--precision"))];
if (precision)
{
    rest = rest.Contains("--filter", StringComparer.Ordinal) || rest.Contains("-f", StringComparer.Ordinal)
        ? throw new ArgumentException("--precision is a filter: give it or --filter, not both.")
        : [.. rest, "--filter", "*Precision*"];
}
BenchmarkSwitcher.FromAssembly(typeof(BenchmarkConfig).Assembly).Run(rest, BenchmarkConfig.Create(quick));
return 0;
