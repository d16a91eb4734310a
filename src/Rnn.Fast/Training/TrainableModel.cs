using Rnn.Fast.Internals;

namespace Rnn.Fast.Training;

/// <summary>
/// A model being trained: mutable parameters (in the kernel's packed layout) with gradients, a forward
/// pass that caches what backward needs, and backpropagation through time on the same fused kernels.
/// </summary>
/// <remarks>
/// <para>The pieces are usable alone: <see cref="Forward"/> (with cache) → a loss from <see cref="Loss"/>
/// (which writes dL/dy) → <see cref="Backward"/> (accumulates into the gradients) → <see cref="GradientClipping"/>
/// → an <see cref="Optimizer"/> step. <see cref="Trainer"/> and <see cref="TruncatedBpttTrainer"/> wrap that loop.</para>
/// <para>Backward: per step, the element-wise gate derivatives are fused per block in registers; dL/dh(t−1)
/// is W_hhᵀ·d(t) with W_hh kept also in a transposed packing so it is the same column-broadcast product as
/// the forward step; the weight gradients are accumulated after the time loop as blocked products over all
/// steps (Σ_t d(t) x(t)ᵀ), not as one rank-1 update per step.</para>
/// <para>Unidirectional models only (layers may be stacked, any cell, head and skip residual).</para>
/// </remarks>
public sealed class TrainableModel
{
    private readonly TrainableLayer[] _layers;
    private readonly TrainableHead? _head;
    private readonly RnnKernel _kernel;
    private readonly Parameter[] _parameters;

    private TrainableModel(RnnModel model)
    {
        if (model.IsBidirectional)
        {
            throw new NotSupportedException("Training bidirectional models is not supported; train each direction's model or use a unidirectional stack.");
        }
        _kernel = model.KernelImplementation;
        _layers = [.. model.Layers.Select((l, i) => new TrainableLayer(l, i, _kernel.Lanes))];
        _head = model.Head is null ? null : new TrainableHead(model.Head, _layers[^1].PaddedHidden);
        _parameters = [.. _layers.SelectMany(l => l.Parameters), .. _head is null ? Array.Empty<Parameter>() : [_head.Weight, _head.Bias]];
        Options = model.Options;
        InputSize = model.InputSize;
        OutputSize = model.OutputSize;
    }

    /// <summary>A trainable copy of <paramref name="model"/>'s weights, on the same kernel.</summary>
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
    public int InputSize { get; }

    /// <summary>O.</summary>
    public int OutputSize { get; }

    /// <summary>The kernel forward and backward run on.</summary>
    public string Kernel => _kernel.Name;

    internal IReadOnlyList<TrainableLayer> TrainableLayers => _layers;
    internal Activation? HeadActivation => _head?.Activation;
    internal RnnKernel KernelImplementation => _kernel;

    /// <summary>A workspace for sequences of up to <paramref name="maxSteps"/> steps of <paramref name="batch"/> streams.</summary>
    public TrainingWorkspace CreateWorkspace(int maxSteps, int batch = 1)
    {
        Guard.Positive(maxSteps, nameof(maxSteps));
        Guard.Positive(batch, nameof(batch));
        return new TrainingWorkspace(this, maxSteps, batch);
    }

