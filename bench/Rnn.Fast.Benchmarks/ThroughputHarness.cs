using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Rnn.Fast.Baselines;
using Rnn.Fast.Internals;
using Rnn.Fast.Training;

namespace Rnn.Fast.Benchmarks;

/// <summary>
/// The throughput table of issue 11 in one process, so ratios and "% of FMA peak" come from the same run: the FMA
/// peak per register width (independent FMA chains), batched LSTM and GRU sequences against ONNX Runtime, and training
/// steps (forward + BPTT + Adam, MSE on every step) with their train/forward ratio. Not BenchmarkDotNet: a
/// harness on the calling thread's CPU time (<c>CLOCK_THREAD_CPUTIME_ID</c> on Linux, wall time elsewhere), which
/// does not count the time the thread waits while other processes run; it reports the median and the minimum of
/// short repetitions, good enough to guide work on a shared machine; the published tables come from a quiet one.
/// Run with: <c>dotnet run -c Release --project bench/Rnn.Fast.Benchmarks -- --throughput [--quick]</c>.
/// </summary>
internal static class ThroughputHarness
{
    private const int T = 100;

    public static int Run(string[] args)
    {
        bool quick = args.Contains("--quick", StringComparer.Ordinal);
        double budget = quick ? 0.15 : 0.6;   // seconds per measured row
        string kernel = RnnKernels.Default;
        Console.WriteLine($"# Throughput, kernel {kernel}, one thread, T = {T}, I = H; {Environment.ProcessorCount} logical CPUs, load average {File.ReadAllText("/proc/loadavg").Trim()}");
        double peak512 = Vector512.IsHardwareAccelerated && Avx512F.IsSupported ? FmaPeak512() : 0;
        double peak256 = Fma.IsSupported ? FmaPeak256() : 0;
        Console.WriteLine($"FMA peak (GFLOP/s, best of 5): Vector512 {F(peak512)}, Vector256 {F(peak256)}");
        double peak = kernel == "Avx512" ? peak512 : kernel == "Avx2Fma" ? peak256 : Math.Max(peak512, peak256);
        Console.WriteLine();

        if (args.Contains("--products", StringComparer.Ordinal))
        {
            Products(peak, budget);
            return 0;
        }
        if (!args.Contains("--no-batched", StringComparer.Ordinal))
        {
            Console.WriteLine("Batched LSTM sequences, ns per step per stream (median; min in brackets)");
            Console.WriteLine();
            Console.WriteLine("| H | B | Rnn.Fast | ONNX Runtime | ORT / Rnn.Fast | Rnn.Fast % of peak | ORT % of peak |");
            Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|");
            foreach (int h in new[] { 32, 128, 512 })
            {
                foreach (int batch in new[] { 16, 64 })
                {
                    Batched(CellType.Lstm, h, batch, peak, budget);
                }
            }
            Console.WriteLine();
            // ONNX Runtime's GRU node with linear_before_reset = 1 computes PyTorch's GRU (BaselineAgreementTests).
            Console.WriteLine("Batched GRU sequences, ns per step per stream (median; min in brackets)");
            Console.WriteLine();
            Console.WriteLine("| H | B | Rnn.Fast | ONNX Runtime | ORT / Rnn.Fast | Rnn.Fast % of peak | ORT % of peak |");
            Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|");
            foreach (int h in new[] { 32, 128, 512 })
            {
                foreach (int batch in new[] { 16, 64 })
                {
                    Batched(CellType.Gru, h, batch, peak, budget);
                }
            }
            Console.WriteLine();
        }
        if (!args.Contains("--no-training", StringComparer.Ordinal))
        {
            Console.WriteLine("Training step (forward + BPTT + Adam, MSE on every step), ms (median; min in brackets)");
            Console.WriteLine();
            Console.WriteLine("| cell | H | B | Run (forward) | Training step | train / forward | training % of peak |");
            Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
            foreach (int h in new[] { 32, 128, 256 })
            {
                foreach (int batch in new[] { 1, 16, 64 })
                {
                    Training(CellType.Lstm, h, batch, peak, budget);
                }
            }
            Training(CellType.Gru, 128, 16, peak, budget);
            Training(CellType.Elman, 128, 16, peak, budget);
        }
        return 0;
    }

