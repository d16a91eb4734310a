using BenchmarkDotNet.Running;
using Rnn.Fast.Benchmarks;

// Everything after `--` goes to BenchmarkDotNet (--filter, --job, --artifacts, ...), except --quick,
// which selects BenchmarkConfig.QuickJob. Example:
//   dotnet run -c Release --project bench/Rnn.Fast.Benchmarks -- --filter '*Streaming*' --quick
bool quick = args.Contains("--quick", StringComparer.Ordinal);
string[] rest = [.. args.Where(a => !string.Equals(a, "--quick", StringComparison.Ordinal))];
BenchmarkSwitcher.FromAssembly(typeof(BenchmarkConfig).Assembly).Run(rest, BenchmarkConfig.Create(quick));
