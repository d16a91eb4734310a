using Rnn.Fast.Training;

namespace Rnn.Fast.Cli.Experiments;

/// <summary>‖∂L/∂h(t)‖ against the distance T−1−t of one network, and the fitted slope of its log.</summary>
/// <param name="Label">Legend label.</param>
/// <param name="Group">Which plot it belongs to.</param>
/// <param name="Norms">Index d: the RMS over streams of ‖∂L/∂h(T−1−d)‖ (0 when it underflowed in float32).</param>
/// <param name="Slope">Least-squares slope of log10 ‖∂L/∂h‖ per step of distance (negative: vanishing; positive: exploding).</param>
internal sealed record GradientFlowCurve(string Label, string Group, IReadOnlyList<double> Norms, double Slope)
{
    /// <summary>The average factor per step back in time, 10^slope.</summary>
    public double FactorPerStep => Math.Pow(10, Slope);
}

/// <summary>
/// <c>rnnfast demo gradients</c>: how the gradient of a loss at the last step reaches back through time. The
/// loss is the linear read-out of the last state, L = y(T−1) = w·h(T−1) + b, so ∂L/∂h(t) = (∂h(T−1)/∂h(t))ᵀ w:
/// exactly the product of step Jacobians diag(f′) W_hh that vanishes or explodes with the spectral radius ρ.
/// </summary>
internal static class GradientFlowExperiment
{
    public const string Name = "gradients";

    public static readonly double[] Radii = [0.5, 0.9, 1.0, 1.1, 1.5];

    /// <summary>Runs the model over random inputs U[−1, 1], backpropagates L = Σ_b y_b(T−1), and measures ∂L/∂h(t).</summary>
    public static GradientFlowCurve Measure(RnnModel model, int steps, int batch, int seed, string label, string group)
    {
        TrainableModel trainable = TrainableModel.From(model);
        TrainingWorkspace workspace = trainable.CreateWorkspace(steps, batch);
        workspace.RecordHiddenGradients = true;
        var random = new Random(seed);
        var inputs = new float[steps * batch * trainable.InputSize];
        for (int i = 0; i < inputs.Length; i++)
        {
            inputs[i] = (float)(random.NextDouble() * 2 - 1);
        }
        trainable.Forward(inputs, steps, workspace);
        // dL/dy: 1 at the last step of every stream (streams are independent, so each gets its own L).
        var outputGradient = new float[steps * batch * trainable.OutputSize];
        for (int b = 0; b < batch; b++)
        {
            outputGradient[((steps - 1) * batch + b) * trainable.OutputSize] = 1f;
        }
        trainable.Backward(outputGradient, workspace);

        var norms = new double[steps];
        for (int d = 0; d < steps; d++)
        {
            double sum = 0;
            for (int b = 0; b < batch; b++)
            {
                foreach (float g in workspace.HiddenGradientAt(steps - 1 - d, 0, b))
                {
                    sum += (double)g * g;
                }
            }
            norms[d] = Math.Sqrt(sum / batch);
        }
        return new GradientFlowCurve(label, group, norms, FitSlope(norms));
    }

    /// <summary>Least-squares slope of log10(norm) against distance, over the positive finite points from distance 1 on.</summary>
    public static double FitSlope(IReadOnlyList<double> norms)
    {
        double n = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
        for (int d = 1; d < norms.Count; d++)
        {
            if (norms[d] > 0 && double.IsFinite(norms[d]))
            {
                double y = Math.Log10(norms[d]);
                n++;
                sx += d;
                sy += y;
                sxx += (double)d * d;
                sxy += d * y;
            }
        }
        return n < 2 ? double.NaN : (n * sxy - sx * sy) / (n * sxx - sx * sx);
    }

