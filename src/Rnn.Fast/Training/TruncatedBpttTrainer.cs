namespace Rnn.Fast.Training;

/// <summary>
/// Truncated backpropagation through time over one long stream (Williams &amp; Peng's BPTT(k2; k1)): every k1
/// new steps, the loss of those k1 steps is backpropagated through the last k2 steps (k2 ≥ k1) and the
/// parameters are updated; the state is carried forward, the gradient is cut k2 steps back.
/// </summary>
/// <remarks>
/// With k1 = k2 = k this is the common chunked form: consecutive chunks of k steps, state carried, gradient
/// cut at chunk boundaries. The window is re-run forward from the state saved at its start (so a window
/// of k2 &gt; k1 steps costs k2 forward and backward steps per update). A call whose window covers the whole
/// stream so far is exactly full BPTT. No allocation after construction.
/// </remarks>
public sealed class TruncatedBpttTrainer
{
    private readonly float[] _inputs;   // [k2, B, I] the window's history
    private readonly float[] _targets;  // [k2, B, targetWidth]
    private readonly float[] _mask;     // [k2, B]
    private readonly TrainingStep _step;
    private readonly int _targetWidth;
    private int _count;                 // steps in the window so far (≤ k2)

    /// <summary>Creates a TBPTT trainer.</summary>
    /// <param name="model">The model.</param>
    /// <param name="optimizer">Its optimizer.</param>
    /// <param name="loss">The loss.</param>
    /// <param name="k1">Steps between updates (new steps per <see cref="Step"/> call).</param>
    /// <param name="k2">Steps the gradient flows back; at least k1.</param>
    /// <param name="batch">Parallel streams.</param>
    /// <exception cref="ArgumentException">k2 &lt; k1, a foreign optimizer, or cross-entropy without a logit head.</exception>
    public TruncatedBpttTrainer(TrainableModel model, Optimizer optimizer, LossFunction loss, int k1, int k2, int batch = 1)
    {
        ArgumentNullException.ThrowIfNull(model);
        Internals.Guard.Positive(k1, nameof(k1));
        Internals.Guard.Positive(batch, nameof(batch));
        if (k2 < k1)
        {
            throw new ArgumentException($"k2 ({k2}) must be at least k1 ({k1}): every new step's loss must reach back to its own step.", nameof(k2));
        }
        Workspace = model.CreateWorkspace(k2, batch);
        _step = new TrainingStep(model, optimizer, loss, k2 * batch);
        K1 = k1;
        K2 = k2;
        Batch = batch;
        _targetWidth = _step.TargetWidth;
        _inputs = new float[k2 * batch * model.InputSize];
        _targets = new float[k2 * batch * _targetWidth];
        _mask = new float[k2 * batch];
    }

    /// <summary>The model trained.</summary>
    public TrainableModel Model => _step.Model;

    /// <summary>The optimizer.</summary>
    public Optimizer Optimizer => _step.Optimizer;

    /// <summary>The loss.</summary>
    public LossFunction LossFunction => _step.Loss;

    /// <summary>New steps per update.</summary>
    public int K1 { get; }

    /// <summary>Steps the gradient flows back.</summary>
    public int K2 { get; }

    /// <summary>Parallel streams.</summary>
    public int Batch { get; }

    /// <summary>The workspace of the last window (its outputs and states).</summary>
    public TrainingWorkspace Workspace { get; }

    /// <summary>Clip the global gradient norm to this before each update; null for none.</summary>
    public float? MaxGradientNorm { get => _step.MaxGradientNorm; set => _step.MaxGradientNorm = value; }

    /// <summary>Clamp every gradient to ±this before each update; null for none.</summary>
    public float? ClipValue { get => _step.ClipValue; set => _step.ClipValue = value; }

    /// <summary>Starts a new stream: the state goes back to the model's initial state, the history is dropped.</summary>
    public void ResetStream()
    {
        _count = 0;
        Workspace.ResetInitialState();
    }

    /// <summary>Feeds the next k1 steps of the stream and makes one update.</summary>
    /// <param name="inputs"><c>[k1, B, I]</c>.</param>
    /// <param name="targets"><c>[k1, B, O]</c> (MSE) or <c>[k1, B]</c> class indices.</param>
    /// <param name="mask"><c>[k1, B]</c> weights of these steps' losses; empty for all ones.</param>
    public TrainStepResult Step(ReadOnlySpan<float> inputs, ReadOnlySpan<float> targets, ReadOnlySpan<float> mask = default)
    {
        int inputWidth = Batch * Model.InputSize, targetWidth = Batch * _targetWidth;
        Internals.Guard.Length(inputs.Length, K1 * inputWidth, $"inputs [k1 {K1}, batch {Batch}, input size {Model.InputSize}]", nameof(inputs));
        Internals.Guard.Length(targets.Length, K1 * targetWidth, $"targets [k1 {K1}, batch {Batch}, {_targetWidth}]", nameof(targets));
        if (!mask.IsEmpty)
        {
            Internals.Guard.Length(mask.Length, K1 * Batch, $"mask [k1 {K1}, batch {Batch}] (or empty)", nameof(mask));
        }

        // Slide the window: drop the oldest steps so that k1 new ones fit in k2.
        int drop = Math.Max(0, _count + K1 - K2);
        if (drop > 0)
        {
            // The state after the last dropped step becomes the window's start (cached by the last forward).
            Workspace.CarryStateFrom(drop - 1);
            Shift(_inputs, drop * inputWidth);
            Shift(_targets, drop * targetWidth);
            Shift(_mask, drop * Batch);
            _count -= drop;
        }
        inputs.CopyTo(_inputs.AsSpan(_count * inputWidth));
        targets.CopyTo(_targets.AsSpan(_count * targetWidth));
        // Older steps of the window only carry gradient; their own losses were counted when they were new.
        _mask.AsSpan(0, _count * Batch).Clear();
        if (mask.IsEmpty)
        {
            _mask.AsSpan(_count * Batch, K1 * Batch).Fill(1f);
        }
        else
        {
            mask.CopyTo(_mask.AsSpan(_count * Batch));
        }
        _count += K1;

        return _step.Run(Workspace, _inputs.AsSpan(0, _count * inputWidth), _count,
            _targets.AsSpan(0, _count * targetWidth), _mask.AsSpan(0, _count * Batch));
    }

    private static void Shift(float[] buffer, int count) => buffer.AsSpan(count).CopyTo(buffer);
}
