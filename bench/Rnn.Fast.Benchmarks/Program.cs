using BenchmarkDotNet.Running;
using Rnn.Fast.Benchmarks;

// Everything after `--` goes to BenchmarkDotNet (--filter, --job, --artifacts, ...), except --quick,
// which selects BenchmarkConfig.QuickJob, and --latency, which runs the tail-latency harness instead
// (not BenchmarkDotNet; `--out FILE` also writes its markdown). Examples:
//   dotnet run -c Release --project bench/Rnn.Fast.Benchmarks -- --filter '*Streaming*' --quick
//   dotnet run -c Release --project bench/Rnn.Fast.Benchmarks -- --latency --out latency.md
if (args.Contains("--latency", StringComparer.Ordinal))
{
    return LatencyHarness.Run(args);
}
bool quick = args.Contains("--quick", StringComparer.Ordinal);
string[] rest = [.. args.Where(a => !string.Equals(a, "--quick", StringComparison.Ordinal))];
BenchmarkSwitcher.FromAssembly(typeof(BenchmarkConfig).Assembly).Run(rest, BenchmarkConfig.Create(quick));
return 0;