    /// <summary>Every curve of the experiment: Elman tanh, ReLU and linear at each ρ; LSTM at default init and forget bias +1, +2.</summary>
    public static List<GradientFlowCurve> MeasureAll(int steps, int hidden, int batch, int seed, string? kernel, IProgressTask? progress)
    {
        var curves = new List<GradientFlowCurve>();
        foreach ((Activation f, string name) in new[] { (Activation.Tanh, "tanh"), (Activation.Relu, "ReLU"), (Activation.Identity, "linear") })
        {
            foreach (double rho in Radii)
            {
                RnnModel model = ModelFactory.Elman(1, hidden, f, 1, seed, rho, kernel);
                curves.Add(Measure(model, steps, batch, seed, ReportFiles.Invariant($"ρ = {rho}"), "Elman " + name));
                progress?.Increment();
            }
        }
        foreach ((float? bias, string name) in new[] { ((float?)null, "LSTM default init"), (1f, "LSTM forget bias +1"), (2f, "LSTM forget bias +2") })
        {
            RnnModel model = ModelFactory.Lstm(1, hidden, 1, seed, bias, kernel);
            curves.Add(Measure(model, steps, batch, seed, name, "LSTM"));
            progress?.Increment();
        }
        // The LSTM plot also shows the Elman tanh RNN at PyTorch's default init (ρ ≈ 1/√3), the fair comparison.
        RnnModel elman = ModelFactory.Elman(1, hidden, Activation.Tanh, 1, seed, spectralRadius: null, kernel);
        double defaultRho = SpectralRadius.Estimate(elman.Layers[0].WeightHh, hidden);
        curves.Add(Measure(elman, steps, batch, seed, ReportFiles.Invariant($"Elman tanh default init (ρ = {defaultRho:0.00})"), "LSTM"));
        return curves;
    }

    /// <summary>A gradient norm for the table; exact zeros are float32 underflow.</summary>
    private static string NormText(double norm) => norm == 0 ? "0 (underflow)" : ReportFiles.Invariant($"{norm:0.00e+0}");

