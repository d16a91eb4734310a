using Rnn.Fast.Training;

namespace Rnn.Fast.Cli.Experiments;

/// <summary>How gradients are clipped before each update.</summary>
internal enum ClipMode
{
    None,
    Value,
    Norm,
}

/// <summary>An Elman (tanh) RNN trained with plain SGD on the adding problem, set up so that it can explode.</summary>
/// <param name="Steps">Sequence length T of the adding problem.</param>
/// <param name="Hidden">H.</param>
/// <param name="SpectralRadius">ρ of weight_hh at initialisation.</param>
/// <param name="LearningRate">SGD learning rate.</param>
/// <param name="TrainSteps">Updates.</param>
/// <param name="Batch">Sequences per update.</param>
/// <param name="ClipValue">Threshold of clipping by value.</param>
/// <param name="ClipNorm">Threshold of clipping by global norm.</param>
internal sealed record ClippingSettings(int Steps, int Hidden, double SpectralRadius, float LearningRate, int TrainSteps, int Batch,
    float ClipValue, float ClipNorm)
{
    /// <summary>The exploding setting of <c>rnnfast demo clipping</c>: short sequences, so that the clipped runs can learn.</summary>
    public static ClippingSettings Exploding(bool full) => new(Steps: 10, Hidden: 32, SpectralRadius: 1.5, LearningRate: 0.1f,
        TrainSteps: full ? 1500 : 400, Batch: 32, ClipValue: 0.05f, ClipNorm: 1f);

    /// <summary>The gradient-norm plot of <c>rnnfast demo gradients</c>: longer sequences, ρ just above 1.</summary>
    public static ClippingSettings GradientDemo(bool full) => new(Steps: 50, Hidden: 32, SpectralRadius: 1.2, LearningRate: 0.1f,
        TrainSteps: full ? 400 : 150, Batch: 32, ClipValue: 0.05f, ClipNorm: 1f);

    public string Describe() => ReportFiles.Invariant(
        $"Elman tanh, H = {Hidden}, weight_hh scaled to ρ = {SpectralRadius}, linear head; adding problem with T = {Steps}, batch {Batch}; plain SGD, learning rate {LearningRate}, {TrainSteps} steps. Clipping by value clamps every gradient to ±{ClipValue}; clipping by global norm rescales the whole gradient to norm ≤ {ClipNorm}. A step whose loss or gradient norm is NaN/∞ is detected by the trainer and skipped (reported as diverged), never thrown.");
}

/// <summary>One run's per-step loss and gradient norm (before clipping).</summary>
internal sealed record ClippingRun(ClipMode Mode, IReadOnlyList<float> Loss, IReadOnlyList<float> Norm, IReadOnlyList<bool> Diverged,
    int ClippedSteps)
{
    public string Label => Mode switch
    {
        ClipMode.Value => "clip by value",
        ClipMode.Norm => "clip by global norm",
        _ => "no clipping",
    };

    /// <summary>The first step (1-based) whose loss or gradient norm was not finite, or null.</summary>
    public int? FirstDivergence => Diverged.Select((d, i) => (d, i)).Where(p => p.d).Select(p => (int?)(p.i + 1)).FirstOrDefault();

    public int DivergedSteps => Diverged.Count(d => d);

    /// <summary>Largest finite gradient norm seen.</summary>
    public double MaxNorm => Norm.Where(float.IsFinite).Select(v => (double)v).DefaultIfEmpty(double.NaN).Max();

    /// <summary>Mean loss of the last tenth of the steps that stayed finite (NaN if none did).</summary>
    public double FinalLoss
    {
        get
        {
            int from = Loss.Count - Math.Max(1, Loss.Count / 10);
            double[] tail = [.. Loss.Skip(from).Where(float.IsFinite).Select(v => (double)v)];
            return tail.Length == 0 ? double.NaN : tail.Average();
        }
    }

    public string SummaryLine() => ReportFiles.Invariant(
        $"{Label}: {(FirstDivergence is { } d ? $"diverged at step {d} ({DivergedSteps} of {Loss.Count} steps non-finite)" : "never diverged")}, max gradient norm {MaxNorm:0.0e+0}, final loss {FinalLoss:0.0000}");
}

