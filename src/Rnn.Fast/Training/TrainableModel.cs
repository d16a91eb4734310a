using Rnn.Fast.Internals;

namespace Rnn.Fast.Training;

/// <summary>
/// A model being trained: mutable parameters (in the kernel's packed layout) with gradients, the same forward
/// pass as inference with a cache for backward, and backpropagation through time on the same kernels.
/// </summary>
/// <remarks>
/// <para>The pieces are usable alone: <see cref="Forward"/> (with cache) → a loss from <see cref="Loss"/>
/// (which writes dL/dy) → <see cref="Backward"/> (accumulates into the gradients) → <see cref="GradientClipping"/>
/// → an <see cref="Optimizer"/> step. <see cref="Trainer"/> and <see cref="TruncatedBpttTrainer"/> wrap that loop.</para>
/// <para>Forward is the inference engine's recurrence with its cache on. Backward: per step, the element-wise gate
/// derivatives of all streams are fused per block in registers; dL/dh(t−1) = W_hhᵀ·d(t) is the packed product on
/// W_hh's transposed packing, all streams at once; the weight gradients are accumulated after the time loop as
/// blocked products over all steps (Σ_t d(t) x(t)ᵀ), not as one rank-1 update per step.</para>
/// <para>Unidirectional models only (layers may be stacked, any cell, head and skip residual).</para>
/// </remarks>
public sealed class TrainableModel
{
    private readonly Parameter[] _parameters;

    private TrainableModel(RnnModel model)
    {
        if (model.IsBidirectional)
        {
            throw new NotSupportedException("Training bidirectional models is not supported; train each direction's model or use a unidirectional stack.");
        }
        Options = model.Options;
        Network = new Network(model.Layers, null, model.Head, Options.Skip, model.KernelImplementation, trainable: true);
        _parameters = Parameter.Of(Network);
    }

    /// <summary>A trainable copy of <paramref name="model"/>'s weights, on the same kernel.</summary>
    /// <remarks>A bf16 or int8 model gives its dequantized weights (<see cref="RnnModel.Layers"/>): training is always float32,
    /// and <see cref="ToModel"/> gives a float32 model (quantize it again with <see cref="RnnModel.WithPrecision(WeightPrecision)"/>).</remarks>
    /// <exception cref="NotSupportedException">The model is bidirectional.</exception>
    public static TrainableModel From(RnnModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return new TrainableModel(model);
    }

    /// <summary>Every trainable tensor, in PyTorch state_dict order (layers, then head).</summary>
    public IReadOnlyList<Parameter> Parameters => _parameters;

    /// <summary>Skip residual and initial state, from the model this was created from.</summary>
    public RnnModelOptions Options { get; }

    /// <summary>I.</summary>
    public int InputSize => Network.InputSize;

    /// <summary>O.</summary>
    public int OutputSize => Network.OutputSize;

    /// <summary>The kernel forward and backward run on.</summary>
    public string Kernel => Network.Kernel.Name;

    internal Network Network { get; }
    internal Activation? HeadActivation => Network.Head?.Activation;

    /// <summary>A workspace for sequences of up to <paramref name="maxSteps"/> steps of <paramref name="batch"/> streams.</summary>
    public TrainingWorkspace CreateWorkspace(int maxSteps, int batch = 1)
    {
        Guard.Positive(maxSteps, nameof(maxSteps));
        Guard.Positive(batch, nameof(batch));
        if ((long)maxSteps * batch * Math.Max(Network.MaxGateWidth, 4 * Network.MaxRowWidth) > Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(maxSteps), maxSteps, $"{maxSteps} steps of {batch} streams need more floats than an array can hold.");
        }
        return new TrainingWorkspace(this, maxSteps, batch);
    }

    /// <summary>Must be called after parameter values change outside an <see cref="Optimizer"/> (refreshes derived packings).</summary>
    public void ParametersChanged()
    {
        foreach (PackedLayer layer in Network.Layers)
        {
            layer.ValuesChanged();
        }
    }

    /// <summary>Sets every gradient to zero.</summary>
    public void ZeroGradients()
    {
        foreach (Parameter p in _parameters)
        {
            Array.Clear(p.Gradients);
        }
    }

    /// <summary>The current weights as an immutable inference model (same kernel and options).</summary>
    public RnnModel ToModel() =>
        RnnModel.Create([.. Network.Layers.Select(l => l.ToWeights())], Network.Head?.ToWeights(), Kernel, Options);

    /// <summary>
    /// Runs <paramref name="steps"/> steps of <c>[T, B, I]</c> inputs from the workspace's initial state,
    /// caching what <see cref="Backward"/> needs; returns the outputs <c>[T, B, O]</c> (valid until the next call).
    /// </summary>
    /// <exception cref="ArgumentException">Wrong lengths, too many steps, or a workspace of another model.</exception>
    public ReadOnlySpan<float> Forward(ReadOnlySpan<float> inputs, int steps, TrainingWorkspace workspace)
    {
        CheckWorkspace(workspace);
        if (steps < 1 || steps > workspace.MaxSteps)
        {
            throw new ArgumentOutOfRangeException(nameof(steps), steps, $"Must be between 1 and the workspace's {workspace.MaxSteps} steps.");
        }
        int batch = workspace.Batch;
        int rows = steps * batch;
        if (inputs.Length != rows * InputSize)
        {
            ThrowHelper.WrongLength(nameof(inputs), (long)rows * InputSize, inputs.Length, "steps", steps, "batch", batch, "input size", InputSize);
        }
        workspace.Steps = steps;
        // Kept: backward needs layer 0's inputs for W_ih's gradient after the caller's span may have changed.
        // Values below 2^-63 are kept as zero, as Run reads them (TinyInputs).
        Span<float> kept = workspace.Scratch.Inputs.AsSpan(0, rows * InputSize);
        inputs.CopyTo(kept);
        if (TinyInputs.AnyTiny(kept))
        {
            TinyInputs.Copy(kept, kept);
        }
        Span<float> outputs = workspace.Scratch.Output.AsSpan(0, rows * OutputSize);
        Network.Forward(kept, steps, workspace.Cache, outputs);
        return outputs;
    }

    /// <summary>
    /// Backpropagates dL/dy <c>[T, B, O]</c> of the last <see cref="Forward"/> through time: adds the weight
    /// and bias gradients to <see cref="Parameters"/>, and leaves dL/dx and dL/dh0, dL/dc0 in the workspace.
    /// </summary>
    /// <exception cref="ArgumentException">Wrong length or a workspace of another model.</exception>
    /// <exception cref="InvalidOperationException">No forward pass has run in the workspace.</exception>
    public void Backward(ReadOnlySpan<float> outputGradient, TrainingWorkspace workspace)
    {
        CheckWorkspace(workspace);
        int steps = workspace.Steps;
        if (steps == 0)
        {
            throw new InvalidOperationException("Run Forward in this workspace before Backward.");
        }
        int batch = workspace.Batch;
        if (outputGradient.Length != steps * batch * OutputSize)
        {
            ThrowHelper.WrongLength(nameof(outputGradient), (long)steps * batch * OutputSize, outputGradient.Length,
                "steps", steps, "batch", batch, "output size", OutputSize);
        }
        Backpropagation.Run(Network, outputGradient, steps, workspace);
    }

    private void CheckWorkspace(TrainingWorkspace workspace)
    {
        ArgumentNullException.ThrowIfNull(workspace);
        if (workspace.Model != this)
        {
            throw new ArgumentException("This workspace was created by a different model.", nameof(workspace));
        }
    }
}
