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
/// <param name="Diverged">True when the loss or the gradient norm was NaN or infinite; the update was skipped.</param>
public readonly record struct TrainStepResult(float Loss, float GradientNorm, bool Clipped, bool Diverged);

/// <summary>
/// The usual loop, one call per batch of sequences: forward with cache, loss, backward, optional clipping,
/// optimizer step. Every sequence starts from the model's initial state. No allocation after construction.
/// </summary>
public sealed class Trainer
{
    private readonly float[] _outputGradient;

    /// <summary>Creates a trainer for batches of up to <paramref name="maxSteps"/> steps of <paramref name="batch"/> streams.</summary>
    /// <exception cref="ArgumentException">The optimizer belongs to another model, or cross-entropy without an identity (logit) head.</exception>
    public Trainer(TrainableModel model, Optimizer optimizer, LossFunction loss, int maxSteps, int batch = 1)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        if (optimizer.Model != model)
        {
            throw new ArgumentException("The optimizer was created for another model.", nameof(optimizer));
        }
        CheckLoss(model, loss);
        Model = model;
        Optimizer = optimizer;
        LossFunction = loss;
        Workspace = model.CreateWorkspace(maxSteps, batch);
        _outputGradient = new float[maxSteps * batch * model.OutputSize];
    }

    /// <summary>The model trained.</summary>
    public TrainableModel Model { get; }

    /// <summary>The optimizer.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>The loss.</summary>
    public LossFunction LossFunction { get; }

    /// <summary>The workspace (outputs, input gradients, states of the last step).</summary>
    public TrainingWorkspace Workspace { get; }

    /// <summary>Clip the global gradient norm to this before each update (<c>clip_grad_norm_</c>); null for no clipping.</summary>
    public float? MaxGradientNorm { get; set; }

    /// <summary>Clamp every gradient to ±this before each update (<c>clip_grad_value_</c>); null for no clamping.</summary>
    public float? ClipValue { get; set; }

    /// <summary>One training step on a batch of sequences.</summary>
    /// <param name="inputs"><c>[T, B, I]</c>.</param>
    /// <param name="steps">T.</param>
    /// <param name="targets"><c>[T, B, O]</c> (MSE) or <c>[T, B]</c> class indices (cross-entropy).</param>
    /// <param name="mask"><c>[T, B]</c> weights; empty for every step.</param>
    public TrainStepResult Step(ReadOnlySpan<float> inputs, int steps, ReadOnlySpan<float> targets, ReadOnlySpan<float> mask = default)
    {
        Workspace.ResetInitialState();
        return TrainOnWorkspace(Model, Optimizer, LossFunction, Workspace, inputs, steps, targets, mask, _outputGradient, MaxGradientNorm, ClipValue);
    }

    /// <summary>The loss of a batch without training (forward only; gradients untouched).</summary>
    public float Evaluate(ReadOnlySpan<float> inputs, int steps, ReadOnlySpan<float> targets, ReadOnlySpan<float> mask = default)
    {
        Workspace.ResetInitialState();
        ReadOnlySpan<float> outputs = Model.Forward(inputs, steps, Workspace);
        return ComputeLoss(LossFunction, outputs, targets, mask, Model.OutputSize, _outputGradient.AsSpan(0, outputs.Length));
    }

    internal static TrainStepResult TrainOnWorkspace(TrainableModel model, Optimizer optimizer, LossFunction lossFunction, TrainingWorkspace workspace,
        ReadOnlySpan<float> inputs, int steps, ReadOnlySpan<float> targets, ReadOnlySpan<float> mask, float[] outputGradient,
        float? maxNorm, float? clipValue)
    {
        model.ZeroGradients();
        ReadOnlySpan<float> outputs = model.Forward(inputs, steps, workspace);
        Span<float> dy = outputGradient.AsSpan(0, outputs.Length);
        float loss = ComputeLoss(lossFunction, outputs, targets, mask, model.OutputSize, dy);
        if (!float.IsFinite(loss))
        {
            return new TrainStepResult(loss, float.NaN, Clipped: false, Diverged: true);
        }
        model.Backward(dy, workspace);

        float norm = GradientClipping.GlobalNorm(model.Parameters);
        if (!float.IsFinite(norm))
        {
            return new TrainStepResult(loss, norm, Clipped: false, Diverged: true);
        }
        bool clipped = false;
        if (clipValue is { } value)
        {
            GradientClipping.ClipByValue(model.Parameters, value);
            clipped = GradientClipping.GlobalNorm(model.Parameters) != norm;
        }
        if (maxNorm is { } max)
        {
            float before = GradientClipping.ClipByGlobalNorm(model.Parameters, max);
            clipped |= max / (before + 1e-6f) < 1f;
        }
        optimizer.Step();
        return new TrainStepResult(loss, norm, clipped, Diverged: false);
    }

    internal static float ComputeLoss(LossFunction lossFunction, ReadOnlySpan<float> outputs, ReadOnlySpan<float> targets,
        ReadOnlySpan<float> mask, int outputSize, Span<float> dy) => lossFunction switch
    {
        LossFunction.MeanSquaredError => Loss.MeanSquaredError(outputs, targets, mask, outputSize, dy),
        LossFunction.SoftmaxCrossEntropy => Loss.SoftmaxCrossEntropy(outputs, targets, mask, outputSize, dy),
        _ => throw new ArgumentOutOfRangeException(nameof(lossFunction), lossFunction, "Unknown loss."),
    };

    internal static void CheckLoss(TrainableModel model, LossFunction loss)
    {
        // Without a head the last layer's h are the logits; a head must output logits itself.
        if (loss == LossFunction.SoftmaxCrossEntropy && model.HeadActivation is { } g && g != Activation.Identity)
        {
            throw new ArgumentException("Softmax cross-entropy needs a head that outputs logits (identity activation).", nameof(loss));
        }
    }
}
