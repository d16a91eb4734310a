using System.Diagnostics;
using Rnn.Fast.Training;

namespace Rnn.Fast.Cli.Experiments;

/// <summary>
/// The long stream of <c>rnnfast demo tbptt</c>: inputs x(t) ~ U[−1, 1], target y(t) = x(t − Lag), an echo
/// that can only be learnt by carrying each input Lag steps. Predicting 0 scores MSE Var(x) = 1/3.
/// </summary>
internal static class EchoStream
{
    public const double BaselineMse = 1.0 / 3.0;

    /// <summary>Inputs <c>[T, B, 1]</c>, targets <c>[T, B, 1]</c> and mask <c>[T, B]</c> (0 for t &lt; lag, where there is nothing to echo).</summary>
    public static (float[] Inputs, float[] Targets, float[] Mask) Generate(int steps, int batch, int lag, Random random)
    {
        var inputs = new float[steps * batch];
        var targets = new float[steps * batch];
        var mask = new float[steps * batch];
        for (int i = 0; i < inputs.Length; i++)
        {
            inputs[i] = (float)(random.NextDouble() * 2 - 1);
        }
        for (int t = lag; t < steps; t++)
        {
            for (int b = 0; b < batch; b++)
            {
                targets[t * batch + b] = inputs[(t - lag) * batch + b];
                mask[t * batch + b] = 1f;
            }
        }
        return (inputs, targets, mask);
    }
}

/// <summary>Settings of the TBPTT comparison.</summary>
internal sealed record TbpttSettings(int StreamLength, int Batch, int Epochs, int Lag, int Hidden, float LearningRate, int EvalLength,
    int EvalsPerEpoch, IReadOnlyList<int> Truncations)
{
    public static TbpttSettings Create(bool full) => full
        ? new(StreamLength: 10_000, Batch: 4, Epochs: 20, Lag: 10, Hidden: 32, LearningRate: 1e-2f, EvalLength: 2000, EvalsPerEpoch: 10, Truncations: [5, 20, 50])
        : new(StreamLength: 10_000, Batch: 4, Epochs: 4, Lag: 10, Hidden: 32, LearningRate: 1e-2f, EvalLength: 1000, EvalsPerEpoch: 10, Truncations: [5, 20, 50]);
}

/// <summary>One method's curve: held-out MSE against stream steps trained and wall-clock seconds.</summary>
/// <param name="Label">"full BPTT" or "TBPTT k=…".</param>
/// <param name="K">Truncation length (the stream length for full BPTT).</param>
/// <param name="StreamSteps">Per evaluation: steps of the stream trained on so far (per stream).</param>
/// <param name="Seconds">Per evaluation: wall-clock training time so far.</param>
/// <param name="Updates">Per evaluation: optimizer updates so far.</param>
/// <param name="EvalMse">Per evaluation: MSE on the held-out stream.</param>
internal sealed record TbpttRun(string Label, int K, IReadOnlyList<double> StreamSteps, IReadOnlyList<double> Seconds,
    IReadOnlyList<int> Updates, IReadOnlyList<double> EvalMse)
{
    public double FinalMse => EvalMse[^1];
}

/// <summary><c>rnnfast demo tbptt</c>: full BPTT over the whole stream against truncated BPTT with k = 5, 20, 50.</summary>
internal static class TbpttExperiment
{
    public const string Name = "tbptt";