    /// <summary>Must be called after parameter values change outside an <see cref="Optimizer"/> (refreshes derived packings).</summary>
    public void ParametersChanged()
    {
        foreach (TrainableLayer layer in _layers)
        {
            layer.Refresh();
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
        RnnModel.Create([.. _layers.Select(l => l.ToWeights())], _head?.ToWeights(), _kernel.Name, Options);

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
        Guard.Length(inputs.Length, rows * InputSize, $"inputs [steps {steps}, batch {batch}, input size {InputSize}]", nameof(inputs));
        workspace.Steps = steps;
        inputs.CopyTo(workspace.InputCopy);

        ReadOnlySpan<float> x = workspace.InputCopy.AsSpan(0, rows * InputSize);
        int width = InputSize, stride = InputSize;
        for (int l = 0; l < _layers.Length; l++)
        {
            TrainableLayer layer = _layers[l];
            ForwardLayer(layer, l, x, width, stride, steps, workspace);
            x = workspace.Hidden[l].AsSpan(0, rows * layer.PaddedHidden);
            width = layer.HiddenSize;
            stride = layer.PaddedHidden;
        }

        Span<float> output = workspace.Output.AsSpan(0, rows * OutputSize);
        for (int r = 0; r < rows; r++)
        {
            Span<float> y = output.Slice(r * OutputSize, OutputSize);
            ReadOnlySpan<float> h = x.Slice(r * stride, stride);
            if (_head is null)
            {
                h[..OutputSize].CopyTo(y);
            }
            else
            {
                _kernel.Dense(_head.Activation, _head.Weight.Values, _head.Bias.Values, h, y);
            }
            for (int j = 0; j < Options.Skip; j++)
            {
                y[j] += inputs[r * InputSize + j];
            }
        }
        return output;
    }

    private void ForwardLayer(TrainableLayer layer, int index, ReadOnlySpan<float> x, int width, int stride, int steps, TrainingWorkspace ws)
    {
        int batch = ws.Batch;
        int rows = steps * batch;
        int hp = layer.PaddedHidden;
        int gw = layer.GateWidth;
        Span<float> gates = ws.Gates.AsSpan(0, rows * gw);
        _kernel.ProjectInputs(x, rows, width, stride, layer.WeightIh.Values, layer.Bias, layer.Gates, gates);
        float[] hidden = ws.Hidden[index];
        float[] cell = ws.Cell[index];
        float[] acts = ws.Activations[index];
        for (int t = 0; t < steps; t++)
        {
            int first = 0;
            if (layer.Cell == CellType.Lstm)
            {
                // Streams in pairs share each load of W_hh (see LstmStepPair); c(t) is kept per step.
                for (; first + 1 < batch; first += 2)
                {
                    int row = t * batch + first;
                    for (int s = 0; s < 2; s++)
                    {
                        (t == 0 ? ws.InitialCellPadded[index].AsSpan((first + s) * hp, hp) : cell.AsSpan((row + s - batch) * hp, hp))
                            .CopyTo(cell.AsSpan((row + s) * hp, hp));
                    }
                    ReadOnlySpan<float> h0 = t == 0 ? ws.InitialHiddenPadded[index].AsSpan(first * hp, layer.HiddenSize) : hidden.AsSpan((row - batch) * hp, layer.HiddenSize);
                    ReadOnlySpan<float> h1 = t == 0 ? ws.InitialHiddenPadded[index].AsSpan((first + 1) * hp, layer.HiddenSize) : hidden.AsSpan((row + 1 - batch) * hp, layer.HiddenSize);
                    _kernel.LstmStepPair(gates.Slice(row * gw, gw), gates.Slice((row + 1) * gw, gw), layer.WeightHh.Values, h0, h1,
                        cell.AsSpan(row * hp, hp), cell.AsSpan((row + 1) * hp, hp), hidden.AsSpan(row * hp, hp), hidden.AsSpan((row + 1) * hp, hp),
                        acts.AsSpan(row * 4 * hp, 4 * hp), acts.AsSpan((row + 1) * 4 * hp, 4 * hp));
                }
            }
            for (int b = first; b < batch; b++)
            {
                int row = t * batch + b;
                ReadOnlySpan<float> hPrev = t == 0 ? ws.InitialHiddenPadded[index].AsSpan(b * hp, hp) : hidden.AsSpan((row - batch) * hp, hp);
                Span<float> hNext = hidden.AsSpan(row * hp, hp);
                ReadOnlySpan<float> init = gates.Slice(row * gw, gw);
                switch (layer.Cell)
                {
                    case CellType.Lstm:
                        // c(t) is kept per step for backward: copy c(t−1) into row t and update it there.
                        Span<float> c = cell.AsSpan(row * hp, hp);
                        (t == 0 ? ws.InitialCellPadded[index].AsSpan(b * hp, hp) : cell.AsSpan((row - batch) * hp, hp)).CopyTo(c);
                        _kernel.LstmStep(init, default, default, layer.WeightHh.Values, hPrev[..layer.HiddenSize], c, hNext, acts.AsSpan(row * 4 * hp, 4 * hp));
                        break;
                    case CellType.Gru:
                        _kernel.GruStep(init, layer.BiasHn, default, default, layer.WeightHh.Values, hPrev, layer.HiddenSize, hNext, acts.AsSpan(row * 4 * hp, 4 * hp));
                        break;
                    default:
                        _kernel.ElmanStep(layer.Nonlinearity, init, default, default, layer.WeightHh.Values, hPrev[..layer.HiddenSize], hNext);
                        break;
                }
            }
        }
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
        int rows = steps * batch;
        Guard.Length(outputGradient.Length, rows * OutputSize, $"outputGradient [steps {steps}, batch {batch}, output size {OutputSize}]", nameof(outputGradient));

        TrainableLayer last = _layers[^1];
        int lastStride = last.PaddedHidden;
        ReadOnlySpan<float> lastHidden = workspace.Hidden[^1].AsSpan(0, rows * lastStride);
        Span<float> upper = workspace.UpperGradient.AsSpan(0, rows * lastStride);
        upper.Clear();
        if (_head is null)
        {
            for (int r = 0; r < rows; r++)
            {
                outputGradient.Slice(r * OutputSize, OutputSize).CopyTo(upper.Slice(r * lastStride));
            }
        }
        else
        {
            HeadBackward(outputGradient, lastHidden, rows, workspace, upper);
        }

        for (int l = _layers.Length - 1; l >= 0; l--)
        {
            BackwardLayer(_layers[l], l, steps, workspace);
            (workspace.UpperGradient, workspace.LowerGradient) = (workspace.LowerGradient, workspace.UpperGradient);
        }

        // After the swap, UpperGradient holds dL/dx of layer 0 with the input's stride.
        int inputStride = _layers[0].PaddedInput;
        Span<float> inputGradient = workspace.InputGradient.AsSpan(0, rows * InputSize);
        for (int r = 0; r < rows; r++)
        {
            Span<float> dx = inputGradient.Slice(r * InputSize, InputSize);
            workspace.UpperGradient.AsSpan(r * inputStride, InputSize).CopyTo(dx);
            for (int j = 0; j < Options.Skip; j++)
            {
                dx[j] += outputGradient[r * OutputSize + j];
            }
        }
    }

    private void HeadBackward(ReadOnlySpan<float> outputGradient, ReadOnlySpan<float> hidden, int rows, TrainingWorkspace ws, Span<float> upper)
    {
        TrainableHead head = _head!;
        int stride = head.PaddedInput;
        int outputs = OutputSize;
        Span<float> dz = ws.OutputPreGradient.AsSpan(0, rows * outputs);
        float[] weight = head.Weight.Values, weightGradient = head.Weight.Gradients, biasGradient = head.Bias.Gradients;
        for (int r = 0; r < rows; r++)
        {
            Span<float> dzRow = dz.Slice(r * outputs, outputs);
            _kernel.ActivationBackward(head.Activation, ws.Output.AsSpan(r * outputs, outputs), outputGradient.Slice(r * outputs, outputs), dzRow);
            ReadOnlySpan<float> h = hidden.Slice(r * stride, stride);
            Span<float> dh = upper.Slice(r * stride, stride);
            for (int o = 0; o < outputs; o++)
            {
                float d = dzRow[o];
                if (d == 0f)
                {
                    continue; // masked steps: nothing to add
                }
                biasGradient[o] += d;
                _kernel.MultiplyAdd(d, h, weightGradient.AsSpan(o * stride, stride));
                _kernel.MultiplyAdd(d, weight.AsSpan(o * stride, stride), dh);
            }
        }
    }

    private void BackwardLayer(TrainableLayer layer, int index, int steps, TrainingWorkspace ws)
    {
        int batch = ws.Batch;
        int rows = steps * batch;
        int hp = layer.PaddedHidden;
        int gw = layer.GateWidth;
        float[] upper = ws.UpperGradient;                  // dL/dh(t) from above, [rows, hp]
        float[] hidden = ws.Hidden[index];
        float[] cell = ws.Cell[index];
        float[] acts = ws.Activations[index];
        Span<float> dPre = ws.PreGradient.AsSpan(0, rows * gw);
        Span<float> dPreHidden = layer.Cell == CellType.Gru ? ws.PreGradientHidden.AsSpan(0, rows * gw) : dPre;
        ReadOnlySpan<float> zeros = ws.Zeros.AsSpan(0, hp);

        // The running dL/dh(t) of each stream starts as what the output (or next layer) sends to the last step.
        for (int b = 0; b < batch; b++)
        {
            upper.AsSpan(((steps - 1) * batch + b) * hp, hp).CopyTo(ws.HiddenGradient.AsSpan(b * hp, hp));
        }
        ws.CellGradient.AsSpan(0, batch * hp).Clear();

        for (int t = steps - 1; t >= 0; t--)
        {
            for (int b = 0; b < batch; b++)
            {
                int row = t * batch + b;
                Span<float> dh = ws.HiddenGradient.AsSpan(b * hp, hp);
                if (ws.HiddenGradients is { } recorded)
                {
                    dh.CopyTo(recorded[index].AsSpan(row * hp, hp));
                }
                // What reaches h(t−1) besides the recurrence: the output / next layer's gradient at t−1.
                ReadOnlySpan<float> below = t > 0 ? upper.AsSpan((row - batch) * hp, hp) : zeros;
                ReadOnlySpan<float> init;
                switch (layer.Cell)
                {
                    case CellType.Lstm:
                        ReadOnlySpan<float> cPrev = t == 0 ? ws.InitialCellPadded[index].AsSpan(b * hp, hp) : cell.AsSpan((row - batch) * hp, hp);
                        _kernel.LstmBackward(dh, acts.AsSpan(row * 4 * hp, 4 * hp), cell.AsSpan(row * hp, hp), cPrev,
                            ws.CellGradient.AsSpan(b * hp, hp), dPre.Slice(row * gw, gw));
                        init = below;
                        break;
                    case CellType.Gru:
                        ReadOnlySpan<float> hPrev = t == 0 ? ws.InitialHiddenPadded[index].AsSpan(b * hp, hp) : hidden.AsSpan((row - batch) * hp, hp);
                        Span<float> direct = ws.DirectGradient.AsSpan(b * hp, hp);
                        _kernel.GruBackward(dh, acts.AsSpan(row * 4 * hp, 4 * hp), hPrev, below, dPre.Slice(row * gw, gw), dPreHidden.Slice(row * gw, gw), direct);
                        init = direct;
                        break;
                    default:
                        _kernel.ActivationBackward(layer.Nonlinearity, hidden.AsSpan(row * hp, hp), dh, dPre.Slice(row * gw, gw));
                        init = below;
                        break;
                }
                // dL/dh(t−1) = below + W_hhᵀ·d(t): the forward step's column-broadcast product on the
                // transposed packing, with d(t) as the "input" and below as the initial accumulator.
                _kernel.ElmanStep(Activation.Identity, init, default, default, layer.WhTransposed, dPreHidden.Slice(row * gw, gw), dh);
            }
        }

        // Now HiddenGradient/CellGradient hold dL/dh(−1), dL/dc(−1).
        ws.HiddenGradient.AsSpan(0, batch * hp).CopyTo(ws.InitialHiddenGradientPadded[index]);
        if (layer.Cell == CellType.Lstm)
        {
            ws.CellGradient.AsSpan(0, batch * hp).CopyTo(ws.InitialCellGradientPadded[index]);
        }

        // Weight gradients as blocked products over all rows.
        ReadOnlySpan<float> x;
        int width, stride;
        if (index == 0)
        {
            x = ws.InputCopy.AsSpan(0, rows * InputSize);
            width = InputSize;
            stride = InputSize;
        }
        else
        {
            TrainableLayer below = _layers[index - 1];
            x = ws.Hidden[index - 1].AsSpan(0, rows * below.PaddedHidden);
            width = below.HiddenSize;
            stride = below.PaddedHidden;
        }
        _kernel.AccumulateOuter(dPre, x, rows, width, stride, layer.Gates, layer.WeightIh.Gradients);
        _kernel.AccumulateOuter(dPreHidden[..(batch * gw)], ws.InitialHiddenPadded[index], batch, layer.HiddenSize, hp, layer.Gates, layer.WeightHh.Gradients);
        if (steps > 1)
        {
            _kernel.AccumulateOuter(dPreHidden[(batch * gw)..], hidden, rows - batch, layer.HiddenSize, hp, layer.Gates, layer.WeightHh.Gradients);
        }
        _kernel.AccumulateRows(dPre, rows, layer.BiasIh.Gradients);
        _kernel.AccumulateRows(dPreHidden, rows, layer.BiasHh.Gradients);

        // dL/dx = W_ihᵀ·d for every row at once: ProjectInputs on the transposed packing (one "gate").
        int inputStride = layer.PaddedInput;
        _kernel.ProjectInputs(dPre, rows, gw, gw, layer.WxTransposed, ws.Zeros.AsSpan(0, inputStride), 1, ws.LowerGradient.AsSpan(0, rows * inputStride));
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
