using Rnn.Fast.Internals;

namespace Rnn.Fast.Training;

/// <summary>
/// Everything one forward-with-cache and backward pass needs, sized once for up to <see cref="MaxSteps"/> steps of
/// <see cref="Batch"/> streams: per layer, the initial state and what every step produced (the forward cache), and
/// the gradient scratch backward works in. Reusing it keeps training steps free of allocation. One per thread.
/// </summary>
public sealed class TrainingWorkspace
{
    internal TrainingWorkspace(TrainableModel model, int maxSteps, int batch)
    {
        Model = model;
        MaxSteps = maxSteps;
        Batch = batch;
        Cache = new ForwardCache(model.Network, maxSteps, batch);
        Scratch = new GradientScratch(model.Network, maxSteps, batch);
        ResetInitialState();
    }

    /// <summary>The model this workspace belongs to.</summary>
    public TrainableModel Model { get; }

    /// <summary>Largest sequence length it holds.</summary>
    public int MaxSteps { get; }

    /// <summary>Streams per batch.</summary>
    public int Batch { get; }

    /// <summary>Steps of the last forward pass.</summary>
    public int Steps { get; internal set; }

    internal ForwardCache Cache { get; }
    internal GradientScratch Scratch { get; }

    /// <summary>
    /// When true, backward keeps dL/dh(t) of every step and layer (the total gradient reaching h(t), from the
    /// output and from step t+1) for <see cref="HiddenGradientAt"/>: how gradients vanish or explode over time.
    /// Off by default (one more [T, B, H] buffer per layer, allocated when first turned on).
    /// </summary>
    public bool RecordHiddenGradients
    {
        get => Cache.Layers[0].RecordedHiddenGradients is not null;
        set
        {
            foreach (LayerCache layer in Cache.Layers)
            {
                layer.RecordedHiddenGradients = value ? layer.RecordedHiddenGradients ?? new float[layer.Hidden.Length] : null;
            }
        }
    }

    /// <summary>dL/dh(t) of the last backward pass (requires <see cref="RecordHiddenGradients"/>).</summary>
    /// <exception cref="InvalidOperationException">Recording is off.</exception>
    public ReadOnlySpan<float> HiddenGradientAt(int step, int layer, int stream = 0)
    {
        CheckStep(step);
        LayerCache cache = Layer(layer, stream);
        float[] recorded = cache.RecordedHiddenGradients ?? throw new InvalidOperationException("Set RecordHiddenGradients before Backward.");
        return cache.Row(recorded, step, stream, Batch);
    }

    /// <summary>Outputs of the last forward pass, <c>[T, B, O]</c>.</summary>
    public ReadOnlySpan<float> Outputs => Scratch.Output.AsSpan(0, Steps * Batch * Model.OutputSize);

    /// <summary>dL/dx of the last backward pass, <c>[T, B, I]</c>.</summary>
    public ReadOnlySpan<float> InputGradients => Scratch.InputGradient.AsSpan(0, Steps * Batch * Model.InputSize);

    /// <summary>h(−1) of one layer and stream used by the next forward pass (writable; starts at the model's initial state).</summary>
    public Span<float> InitialHidden(int layer, int stream = 0) => Layer(layer, stream).Initial.HiddenOf(stream);

    /// <summary>c(−1) of one LSTM layer and stream (writable).</summary>
    /// <exception cref="InvalidOperationException">The layer is not an LSTM.</exception>
    public Span<float> InitialCell(int layer, int stream = 0)
    {
        LayerState initial = Layer(layer, stream).Initial;
        return initial.HasCell ? initial.CellOf(stream) : throw new InvalidOperationException($"Layer {layer} has no cell state.");
    }

    /// <summary>dL/dh(−1) of one layer and stream, from the last backward pass.</summary>
    public ReadOnlySpan<float> InitialHiddenGradient(int layer, int stream = 0)
    {
        LayerCache cache = Layer(layer, stream);
        return cache.InitialHiddenGradient.AsSpan(stream * cache.Stride, cache.HiddenSize);
    }