/// <summary><c>rnnfast demo clipping</c>: an exploding run without clipping, and the same run clipped by value and by norm.</summary>
internal static class ClippingExperiment
{
    public const string Name = "clipping";

    /// <summary>Trains with the given clipping; divergence is recorded per step, never thrown.</summary>
    public static ClippingRun Train(ClipMode mode, ClippingSettings settings, int seed, string? kernel = null, IProgressTask? progress = null)
    {
        RnnModel model = ModelFactory.Elman(2, settings.Hidden, Activation.Tanh, 1, seed, settings.SpectralRadius, kernel);
        TrainableModel trainable = TrainableModel.From(model);
        var trainer = new Trainer(trainable, new Sgd(trainable, settings.LearningRate), LossFunction.MeanSquaredError, settings.Steps, settings.Batch)
        {
            ClipValue = mode == ClipMode.Value ? settings.ClipValue : null,
            MaxGradientNorm = mode == ClipMode.Norm ? settings.ClipNorm : null,
        };
        var random = new Random(seed * 31 + 5); // the same batches for every mode
        var loss = new List<float>();
        var norm = new List<float>();
        var diverged = new List<bool>();
        int clipped = 0;
        for (int step = 0; step < settings.TrainSteps; step++)
        {
            AddingBatch batch = AddingProblem.Generate(settings.Steps, settings.Batch, random);
            TrainStepResult result = trainer.Step(batch.Inputs, settings.Steps, batch.Targets, batch.Mask);
            loss.Add(result.Loss);
            norm.Add(result.GradientNorm);
            diverged.Add(result.Diverged);
            clipped += result.Clipped ? 1 : 0;
            progress?.Increment();
        }
        return new ClippingRun(mode, loss, norm, diverged, clipped);
    }

    public static string SummaryTable(IEnumerable<ClippingRun> runs) =>
        ReportFiles.Table(["clipping", "first non-finite step", "non-finite steps", "steps clipped", "max finite gradient norm", "final loss (mean of last 10%)"],
            runs.Select(r => (IReadOnlyList<string>)[
                r.Label,
                r.FirstDivergence is { } d ? ReportFiles.Invariant($"{d}") : "none",
                ReportFiles.Invariant($"{r.DivergedSteps} of {r.Loss.Count}"),
                ReportFiles.Invariant($"{r.ClippedSteps}"),
                ReportFiles.Invariant($"{r.MaxNorm:0.00e+0}"),
                double.IsNaN(r.FinalLoss) ? "NaN" : ReportFiles.Invariant($"{r.FinalLoss:0.0000}")]));

    /// <summary>Trailing moving average over <paramref name="window"/> steps (fewer at the start), for noisy per-batch losses.</summary>
    private static IEnumerable<double> Smooth(IReadOnlyList<float> values, int window)
    {
        for (int i = 0; i < values.Count; i++)
        {
            int from = Math.Max(0, i - window + 1);
            double sum = 0;
            for (int j = from; j <= i; j++)
            {
                sum += values[j];
            }
            yield return sum / (i - from + 1);
        }
    }

