namespace Rnn.Fast.Training;

/// <summary>Which loss a trainer minimises.</summary>
public enum LossFunction
{
    /// <summary><see cref="Loss.MeanSquaredError"/>: targets <c>[T, B, O]</c>.</summary>
    MeanSquaredError,
    /// <summary><see cref="Loss.SoftmaxCrossEntropy"/> on logits (identity head): targets <c>[T, B]</c> class indices.</summary>
    SoftmaxCrossEntropy,
}

/// <summary>What one training step measured.</summary>
/// <param name="Loss">The loss before the update.</param>
/// <param name="GradientNorm">The global L2 norm of the gradients before clipping (watch it to see explosions).</param>
/// <param name="Clipped">True when clipping changed the gradients.</param>
/// <param name="Diverged">True when the loss or the gradient norm was NaN or infinite, or the update would have made a
/// weight or the optimizer's state NaN or infinite; the update was skipped and the model is unchanged.</param>
public readonly record struct TrainStepResult(float Loss, float GradientNorm, bool Clipped, bool Diverged);

/// <summary>
/// The usual loop, one call per batch of sequences: forward with cache, loss, backward, optional clipping,
/// optimizer step. Every sequence starts from the model's initial state. No allocation after construction.
/// </summary>
public sealed class Trainer
{
    private readonly TrainingStep _step;
    private TrainingWorkspace? _evaluation;   // for Evaluate with another batch or a longer sequence
    private float[] _evaluationGradient = [];

    /// <summary>Creates a trainer for batches of up to <paramref name="maxSteps"/> steps of <paramref name="batch"/> streams.</summary>
    /// <exception cref="ArgumentException">The optimizer belongs to another model, or cross-entropy without an identity (logit) head.</exception>
    public Trainer(TrainableModel model, Optimizer optimizer, LossFunction loss, int maxSteps, int batch = 1)
    {
        ArgumentNullException.ThrowIfNull(model);
        Workspace = model.CreateWorkspace(maxSteps, batch);
        _step = new TrainingStep(model, optimizer, loss, maxSteps * batch);
    }

    /// <summary>The model trained.</summary>
    public TrainableModel Model => _step.Model;

    /// <summary>The optimizer.</summary>
    public Optimizer Optimizer => _step.Optimizer;

    /// <summary>The loss.</summary>
    public LossFunction LossFunction => _step.Loss;

    /// <summary>The workspace (outputs, input gradients, states of the last step).</summary>
    public TrainingWorkspace Workspace { get; }

    /// <summary>Clip the global gradient norm to this before each update (<c>clip_grad_norm_</c>); null for no clipping.</summary>
    public float? MaxGradientNorm { get => _step.MaxGradientNorm; set => _step.MaxGradientNorm = value; }

    /// <summary>Clamp every gradient to ±this before each update (<c>clip_grad_value_</c>); null for no clamping.</summary>
    public float? ClipValue { get => _step.ClipValue; set => _step.ClipValue = value; }

    /// <summary>One training step on a batch of sequences.</summary>
    /// <param name="inputs"><c>[T, B, I]</c>.</param>
    /// <param name="steps">T.</param>
    /// <param name="targets"><c>[T, B, O]</c> (MSE) or <c>[T, B]</c> class indices (cross-entropy).</param>
    /// <param name="mask"><c>[T, B]</c> weights; empty for every step.</param>
    public TrainStepResult Step(ReadOnlySpan<float> inputs, int steps, ReadOnlySpan<float> targets, ReadOnlySpan<float> mask = default)
    {
        Workspace.ResetInitialState();
        return _step.Run(Workspace, inputs, steps, targets, mask);
    }

    /// <summary>The loss of a batch of the trainer's size without training (forward only; gradients untouched).</summary>
    public float Evaluate(ReadOnlySpan<float> inputs, int steps, ReadOnlySpan<float> targets, ReadOnlySpan<float> mask = default)
    {
        Workspace.ResetInitialState();
        return _step.Evaluate(Workspace, inputs, steps, targets, mask);
    }

    /// <summary>
    /// The loss of <paramref name="batch"/> sequences of <paramref name="steps"/> steps, of any batch size and length
    /// (e.g. a whole validation set at once), without training. A shape the trainer's workspace cannot hold uses a
    /// second workspace, made on first use and kept for the next call of the same or a smaller shape.
    /// </summary>
    /// <exception cref="ArgumentException">Lengths that do not match <paramref name="steps"/> × <paramref name="batch"/>.</exception>
    public float Evaluate(ReadOnlySpan<float> inputs, int steps, int batch, ReadOnlySpan<float> targets, ReadOnlySpan<float> mask = default)
    {
        if (batch == Workspace.Batch && steps <= Workspace.MaxSteps)
        {
            return Evaluate(inputs, steps, targets, mask);
        }
        Internals.Guard.Positive(batch, nameof(batch));
        Internals.Guard.Positive(steps, nameof(steps));
        if (_evaluation is null || _evaluation.Batch != batch || _evaluation.MaxSteps < steps)
        {
            _evaluation = Model.CreateWorkspace(steps, batch);
            _evaluationGradient = new float[checked(steps * batch * Model.OutputSize)];
        }
        _evaluation.ResetInitialState();
        ReadOnlySpan<float> outputs = Model.Forward(inputs, steps, _evaluation);
        return _step.ComputeLoss(outputs, targets, mask, _evaluationGradient.AsSpan(0, outputs.Length));
    }
}
