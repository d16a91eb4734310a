using System.Diagnostics;
using System.Globalization;
using Rnn.Fast.Internals;
using Rnn.Fast.Training;

namespace Rnn.Fast.Benchmarks;

/// <summary>
/// A rough Stopwatch breakdown of one training step, phase by phase, for the shapes of
/// <see cref="TrainingBenchmarks"/>: where does a step spend its time compared with inference?
/// </summary>
/// <remarks>
/// Phases as <see cref="Trainer.Step"/> runs them: ZeroGradients, Forward (with cache), MSE, Backward,
/// GlobalNorm, Adam (element-wise update plus ParametersChanged, which rebuilds the bias sum and the two
/// transposed packings backward multiplies by). Backward is split further by timing its blocked kernels
/// alone on the workspace's buffers after a backward pass: the weight-gradient products (AccumulateOuter
/// for W_ih and W_hh), dL/dx (MultiplyRowsAccumulate on W_ihᵀ) and the bias sums; what remains is the sequential
/// loop over time (per step: the cell's element-wise backward and W_hhᵀ·d). Each phase reports the
/// minimum over repetitions of its time per call, the best estimate on a shared machine.
/// Run with: <c>dotnet run -c Release --project bench/Rnn.Fast.Benchmarks -- --profile-training [kernel]</c>.
/// </remarks>
internal static class TrainingProfile
{
    private const int T = TrainingBenchmarks.T;

