using System.Diagnostics;
using System.Globalization;
using System.Text;

using Rnn.Fast.Baselines;

namespace Rnn.Fast.Benchmarks;

/// <summary>
/// Tail latency of the streaming case, outside BenchmarkDotNet (which reports means of batches): 10 s of
/// 48 kHz audio, i.e. 480,000 <c>Step</c> calls of the audio-shape LSTM (I = 1, 1-output head), each timed
/// alone with <see cref="Stopwatch.GetTimestamp"/>; median, p99, p99.9 and max per step, and the GC
/// collection counts and allocated bytes before and after (all must stay 0). Also a silence trace: the
/// per-step time while a bias-free model's state decays through the subnormal range after the signal stops.
/// </summary>
internal static class LatencyHarness
{
    private const int SampleRate = 48_000;
    private const int Seconds = 10;
    private const int Calls = SampleRate * Seconds;
    private const int WarmupCalls = 100_000;

    public static int Run(string[] args)
    {
        int outIndex = Array.IndexOf(args, "--out");
        string? outPath = outIndex >= 0 && outIndex + 1 < args.Length ? args[outIndex + 1] : null;
        var report = new StringBuilder();
        double load = LoadAverage();
        report.AppendLine(CultureInfo.InvariantCulture, $"Machine: {Environment.ProcessorCount} cores, load average (1 min) at start {load:0.00}; {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        report.AppendLine();
        report.AppendLine($"### Tail latency: {Calls:N0} Step calls (10 s of 48 kHz audio), audio-shape LSTM (I = 1, O = 1)");
        report.AppendLine();
        report.AppendLine("| implementation | H | median (ns) | p99 (ns) | p99.9 (ns) | max (ns) | calls over 20.8 µs (48 kHz budget) | GC gen0/1/2 during | bytes allocated during |");
        report.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |");
        foreach (int hidden in (int[])[16, 32])
        {
            RnnModel model = RnnModel.CreateLstm(inputSize: 1, hiddenSize: hidden, outputSize: 1);
            foreach (string implementation in (string[])[.. Implementations.RnnFast, Implementations.OnnxRuntime, Implementations.TensorPrimitives])
            {
                report.AppendLine(Measure(model, implementation, hidden));
                Console.Write(report.ToString().Split('\n')[^2] + "\n");
            }
        }
        report.AppendLine();
        report.Append(SilenceTrace());
        Console.WriteLine(report);
        if (outPath is not null)
        {
            File.WriteAllText(outPath, report.ToString());
        }
        return 0;
    }

    private static string Measure(RnnModel model, string implementation, int hidden)
    {
        (StepFunction step, _, IDisposable? owned) = StreamingSetup.Create(model, implementation);
        float[] input = AgreementCheck.RandomInputs(4096, seed: 9);
        var y = new float[1];
        var ticks = new long[Calls];
        for (int t = 0; t < WarmupCalls; t++)
        {
            step(input.AsSpan(t & 4095, 1), y);
        }
        int g0 = GC.CollectionCount(0), g1 = GC.CollectionCount(1), g2 = GC.CollectionCount(2);
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        for (int t = 0; t < Calls; t++)
        {
            long start = Stopwatch.GetTimestamp();
            step(input.AsSpan(t & 4095, 1), y);
            ticks[t] = Stopwatch.GetTimestamp() - start;
        }
        allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
        string gc = $"{GC.CollectionCount(0) - g0}/{GC.CollectionCount(1) - g1}/{GC.CollectionCount(2) - g2}";
        owned?.Dispose();
        double toNs = 1e9 / Stopwatch.Frequency;
        long budget = (long)(Stopwatch.Frequency / (double)SampleRate);
        int over = ticks.Count(t => t > budget);
        Array.Sort(ticks);
        string Q(double q) => (ticks[Math.Min(Calls - 1, (int)(q * Calls))] * toNs).ToString("N0", CultureInfo.InvariantCulture);
        return $"| {implementation} | {hidden} | {Q(0.5)} | {Q(0.99)} | {Q(0.999)} | {(ticks[^1] * toNs).ToString("N0", CultureInfo.InvariantCulture)} | {over} | {gc} | {allocated} |";
    }

    // Signal, then zero input: the bias-free state shrinks geometrically, passes through the subnormal
    // range (below 1.18e-38) and reaches exact zero. Time per step grouped by the size of the largest |h|
    // and |c| at the start of the step, per kernel.
    private static string SilenceTrace()
    {
        var text = new StringBuilder();
        text.AppendLine("### Silence: per-step time by state magnitude (bias-free audio-shape LSTM, zero input after 10,000 signal steps, 100,000 zero steps)");
        text.AppendLine();
        text.AppendLine("| kernel | H | phase | steps | median (ns) | p99 (ns) | first zero step |");
        text.AppendLine("| --- | ---: | --- | ---: | ---: | ---: | ---: |");
        foreach (int hidden in (int[])[16, 32])
        {
            foreach (string kernel in RnnKernels.Available)
            {
                RnnModel model = SilenceBenchmarks.BiasFreeAudioLstm(hidden, kernel);
                RnnState state = model.CreateState();
                float[] signal = AgreementCheck.RandomInputs(10_000, seed: 10);
                var y = new float[1];
                var groups = new Dictionary<string, List<long>> { ["signal"] = [], ["silence, state normal"] = [], ["silence, state subnormal"] = [], ["silence, state zero"] = [] };
                int firstZero = -1;
                for (int warm = 0; warm < 3; warm++)
                {
                    state.Reset();
                    foreach (List<long> g in groups.Values)
                    {
                        g.Clear();
                    }
                    float[] zero = [0f];
                    for (int t = 0; t < 110_000; t++)
                    {
                        bool silent = t >= signal.Length;
                        string group = "signal";
                        if (silent)
                        {
                            float max = MaxAbs(state.Hidden(0), state.Cell(0));
                            group = max == 0 ? "silence, state zero" : max < 1.17549435e-38f ? "silence, state subnormal" : "silence, state normal";
                            if (max == 0 && firstZero < 0)
                            {
                                firstZero = t - signal.Length;
                            }
                        }
                        ReadOnlySpan<float> x = silent ? zero : signal.AsSpan(t, 1);
                        long start = Stopwatch.GetTimestamp();
                        model.Step(x, state, y);
                        groups[group].Add(Stopwatch.GetTimestamp() - start);
                    }
                }
                double toNs = 1e9 / Stopwatch.Frequency;
                foreach ((string phase, List<long> ticks) in groups)
                {
                    if (ticks.Count == 0)
                    {
                        text.AppendLine($"| {kernel} | {hidden} | {phase} | 0 | | | |");
                        continue;
                    }
                    ticks.Sort();
                    string median = (ticks[ticks.Count / 2] * toNs).ToString("N0", CultureInfo.InvariantCulture);
                    string p99 = (ticks[(int)(0.99 * (ticks.Count - 1))] * toNs).ToString("N0", CultureInfo.InvariantCulture);
                    text.AppendLine($"| {kernel} | {hidden} | {phase} | {ticks.Count:N0} | {median} | {p99} | {(phase.EndsWith("zero", StringComparison.Ordinal) ? firstZero.ToString(CultureInfo.InvariantCulture) : "")} |");
                }
            }
        }
        return text.ToString();
    }

    private static float MaxAbs(ReadOnlySpan<float> h, ReadOnlySpan<float> c)
    {
        float max = 0;
        foreach (float v in h)
        {
            max = Math.Max(max, Math.Abs(v));
        }
        foreach (float v in c)
        {
            max = Math.Max(max, Math.Abs(v));
        }
        return max;
    }

    private static double LoadAverage()
    {
        try
        {
            return double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return double.NaN;
        }
    }
}