    /// <summary>Trains an LSTM on the echo stream with truncation <paramref name="k"/> (null: full BPTT, one update per pass).</summary>
    public static TbpttRun Train(int? k, TbpttSettings settings, int seed, string? kernel = null, IProgressTask? progress = null)
    {
        RnnModel model = ModelFactory.Lstm(1, settings.Hidden, 1, seed, kernel: kernel);
        (TrainableModel trainable, Adam adam) = ModelFactory.Adam(model, settings.LearningRate);
        int n = settings.StreamLength, batch = settings.Batch;
        (float[] inputs, float[] targets, float[] mask) = EchoStream.Generate(n, batch, settings.Lag, new Random(seed * 101 + 1));
        (float[] evalInputs, float[] evalTargets, float[] evalMask) = EchoStream.Generate(settings.EvalLength, 1, settings.Lag, new Random(seed * 101 + 2));
        TrainingWorkspace evalWorkspace = trainable.CreateWorkspace(settings.EvalLength, 1);
        var evalGradient = new float[settings.EvalLength];

        var steps = new List<double>();
        var seconds = new List<double>();
        var updates = new List<int>();
        var mse = new List<double>();
        var clock = Stopwatch.StartNew();
        double trainingSeconds = 0;
        int updateCount = 0;
        Evaluate(0);

        if (k is not { } chunk)
        {
            var trainer = new Trainer(trainable, adam, LossFunction.MeanSquaredError, n, batch) { MaxGradientNorm = 1f };
            for (int epoch = 1; epoch <= settings.Epochs; epoch++)
            {
                clock.Restart();
                trainer.Step(inputs, n, targets, mask);
                trainingSeconds += clock.Elapsed.TotalSeconds;
                updateCount++;
                Evaluate((double)epoch * n);
                progress?.Increment(n);
            }
            return new TbpttRun("full BPTT", n, steps, seconds, updates, mse);
        }

        var tbptt = new TruncatedBpttTrainer(trainable, adam, LossFunction.MeanSquaredError, chunk, chunk, batch) { MaxGradientNorm = 1f };
        int chunks = n / chunk;
        int evalEvery = Math.Max(1, chunks / settings.EvalsPerEpoch);
        for (int epoch = 0; epoch < settings.Epochs; epoch++)
        {
            tbptt.ResetStream();
            clock.Restart();
            for (int c = 0; c < chunks; c++)
            {
                int from = c * chunk * batch;
                tbptt.Step(inputs.AsSpan(from, chunk * batch), targets.AsSpan(from, chunk * batch), mask.AsSpan(from, chunk * batch));
                updateCount++;
                progress?.Increment(chunk);
                if ((c + 1) % evalEvery == 0 || c == chunks - 1)
                {
                    trainingSeconds += clock.Elapsed.TotalSeconds;
                    Evaluate((double)epoch * n + (c + 1) * chunk);
                    clock.Restart();
                }
            }
        }
        return new TbpttRun(ReportFiles.Invariant($"TBPTT k={chunk}"), chunk, steps, seconds, updates, mse);

        // Held-out MSE on a fresh stream from a zero state (timed separately: evaluation is not training).
        void Evaluate(double streamSteps)
        {
            evalWorkspace.ResetInitialState();
            ReadOnlySpan<float> outputs = trainable.Forward(evalInputs, settings.EvalLength, evalWorkspace);
            steps.Add(streamSteps);
            seconds.Add(trainingSeconds);
            updates.Add(updateCount);
            mse.Add(Loss.MeanSquaredError(outputs, evalTargets, evalMask, 1, evalGradient));
        }
    }

