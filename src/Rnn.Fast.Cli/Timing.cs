using System.Diagnostics;

namespace Rnn.Fast.Cli;

/// <summary>
/// Wall-clock timing of a hot loop: warm up until steady, then the median of several timed batches.
/// Used by <c>rnnfast bench</c>, the kernel demo and bench/Rnn.Fast.Compare (compiled into it).
/// </summary>
internal static class Timing
{
    // Tiered JIT starts every method unoptimized and promotes it only after it has been called often,
    // after a ~100 ms call-counting delay that restarts whenever new methods are jitted, and on a
    // background thread. So warm-up is measured in time, and lasts until batch times stop improving.
    private static readonly TimeSpan s_minWarmup = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan s_maxWarmup = TimeSpan.FromMilliseconds(1500);

    // Consecutive batches within this fraction of each other count as steady.
    private const double SteadyTolerance = 0.05;
    private const int SteadyBatchesNeeded = 3;

    // Long enough that Stopwatch resolution and one-off interrupts are small against the batch.
    private static readonly TimeSpan s_batchTarget = TimeSpan.FromMilliseconds(20);

    // Odd, so the median is one measured batch; the median ignores a batch hit by another process.
    private const int Batches = 9;

    /// <summary>Nanoseconds per operation, the median over timed batches after a warm-up.</summary>
    /// <param name="run">Performs its argument's number of iterations; the loop lives inside so the delegate call is paid once per batch.</param>
    /// <param name="operationsPerIteration">Operations (e.g. time steps) one iteration performs.</param>
    public static double MedianNanoseconds(Action<int> run, int operationsPerIteration)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentOutOfRangeException.ThrowIfLessThan(operationsPerIteration, 1);

        int iterations = WarmUp(run);
        Span<double> perOperation = stackalloc double[Batches];
        for (int b = 0; b < Batches; b++)
        {
            perOperation[b] = TimeBatch(run, iterations) / ((double)iterations * operationsPerIteration);
        }
        perOperation.Sort();
        return perOperation[Batches / 2];
    }

    /// <summary>Runs until batches are steady (or the warm-up time is up); returns the calibrated iterations per batch.</summary>
    private static int WarmUp(Action<int> run)
    {
        // Double the iterations until one batch takes the target time, then keep running batches of
        // that size until several in a row agree: the code is then as optimized as it will get.
        int iterations = 1;
        int steady = 0;
        double previous = double.NaN;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < s_maxWarmup)
        {
            double nanoseconds = TimeBatch(run, iterations);
            if (nanoseconds < s_batchTarget.TotalNanoseconds)
            {
                iterations = iterations < int.MaxValue / 2 ? iterations * 2 : iterations;
                steady = 0;
                previous = double.NaN;
                continue;
            }
            double perIteration = nanoseconds / iterations;
            steady = Math.Abs(perIteration - previous) <= SteadyTolerance * previous ? steady + 1 : 0;
            previous = perIteration;
            if (steady >= SteadyBatchesNeeded && clock.Elapsed >= s_minWarmup)
            {
                break;
            }
        }
        return iterations;
    }

    /// <summary>The 1-minute load average (Linux), or "n/a": a busy machine inflates every timing, so reports print it.</summary>
    public static string LoadAverage()
    {
        try
        {
            return File.ReadAllText("/proc/loadavg").Split(' ')[0];
        }
        catch (IOException)
        {
            return "n/a";
        }
        catch (UnauthorizedAccessException)
        {
            return "n/a";
        }
    }

    private static double TimeBatch(Action<int> run, int iterations)
    {
        long start = Stopwatch.GetTimestamp();
        run(iterations);
        return (Stopwatch.GetTimestamp() - start) * (1e9 / Stopwatch.Frequency);
    }
}