    public static ExperimentReport Run(ExperimentContext context)
    {
        ClippingSettings settings = ClippingSettings.Exploding(context.Full);
        ClippingRun[] runs = [.. new[] { ClipMode.None, ClipMode.Value, ClipMode.Norm }.Select(mode =>
            Train(mode, settings, context.Seed, context.Kernel, context.Progress.AddTask($"clipping: {mode}", settings.TrainSteps)))];

        ReportFiles.WriteCsv(context.PathOf("clipping.csv"), "clipping,step,loss,grad_norm,diverged",
            runs.SelectMany(r => Enumerable.Range(0, r.Loss.Count).Select(i => new object?[] { r.Label, i + 1, r.Loss[i], r.Norm[i], r.Diverged[i] ? 1 : 0 })));
        ReferenceLine[] divergence = [.. runs.Where(r => r.FirstDivergence is not null)
            .Select(r => new ReferenceLine(ReportFiles.Invariant($"{r.Label}: diverged (step {r.FirstDivergence})"), r.FirstDivergence!.Value, Vertical: true))];
        IEnumerable<double> stepAxis = Enumerable.Range(1, settings.TrainSteps).Select(i => (double)i);
        if (context.PathOf("clipping-loss.png") is { } lossPath)
        {
            Plotting.Lines(lossPath, ReportFiles.Invariant($"Training loss (Elman tanh, ρ = {settings.SpectralRadius}, adding T = {settings.Steps})"), "training step",
                "training MSE (log scale)", runs.Select(r => new Series(r.Label, [.. stepAxis], [.. r.Loss.Select(v => (double)v)])), logY: true,
                lines: [new ReferenceLine("baseline: always 1 (1/6)", AddingProblem.BaselineMse), .. divergence]);
        }
        if (context.PathOf("clipping-norm.png") is { } normPath)
        {
            Plotting.Lines(normPath, ReportFiles.Invariant($"Gradient norm (Elman tanh, ρ = {settings.SpectralRadius}, adding T = {settings.Steps})"), "training step",
                "global gradient norm before clipping (log scale)", runs.Select(r => new Series(r.Label, [.. stepAxis], [.. r.Norm.Select(v => (double)v)])),
                logY: true, lines: [new ReferenceLine(ReportFiles.Invariant($"norm clip threshold {settings.ClipNorm}"), settings.ClipNorm), .. divergence]);
        }
        if (context.PathOf("clipping-loss-clipped.png") is { } clippedPath)
        {
            // The clipped runs on a linear scale: on the log plot above they are squashed by the explosion.
            Plotting.Lines(clippedPath, ReportFiles.Invariant($"Clipped runs: training loss (adding T = {settings.Steps})"), "training step",
                "training MSE (10-step moving average)", runs.Where(r => r.Mode != ClipMode.None).Select(r => new Series(r.Label, [.. stepAxis], [.. Smooth(r.Loss, 10)])),
                lines: [new ReferenceLine("baseline: always 1 (1/6)", AddingProblem.BaselineMse)]);
        }

        var md = new System.Text.StringBuilder();
        md.Append("## Gradient clipping against exploding gradients\n\n");
        md.Append(settings.Describe()).Append("\n\n");
        md.Append(ReportFiles.Image("clipping-loss.png", "Loss per step")).Append('\n');
        md.Append(ReportFiles.Image("clipping-norm.png", "Gradient norm per step")).Append('\n');
        md.Append(ReportFiles.Image("clipping-loss-clipped.png", "Loss of the clipped runs")).Append('\n');
        md.Append(SummaryTable(runs));
        md.Append("\nNon-finite points are not drawn; the dotted vertical line marks the first diverged step. The last plot shows the clipped runs' batch losses as a 10-step moving average. Data: `clipping.csv`.\n\n");
        md.Append("Without clipping, one large gradient makes a large SGD step, which makes the next gradient larger still: the norm grows by orders of magnitude within a few dozen steps until the loss overflows; the trainer reports the non-finite steps and skips them, so the run ends with unusable weights rather than an exception. Both kinds of clipping bound every update, and the same model, data and learning rate then train below the baseline. Clipping by value changes the gradient's direction (it clamps coordinates independently) and at this threshold is active on almost every step; clipping by norm keeps the direction and acts only on the steps whose norm exceeds the threshold.\n\n");
        return new ExperimentReport(Name, md.ToString(), [.. runs.Select(r => r.SummaryLine())]);
    }
}
