namespace Rnn.Fast.Training;

/// <summary>
/// One training step, shared by <see cref="Trainer"/> and <see cref="TruncatedBpttTrainer"/>: zero the gradients,
/// forward with cache, loss (which writes dL/dy), backward, optional clipping, optimizer update. Owns the dL/dy
/// buffer and the clipping options; allocates nothing per step.
/// </summary>
internal sealed class TrainingStep
{
    private readonly float[] _outputGradient;

    public TrainingStep(TrainableModel model, Optimizer optimizer, LossFunction loss, int maxRows)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        if (optimizer.Model != model)
        {
            throw new ArgumentException("The optimizer was created for another model.", nameof(optimizer));
        }
        // Without a head the last layer's h are the logits; a head must output logits itself.
        if (loss == LossFunction.SoftmaxCrossEntropy && model.HeadActivation is { } g && g != Activation.Identity)
        {
            throw new ArgumentException("Softmax cross-entropy needs a head that outputs logits (identity activation).", nameof(loss));
        }
        if (loss is not (LossFunction.MeanSquaredError or LossFunction.SoftmaxCrossEntropy))
        {
            throw new ArgumentOutOfRangeException(nameof(loss), loss, "Unknown loss.");
        }
        Model = model;
        Optimizer = optimizer;
        Loss = loss;
        _outputGradient = new float[checked(maxRows * model.OutputSize)];
    }

    public TrainableModel Model { get; }
    public Optimizer Optimizer { get; }
    public LossFunction Loss { get; }

    /// <summary>Clip the global gradient norm to this before each update (<c>clip_grad_norm_</c>); null for none.</summary>
    public float? MaxGradientNorm { get; set; }

    /// <summary>Clamp every gradient to ±this before each update (<c>clip_grad_value_</c>); null for none.</summary>
    public float? ClipValue { get; set; }

    /// <summary>Targets per row: O for MSE, one class index for cross-entropy.</summary>
    public int TargetWidth => Loss == LossFunction.SoftmaxCrossEntropy ? 1 : Model.OutputSize;

    /// <summary>One step on <paramref name="workspace"/> from its current initial state.</summary>
    public TrainStepResult Run(TrainingWorkspace workspace, ReadOnlySpan<float> inputs, int steps, ReadOnlySpan<float> targets, ReadOnlySpan<float> mask)
    {
        Model.ZeroGradients();
        ReadOnlySpan<float> outputs = Model.Forward(inputs, steps, workspace);
        Span<float> dy = _outputGradient.AsSpan(0, outputs.Length);
        float loss = ComputeLoss(outputs, targets, mask, dy);
        if (!float.IsFinite(loss))
        {
            return new TrainStepResult(loss, float.NaN, Clipped: false, Diverged: true);
        }
        Model.Backward(dy, workspace);

        float norm = GradientClipping.GlobalNorm(Model.Parameters);
        if (!float.IsFinite(norm))
        {
            return new TrainStepResult(loss, norm, Clipped: false, Diverged: true);
        }
        bool clipped = false;
        if (ClipValue is { } value)
        {
            GradientClipping.ClipByValue(Model.Parameters, value);
            clipped = GradientClipping.GlobalNorm(Model.Parameters) != norm;
        }
        if (MaxGradientNorm is { } max)
        {
            float before = GradientClipping.ClipByGlobalNorm(Model.Parameters, max);
            clipped |= max / (before + 1e-6f) < 1f;
        }
        // A rejected update (it would have made a weight non-finite) leaves the model as it was.
        bool applied = Optimizer.Step();
        return new TrainStepResult(loss, norm, clipped, Diverged: !applied);
    }

    /// <summary>The loss of a forward pass on <paramref name="workspace"/>, gradients untouched.</summary>
    public float Evaluate(TrainingWorkspace workspace, ReadOnlySpan<float> inputs, int steps, ReadOnlySpan<float> targets, ReadOnlySpan<float> mask)
    {
        ReadOnlySpan<float> outputs = Model.Forward(inputs, steps, workspace);
        return ComputeLoss(outputs, targets, mask, _outputGradient.AsSpan(0, outputs.Length));
    }

    /// <summary>The loss of <paramref name="outputs"/>; writes dL/dy into <paramref name="dy"/>.</summary>
    public float ComputeLoss(ReadOnlySpan<float> outputs, ReadOnlySpan<float> targets, ReadOnlySpan<float> mask, Span<float> dy) =>
        Loss == LossFunction.SoftmaxCrossEntropy
            ? Training.Loss.SoftmaxCrossEntropy(outputs, targets, mask, Model.OutputSize, dy)
            : Training.Loss.MeanSquaredError(outputs, targets, mask, Model.OutputSize, dy);
}