    public static ExperimentReport Run(ExperimentContext context)
    {
        const int Steps = 200;
        int hidden = 64, batch = context.Full ? 32 : 8;
        IProgressTask task = context.Progress.AddTask("gradients: ∂L/∂h(t) over T=200", 3 * Radii.Length + 4);
        List<GradientFlowCurve> curves = MeasureAll(Steps, hidden, batch, context.Seed, context.Kernel, task);

        ReportFiles.WriteCsv(context.PathOf("gradients-flow.csv"), "group,curve,distance,grad_norm",
            curves
                .SelectMany(c => c.Norms.Select((v, d) => new object?[] { c.Group, c.Label, d, v })));

        var md = new System.Text.StringBuilder();
        md.Append("## Gradient flow over time: vanishing and exploding gradients\n\n");
        md.Append(ReportFiles.Invariant(
            $"One layer, H = {hidden}, 1 input, linear head; inputs U[−1, 1] for T = {Steps} steps, {batch} streams. The loss is the read-out of the last step, L = y(T−1), so ∂L/∂h(t) = (∂h(T−1)/∂h(t))ᵀ w_out is the product of the step Jacobians diag(f′)·W_hh. The Elman weight_hh is rescaled to spectral radius ρ (power iteration on the PyTorch-layout matrix); the LSTM uses PyTorch's default init (forget bias ≈ 0 ± 1/√H, so the forget gate starts near σ(0) = 0.5), or its forget-gate bias set to +1 or +2; the LSTM plot repeats the Elman tanh RNN at PyTorch's default init for comparison. Plotted: the RMS over streams of ‖∂L/∂h(t)‖ against the distance T−1−t, log scale. Values below float32's smallest subnormal (≈1e−45) underflow to 0 and are not drawn.\n\n"));
        string[] groups = ["Elman tanh", "Elman ReLU", "Elman linear", "LSTM"];
        foreach (string group in groups)
        {
            string file = "gradients-" + group.ToLowerInvariant().Replace(' ', '-').Replace("elman-", "", StringComparison.Ordinal) + ".png";
            if (context.PathOf(file) is { } path)
            {
                Plotting.Lines(path, $"Gradient flow, {group} (H = {hidden}, T = {Steps})", "distance back in time T−1−t (steps)",
                    "‖∂L/∂h(t)‖ (log scale)", curves.Where(c => c.Group == group).Select(c =>
                        new Series(c.Label, [.. Enumerable.Range(0, c.Norms.Count).Select(d => (double)d)], c.Norms)), logY: true);
            }
            md.Append(ReportFiles.Image(file, "Gradient flow " + group)).Append('\n');
        }
        md.Append(ReportFiles.Table(["network", "slope of log10‖∂L/∂h‖ per step", "factor per step", "‖∂L/∂h‖ at distance 0", "at 50", "at 199"],
            curves.Select(c => (IReadOnlyList<string>)[
                c.Group == "LSTM" ? c.Label : $"{c.Group} {c.Label}",
                ReportFiles.Invariant($"{c.Slope:+0.0000;-0.0000}"), ReportFiles.Invariant($"{c.FactorPerStep:0.000}"),
                NormText(c.Norms[0]), NormText(c.Norms[50]), NormText(c.Norms[^1])])));
        md.Append("\nSlopes are least-squares fits of log10‖∂L/∂h‖ against distance over the points that did not underflow. Data: `gradients-flow.csv`.\n\n");
        md.Append("Reading the slopes: the linear RNN multiplies the gradient by almost exactly ρ per step (its Jacobian is W_hh itself), so ρ < 1 vanishes and ρ > 1 explodes geometrically. The nonlinearities shift the boundary: tanh′ ≤ 1 (and < 1 once units saturate) and ReLU′ = 0 for inactive units shrink every Jacobian, so these RNNs still vanish at ρ = 1 (ReLU even at 1.1) and grow only at larger ρ, more slowly than ρ per step. At PyTorch's default init the LSTM's forget gate sits near σ(0) = 0.5, so its cell-state path also decays fast; with forget bias +1 or +2 (f ≈ 0.73, 0.88) the cell state carries the gradient much further, which is what lets the LSTM learn the adding problem below.\n\n");

        // The global gradient norm during a short training run, with and without clipping.
        ClippingSettings training = ClippingSettings.GradientDemo(context.Full);
        ClippingRun[] runs = [.. new[] { ClipMode.None, ClipMode.Norm }.Select(mode =>
            ClippingExperiment.Train(mode, training, context.Seed, context.Kernel, context.Progress.AddTask($"gradients: training, clip {mode}", training.TrainSteps)))];
        ReportFiles.WriteCsv(context.PathOf("gradients-training.csv"), "clipping,step,loss,grad_norm,diverged",
            runs.SelectMany(r => Enumerable.Range(0, r.Loss.Count).Select(i => new object?[] { r.Label, i + 1, r.Loss[i], r.Norm[i], r.Diverged[i] ? 1 : 0 })));
        if (context.PathOf("gradients-training.png") is { } trainingPath)
        {
            Plotting.Lines(trainingPath, "Global gradient norm during training (Elman tanh, adding T = " + training.Steps + ")",
                "training step", "global gradient norm before clipping (log scale)",
                runs.Select(r => new Series(r.Label, [.. Enumerable.Range(1, r.Norm.Count).Select(i => (double)i)], [.. r.Norm.Select(v => (double)v)])),
                logY: true, lines: [new ReferenceLine(ReportFiles.Invariant($"clip threshold {training.ClipNorm}"), training.ClipNorm)]);
        }
        md.Append("### Gradient norm while training\n\n");
        md.Append(training.Describe()).Append("\n\n");
        md.Append(ReportFiles.Image("gradients-training.png", "Gradient norm per training step")).Append('\n');
        md.Append(ClippingExperiment.SummaryTable(runs)).Append("\nData: `gradients-training.csv`.\n\n");

        var summary = curves
            .Select(c => ReportFiles.Invariant($"{(c.Group == "LSTM" ? "" : c.Group + " ")}{c.Label}: slope {c.Slope:+0.000;-0.000}/step (×{c.FactorPerStep:0.000} per step)"))
            .Concat(runs.Select(r => r.SummaryLine())).ToList();
        return new ExperimentReport(Name, md.ToString(), summary);
    }
}