    public static void Run(string? kernel)
    {
        kernel ??= RnnKernels.Default;
        Console.WriteLine($"# Training step breakdown, kernel {kernel}, T = {T}, I = H, min over repetitions, µs per call");
        Console.WriteLine($"# load average: {File.ReadAllText("/proc/loadavg").Trim()}");
        Console.WriteLine("| cell | H | B | Run | ZeroGrad | Forward | MSE | Backward | of which: recurrent loop | dW products | dx | bias sums | GlobalNorm | Adam | of which: refresh | TrainStep (sum) | sum / Run |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (CellType cell in new[] { CellType.Lstm, CellType.Elman })
        {
            foreach (int h in new[] { 32, 128, 256 })
            {
                foreach (int batch in new[] { 1, 16 })
                {
                    Profile(kernel, cell, h, batch);
                }
            }
        }
    }

    private static void Profile(string kernelName, CellType cell, int h, int batch)
    {
        RnnModel model = cell == CellType.Lstm
            ? RnnModel.CreateLstm(h, h, kernel: kernelName)
            : RnnModel.CreateElman(h, h, Activation.Tanh, kernel: kernelName);
        int rows = T * batch;
        float[] inputs = AgreementCheck.RandomInputs(rows * h, seed: 3);
        float[] targets = [.. AgreementCheck.RandomInputs(rows * h, seed: 4).Select(v => v / 2)];
        float[] outputs = new float[rows * h];
        float[] dy = new float[rows * h];
        RnnState state = model.CreateState(batch);
        TrainableModel trainable = TrainableModel.From(model);
        TrainingWorkspace ws = trainable.CreateWorkspace(T, batch);
        var adam = new Adam(trainable, learningRate: 1e-5f);
        RnnKernel kernel = trainable.Network.Kernel;
        PackedLayer layer = trainable.Network.Layers[0];
        int hp = layer.PaddedHidden, gw = layer.GateWidth;

        // About 3 GFLOP of training work per shape (0.2-2 s), at least 10 repetitions: the minimum needs
        // a few unpreempted ones on a busy machine.
        double flops = 2.0 * StepShapeAttribute.GatesOf(cell) * h * 2 * h * rows * 3;
        int reps = (int)Math.Clamp(3e9 / flops, 10, 400);

        var best = new double[12];
        Array.Fill(best, double.MaxValue);
        long ticks = 0;
        void Lap(int phase)
        {
            long now = Stopwatch.GetTimestamp();
            best[phase] = Math.Min(best[phase], (now - ticks) * 1e6 / Stopwatch.Frequency);
            ticks = Stopwatch.GetTimestamp();
        }

        for (int rep = 0; rep < reps + 2; rep++) // the first two are warm-up
        {
            if (rep == 2)
            {
                Array.Fill(best, double.MaxValue);
            }
            ticks = Stopwatch.GetTimestamp();
            state.Reset();
            model.Run(inputs, T, state, outputs);
            Lap(0);
            trainable.ZeroGradients();
            Lap(1);
            ReadOnlySpan<float> y = trainable.Forward(inputs, T, ws);
            Lap(2);
            Loss.MeanSquaredError(y, targets, default, h, dy);
            Lap(3);
            trainable.Backward(dy, ws);
            Lap(4);
            // Backward's blocked kernels alone, on the buffers that backward just filled.
            Span<float> dPre = ws.Scratch.PreGradient.AsSpan(0, rows * gw);
            kernel.Products.AccumulateOuter(dPre, ws.Scratch.Inputs.AsSpan(0, rows * h), rows, h, layer.Wx, layer.Gradients!.Wx);
            kernel.Products.AccumulateOuter(dPre[(batch * gw)..], ws.Cache.Layers[0].Hidden, rows - batch, hp, layer.Wh, layer.Gradients.Wh);
            Lap(5);
            kernel.Products.MultiplyRowsAccumulate(dPre, rows, gw, layer.WxTransposed, ws.Scratch.Second.AsSpan(0, rows * layer.PaddedInput));
            Lap(6);
            kernel.Elementwise.AccumulateRowSum(dPre, rows, layer.Gradients.BiasIh);
            kernel.Elementwise.AccumulateRowSum(dPre, rows, layer.Gradients.BiasHh);
            Lap(7);
            GradientClipping.GlobalNorm(trainable.Parameters);
            Lap(8);
            adam.Step();
            Lap(9);
            trainable.ParametersChanged();
            Lap(10);
        }

        double run = best[0], backward = best[4], products = best[5], dx = best[6], biases = best[7];
        double sum = best[1] + best[2] + best[3] + backward + best[8] + best[9];
        string F(double us) => us.ToString(us < 100 ? "0.0" : "0", CultureInfo.InvariantCulture);
        Console.WriteLine(string.Join(" | ", [
            $"| {cell}", h.ToString(CultureInfo.InvariantCulture), batch.ToString(CultureInfo.InvariantCulture),
            F(run), F(best[1]), F(best[2]), F(best[3]), F(backward),
            F(backward - products - dx - biases), F(products), F(dx), F(biases),
            F(best[8]), F(best[9]), F(best[10]), F(sum), (sum / run).ToString("0.00", CultureInfo.InvariantCulture) + " |"]));
    }

    /// <summary>
    /// How the per-row cost of Run, the training forward pass and backward's weight-gradient products
    /// (AccumulateOuter) changes with the number of rows T·B at batch 16: the training forward pass and
    /// AccumulateOuter work on all T·B rows at once, Run in chunks of 64–256 rows (the state's scratch).
    /// Run with: <c>-- --profile-training-rows [kernel] [cell] [H]</c>.
    /// </summary>
    public static void RowSweep(string? kernelName, CellType cell, int h)
    {
        kernelName ??= RnnKernels.Default;
        const int batch = 16;
        Console.WriteLine($"# Row sweep, kernel {kernelName}, {cell} H = {h}, batch {batch}, min over repetitions, ns per sequence-step (row)");
        Console.WriteLine($"# load average: {File.ReadAllText("/proc/loadavg").Trim()}");
        Console.WriteLine("| T | rows | [rows, G·H] floats (KiB) | Run | training Forward | Forward / Run | dW products (AccumulateOuter ×2) | dW GFLOP/s |");
        Console.WriteLine("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        RnnModel model = cell == CellType.Lstm
            ? RnnModel.CreateLstm(h, h, kernel: kernelName)
            : RnnModel.CreateElman(h, h, Activation.Tanh, kernel: kernelName);
        TrainableModel trainable = TrainableModel.From(model);
        RnnKernel kernel = trainable.Network.Kernel;
        PackedLayer layer = trainable.Network.Layers[0];
        int gw = layer.GateWidth, hp = layer.PaddedHidden;
        foreach (int steps in new[] { 2, 4, 8, 16, 32, 64, 100 })
        {
            int rows = steps * batch;
            float[] inputs = AgreementCheck.RandomInputs(rows * h, seed: 3);
            float[] outputs = new float[rows * h];
            RnnState state = model.CreateState(batch);
            TrainingWorkspace ws = trainable.CreateWorkspace(steps, batch);
            trainable.Forward(inputs, steps, ws);
            // Uniform in ±1. (Random bytes read as floats, as this once did, put a subnormal in about every 256th value,
            // and on x86 every FMA reading one is a microcode assist: the dW column measured 7–9 GFLOP/s.)
            Span<float> dPre = ws.Scratch.PreGradient.AsSpan(0, rows * gw);
            AgreementCheck.RandomInputs(rows * gw, seed: 5).CopyTo(dPre);
            double flops = 2.0 * StepShapeAttribute.GatesOf(cell) * h * 2 * h * rows;
            int reps = (int)Math.Clamp(1e9 / flops, 10, 2000);
            double run = double.MaxValue, forward = double.MaxValue, products = double.MaxValue;
            for (int rep = 0; rep < reps + 2; rep++)
            {
                long t0 = Stopwatch.GetTimestamp();
                state.Reset();
                model.Run(inputs, steps, state, outputs);
                long t1 = Stopwatch.GetTimestamp();
                trainable.Forward(inputs, steps, ws);
                long t2 = Stopwatch.GetTimestamp();
                kernel.Products.AccumulateOuter(dPre, ws.Scratch.Inputs.AsSpan(0, rows * h), rows, h, layer.Wx, layer.Gradients!.Wx);
                kernel.Products.AccumulateOuter(dPre, ws.Cache.Layers[0].Hidden, rows, hp, layer.Wh, layer.Gradients.Wh);
                long t3 = Stopwatch.GetTimestamp();
                if (rep >= 2)
                {
                    run = Math.Min(run, t1 - t0);
                    forward = Math.Min(forward, t2 - t1);
                    products = Math.Min(products, t3 - t2);
                }
            }
            double ns = 1e9 / Stopwatch.Frequency / rows;
            string F(double v) => v.ToString("0", CultureInfo.InvariantCulture);
            Console.WriteLine($"| {steps} | {rows} | {rows * gw * 4 / 1024} | {F(run * ns)} | {F(forward * ns)} | {(forward / run).ToString("0.00", CultureInfo.InvariantCulture)} | {F(products * ns)} | {(flops / (products * ns * rows)).ToString("0.0", CultureInfo.InvariantCulture)} |");
        }
    }
}