    // Backward's products alone, GFLOP/s: W_hhᵀ·d for the B streams of one step, the weight gradient over T·B rows,
    // and the input projection (W_ih·x) over T·B rows, for an LSTM layer.
    private static void Products(double peak, double budget)
    {
        Console.WriteLine("Products of an LSTM layer, GFLOP/s (median), % of peak");
        Console.WriteLine();
        Console.WriteLine("| H | B | W_hhᵀ·d, one step (B rows) | AccumulateOuter (T·B rows) | MultiplyRows (T·B rows) |");
        Console.WriteLine("|---:|---:|---:|---:|---:|");
        foreach (int h in new[] { 128, 256, 512 })
        {
            foreach (int batch in new[] { 16, 64 })
            {
                TrainableModel trainable = TrainableModel.From(RnnModel.CreateLstm(h, h));
                RnnKernel kernel = trainable.Network.Kernel;
                PackedLayer layer = trainable.Network.Layers[0];
                int hp = layer.PaddedHidden, gw = layer.GateWidth, rows = T * batch;
                float[] d = AgreementCheck.RandomInputs(rows * gw, seed: 5);
                float[] x = AgreementCheck.RandomInputs(rows * hp, seed: 6);
                float[] y = new float[rows * gw];
                float[] dh = new float[batch * hp];
                float[] gradient = new float[layer.Wh.Values.Length];
                (double step, _) = Time(() => kernel.Products.MultiplyRowsAccumulate(d, batch, gw, layer.WhTransposed, dh), budget / 4);
                (double outer, _) = Time(() => kernel.Products.AccumulateOuter(d, x, rows, hp, layer.Wh, gradient), budget);
                (double project, _) = Time(() => kernel.Products.MultiplyRows(x, rows, hp, layer.Wx, layer.Bias, y), budget);
                double one = 2.0 * 4 * h * h;   // flops of one row
                string Cell(double seconds, int count) => $"{F(one * count / seconds / 1e9)} ({Percent(one * count / seconds / 1e9, peak)}%)";
                Console.WriteLine($"| {h} | {batch} | {Cell(step, batch)} | {Cell(outer, rows)} | {Cell(project, rows)} |");
            }
        }
    }

    private static void Batched(CellType cell, int h, int batch, double peak, double budget)
    {
        RnnModel model = cell == CellType.Gru ? RnnModel.CreateGru(h, h) : RnnModel.CreateLstm(h, h);
        float[] inputs = AgreementCheck.RandomInputs(T * batch * h, seed: 2);
        var outputs = new float[T * batch * h];
        RnnState state = model.CreateState(batch);
        (double mine, double mineMin) = Time(() => model.Run(inputs, T, state, outputs), budget);
        using var onnx = new OnnxRnnRunner(model.Layers[0], steps: T, batch: batch);
        (double ort, double ortMin) = Time(() => onnx.Run(inputs, outputs), budget);
        double perStep = 1e9 / (T * batch);
        double flops = 2.0 * (cell == CellType.Gru ? 3 : 4) * h * (h + h);   // one step of one stream
        double mineNs = mine * perStep, ortNs = ort * perStep;
        Console.WriteLine($"| {h} | {batch} | {F(mineNs)} ({F(mineMin * perStep)}) | {F(ortNs)} ({F(ortMin * perStep)}) | {ort / mine:0.00} | {Percent(flops / mineNs, peak)} | {Percent(flops / ortNs, peak)} |");
    }

    private static void Training(CellType cell, int h, int batch, double peak, double budget)
    {
        RnnModel model = cell switch
        {
            CellType.Lstm => RnnModel.CreateLstm(h, h),
            CellType.Gru => RnnModel.CreateGru(h, h),
            _ => RnnModel.CreateElman(h, h, Activation.Tanh),
        };
        int rows = T * batch;
        float[] inputs = AgreementCheck.RandomInputs(rows * h, seed: 3);
        float[] targets = [.. AgreementCheck.RandomInputs(rows * h, seed: 4).Select(v => v / 2)];
        var outputs = new float[rows * h];
        RnnState state = model.CreateState(batch);
        TrainableModel trainable = TrainableModel.From(model);
        var trainer = new Trainer(trainable, new Adam(trainable, learningRate: 1e-5f), LossFunction.MeanSquaredError, T, batch);
        (double forward, double forwardMin) = Time(() => { state.Reset(); model.Run(inputs, T, state, outputs); }, budget);
        (double train, double trainMin) = Time(() => trainer.Step(inputs, T, targets), budget);
        int gates = cell switch { CellType.Lstm => 4, CellType.Gru => 3, _ => 1 };
        // Forward 2·G·H·(I+H) per row; backward twice that (dL/dx, dL/dh and the two weight gradients).
        double flops = 3 * 2.0 * gates * h * (h + h) * rows;
        Console.WriteLine($"| {cell} | {h} | {batch} | {F(forward * 1e3)} ({F(forwardMin * 1e3)}) | {F(train * 1e3)} ({F(trainMin * 1e3)}) | {train / forward:0.00} | {Percent(flops / train / 1e9, peak)} |");
    }