    /// <summary>dL/dc(−1) of one LSTM layer and stream, from the last backward pass.</summary>
    /// <exception cref="InvalidOperationException">The layer is not an LSTM.</exception>
    public ReadOnlySpan<float> InitialCellGradient(int layer, int stream = 0)
    {
        LayerCache cache = Layer(layer, stream);
        return cache.InitialCellGradient.Length != 0
            ? cache.InitialCellGradient.AsSpan(stream * cache.Stride, cache.HiddenSize)
            : throw new InvalidOperationException($"Layer {layer} has no cell state.");
    }

    /// <summary>h after step <paramref name="step"/> of the last forward pass, of one layer and stream.</summary>
    public ReadOnlySpan<float> HiddenAt(int step, int layer, int stream = 0)
    {
        CheckStep(step);
        LayerCache cache = Layer(layer, stream);
        return cache.Row(cache.Hidden, step, stream, Batch);
    }

    /// <summary>
    /// Makes the state after step <paramref name="step"/> of the last forward pass the initial state of the
    /// next one (the carry of truncated BPTT: the state goes on, the gradient is cut).
    /// </summary>
    public void CarryStateFrom(int step)
    {
        CheckStep(step);
        foreach (LayerCache layer in Cache.Layers)
        {
            layer.CarryFrom(step, Batch);
        }
    }

    /// <summary>Sets the initial state back to the model's (zeros unless it has one).</summary>
    public void ResetInitialState()
    {
        RnnModelOptions options = Model.Options;
        for (int l = 0; l < Cache.Layers.Length; l++)
        {
            Cache.Layers[l].Initial.Reset(options.InitialHidden?[l], options.InitialCell?[l]);
        }
    }

    private void CheckStep(int step)
    {
        if ((uint)step >= (uint)Steps)
        {
            throw new ArgumentOutOfRangeException(nameof(step), step, $"The last forward pass ran {Steps} steps.");
        }
    }

    private LayerCache Layer(int layer, int stream)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(layer);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(layer, Cache.Layers.Length);
        ArgumentOutOfRangeException.ThrowIfNegative(stream);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(stream, Batch);
        return Cache.Layers[layer];
    }
}

/// <summary>The buffers backward works in, sized for the workspace's rows (steps × streams).</summary>
internal sealed class GradientScratch
{
    public GradientScratch(Network network, int maxSteps, int batch)
    {
        int rows = checked(maxSteps * batch);
        int widest = Math.Max(network.Layers.Max(l => l.PaddedHidden), network.Layers[0].PaddedInput);
        Inputs = new float[checked(rows * network.InputSize)];
        PreGradient = new float[checked(rows * network.MaxGateWidth)];
        PreGradientHidden = new float[checked(rows * network.MaxGateWidth)];
        First = new float[checked(rows * widest)];
        Second = new float[checked(rows * widest)];
        HiddenGradient = new float[batch * widest];
        CellGradient = new float[batch * widest];
        DirectGradient = new float[batch * widest];
        Zeros = new float[batch * widest];
        Output = new float[checked(rows * network.OutputSize)];
        OutputPreGradient = new float[checked(rows * network.OutputSize)];
        InputGradient = new float[checked(rows * network.InputSize)];
    }

    public float[] Inputs { get; }             // [rows, I] the forward pass's inputs, kept for the weight gradients
    public float[] PreGradient { get; }        // [rows, GW] dL/d(pre-activation), input side
    public float[] PreGradientHidden { get; }  // [rows, GW] hidden side (differs from the input side for GRU)
    public float[] First { get; }              // [rows, widest] dL/dh of a layer / dL/dx of the layer below, alternating
    public float[] Second { get; }
    public float[] HiddenGradient { get; }     // [B, widest] running dL/dh(t)
    public float[] CellGradient { get; }       // [B, widest] running dL/dc(t)
    public float[] DirectGradient { get; }     // [B, widest] GRU's direct path to h(t−1)
    public float[] Zeros { get; }              // [B, widest]
    public float[] Output { get; }             // [rows, O]
    public float[] OutputPreGradient { get; }  // [rows, O] dL/d(head pre-activation)
    public float[] InputGradient { get; }      // [rows, I]
}