    public static ExperimentReport Run(ExperimentContext context)
    {
        TbpttSettings settings = TbpttSettings.Create(context.Full);
        var runs = new List<TbpttRun>();
        foreach (int? k in new int?[] { null }.Concat(settings.Truncations.Select(t => (int?)t)))
        {
            string label = k is { } t ? ReportFiles.Invariant($"tbptt: k={t}") : "tbptt: full BPTT";
            runs.Add(Train(k, settings, context.Seed, context.Kernel, context.Progress.AddTask(label, (double)settings.Epochs * settings.StreamLength)));
        }

        ReportFiles.WriteCsv(context.PathOf("tbptt.csv"), "method,k,stream_steps,train_seconds,updates,eval_mse",
            runs.SelectMany(r => r.EvalMse.Select((v, i) => new object?[] { r.Label, r.K, r.StreamSteps[i], r.Seconds[i], r.Updates[i], v })));
        ReferenceLine[] baseline = [new("baseline: predict 0 (1/3)", EchoStream.BaselineMse)];
        if (context.PathOf("tbptt-steps.png") is { } stepsPath)
        {
            Plotting.Lines(stepsPath, ReportFiles.Invariant($"Echo of lag {settings.Lag}: held-out MSE vs stream steps trained"),
                ReportFiles.Invariant($"stream steps trained (per stream, {settings.Batch} streams)"), "held-out MSE (log scale)",
                runs.Select(r => new Series(r.Label, r.StreamSteps, r.EvalMse)), logY: true, lines: baseline);
        }
        if (context.PathOf("tbptt-time.png") is { } timePath)
        {
            Plotting.Lines(timePath, ReportFiles.Invariant($"Echo of lag {settings.Lag}: held-out MSE vs training time"),
                "wall-clock training time (s)", "held-out MSE (log scale)",
                runs.Select(r => new Series(r.Label, r.Seconds, r.EvalMse)), logY: true, lines: baseline);
        }

        var md = new System.Text.StringBuilder();
        md.Append("## Truncated BPTT on a long stream\n\n");
        md.Append(ReportFiles.Invariant(
            $"A stream of {settings.StreamLength} steps ({settings.Batch} independent streams): x(t) ~ U[−1, 1], target y(t) = x(t − {settings.Lag}), a dependency of exactly {settings.Lag} steps; predicting 0 scores 1/3. LSTM, H = {settings.Hidden}, Adam lr {settings.LearningRate}, norm clipping 1, {settings.Epochs} passes over the stream. Full BPTT backpropagates through all {settings.StreamLength} steps and so makes one update per pass; TBPTT(k) carries the state across chunks of k steps and cuts the gradient at chunk boundaries (k1 = k2 = k), one update per chunk. Evaluated on a held-out stream of {settings.EvalLength} steps. Times are training only, on a shared machine.\n\n"));
        md.Append(ReportFiles.Image("tbptt-steps.png", "MSE vs stream steps")).Append('\n');
        md.Append(ReportFiles.Image("tbptt-time.png", "MSE vs wall-clock")).Append('\n');
        md.Append(ReportFiles.Table(["method", "updates", "training seconds", "final held-out MSE", "% of baseline 1/3"],
            runs.Select(r => (IReadOnlyList<string>)[r.Label, ReportFiles.Invariant($"{r.Updates[^1]}"), ReportFiles.Invariant($"{r.Seconds[^1]:0.00}"),
                ReportFiles.Invariant($"{r.FinalMse:0.0000}"), ReportFiles.Invariant($"{100 * r.FinalMse / EchoStream.BaselineMse:0.0}%")])));
        md.Append(ReportFiles.Invariant(
            $"\nWith k < {settings.Lag} no gradient ever connects y(t) to x(t − {settings.Lag}): the target is independent of everything the truncated gradient can see, so the model cannot learn the echo however long it trains. With k ≥ {settings.Lag}, only the positions at least {settings.Lag} steps into a chunk carry that gradient; longer chunks give more of them per update. Full BPTT sees every dependency but, at one update per pass over the stream, it has barely started after all its passes: each pass runs every step forward and backward once, like TBPTT, but yields one update instead of n/k. Very short chunks cost time too: k = 5 makes the most updates, and each has a fixed cost (zeroing gradients, the optimizer step, refreshing the packed weights). Data: `tbptt.csv`.\n\n"));
        return new ExperimentReport(Name, md.ToString(), [.. runs.Select(r => ReportFiles.Invariant(
            $"{r.Label}: {r.Updates[^1]} updates, {r.Seconds[^1]:0.0} s, final held-out MSE {r.FinalMse:0.0000} (baseline 0.333)"))]);
    }
}