    // Median and minimum seconds per call over repetitions filling the budget (at least 5).
    private static (double Median, double Min) Time(Action action, double budget)
    {
        // Warm-up: enough calls and time for tiered compilation to reach its optimised code (30 calls, then a
        // 100 ms delay before the background compile), at most two seconds.
        double warm = Now();
        for (int i = 0; (i < 60 || Now() - warm < 0.3) && Now() - warm < 2; i++)
        {
            action();
        }
        double begin = Now();
        action();
        double once = Math.Max(Now() - begin, 1e-6);
        int reps = (int)Math.Clamp(budget / once, 5, 2000);
        var times = new double[reps];
        for (int i = 0; i < reps; i++)
        {
            double start = Now();
            action();
            times[i] = Now() - start;
        }
        Array.Sort(times);
        return (times[reps / 2], times[0]);
    }

    private static string F(double value) => value.ToString(value < 10 ? "0.00" : value < 100 ? "0.0" : "0", CultureInfo.InvariantCulture);

    private static string Percent(double gflops, double peak) => peak > 0 ? (100 * gflops / peak).ToString("0", CultureInfo.InvariantCulture) : "–";

    // Twelve independent FMA chains: enough to cover a 4-cycle latency on two pipes. The best of five runs of
    // about 50 ms each.
    internal static double FmaPeak512()
    {
        const int iterations = 2_000_000;
        double best = 0;
        for (int run = 0; run < 5; run++)
        {
            double start = Now();
            float sink = Chains512(iterations);
            double seconds = Now() - start;
            best = Math.Max(best, 12.0 * 2 * 16 * iterations / seconds / 1e9 + (sink == 12345f ? 1 : 0));
        }
        return best;
    }

    internal static double FmaPeak256()
    {
        const int iterations = 2_000_000;
        double best = 0;
        for (int run = 0; run < 5; run++)
        {
            double start = Now();
            float sink = Chains256(iterations);
            double seconds = Now() - start;
            best = Math.Max(best, 12.0 * 2 * 8 * iterations / seconds / 1e9 + (sink == 12345f ? 1 : 0));
        }
        return best;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float Chains512(int iterations)
    {
        Vector512<float> m = Vector512.Create(0.999999f), c = Vector512.Create(1e-7f);
        Vector512<float> a0 = Vector512.Create(1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0;
        Vector512<float> a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        for (int i = 0; i < iterations; i++)
        {
            a0 = Avx512F.FusedMultiplyAdd(a0, m, c); a1 = Avx512F.FusedMultiplyAdd(a1, m, c);
            a2 = Avx512F.FusedMultiplyAdd(a2, m, c); a3 = Avx512F.FusedMultiplyAdd(a3, m, c);
            a4 = Avx512F.FusedMultiplyAdd(a4, m, c); a5 = Avx512F.FusedMultiplyAdd(a5, m, c);
            a6 = Avx512F.FusedMultiplyAdd(a6, m, c); a7 = Avx512F.FusedMultiplyAdd(a7, m, c);
            a8 = Avx512F.FusedMultiplyAdd(a8, m, c); a9 = Avx512F.FusedMultiplyAdd(a9, m, c);
            a10 = Avx512F.FusedMultiplyAdd(a10, m, c); a11 = Avx512F.FusedMultiplyAdd(a11, m, c);
        }
        return Vector512.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float Chains256(int iterations)
    {
        Vector256<float> m = Vector256.Create(0.999999f), c = Vector256.Create(1e-7f);
        Vector256<float> a0 = Vector256.Create(1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0;
        Vector256<float> a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        for (int i = 0; i < iterations; i++)
        {
            a0 = Fma.MultiplyAdd(a0, m, c); a1 = Fma.MultiplyAdd(a1, m, c);
            a2 = Fma.MultiplyAdd(a2, m, c); a3 = Fma.MultiplyAdd(a3, m, c);
            a4 = Fma.MultiplyAdd(a4, m, c); a5 = Fma.MultiplyAdd(a5, m, c);
            a6 = Fma.MultiplyAdd(a6, m, c); a7 = Fma.MultiplyAdd(a7, m, c);
            a8 = Fma.MultiplyAdd(a8, m, c); a9 = Fma.MultiplyAdd(a9, m, c);
            a10 = Fma.MultiplyAdd(a10, m, c); a11 = Fma.MultiplyAdd(a11, m, c);
        }
        return Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }

    // Seconds of CPU time of this thread (Linux), else wall time.
    private static double Now()
    {
        if (OperatingSystem.IsLinux() && ClockGetTime(ThreadCpuTimeClock, out TimeSpec time) == 0)
        {
            return time.Seconds + time.Nanoseconds * 1e-9;
        }
        return Stopwatch.GetTimestamp() / (double)Stopwatch.Frequency;
    }

    private const int ThreadCpuTimeClock = 3; // CLOCK_THREAD_CPUTIME_ID

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

#pragma warning disable SYSLIB1054 // LibraryImport needs unsafe code, which this project does not allow
    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out TimeSpec time);
#pragma warning restore SYSLIB1054
}
