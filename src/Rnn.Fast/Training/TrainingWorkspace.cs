namespace Rnn.Fast.Training;

/// <summary>
/// Everything one forward-with-cache and backward pass needs, sized once for up to <see cref="MaxSteps"/>
/// steps of <see cref="Batch"/> streams: per-step states and gate activations, gradient scratch, and the
/// initial/final states. Reusing it keeps training steps free of allocation. One per thread.
/// </summary>
public sealed class TrainingWorkspace
{
    internal TrainingWorkspace(TrainableModel model, int maxSteps, int batch)
    {
        Model = model;
        MaxSteps = maxSteps;
        Batch = batch;
        int rows = maxSteps * batch;
        IReadOnlyList<TrainableLayer> layers = model.TrainableLayers;
        int widest = Math.Max(layers.Max(l => l.PaddedHidden), layers[0].PaddedInput);
        int gateWidth = layers.Max(l => l.GateWidth);

        Hidden = [.. layers.Select(l => new float[rows * l.PaddedHidden])];
        Cell = [.. layers.Select(l => l.Cell == CellType.Lstm ? new float[rows * l.PaddedHidden] : [])];
        Activations = [.. layers.Select(l => l.Cell == CellType.Elman ? [] : new float[rows * 4 * l.PaddedHidden])];
        InitialHiddenPadded = [.. layers.Select(l => new float[batch * l.PaddedHidden])];
        InitialCellPadded = [.. layers.Select(l => new float[batch * l.PaddedHidden])];
        InitialHiddenGradientPadded = [.. layers.Select(l => new float[batch * l.PaddedHidden])];
        InitialCellGradientPadded = [.. layers.Select(l => new float[batch * l.PaddedHidden])];

        InputCopy = new float[rows * model.InputSize];
        Gates = new float[rows * gateWidth];
        PreGradient = new float[rows * gateWidth];
        PreGradientHidden = new float[rows * gateWidth];
        UpperGradient = new float[rows * widest];
        LowerGradient = new float[rows * widest];
        HiddenGradient = new float[batch * widest];
        CellGradient = new float[batch * widest];
        DirectGradient = new float[batch * widest];
        Zeros = new float[widest];
        Output = new float[rows * model.OutputSize];
        OutputPreGradient = new float[rows * model.OutputSize];
        InputGradient = new float[rows * model.InputSize];
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

    internal float[][] Hidden { get; }                       // per layer [rows, Hp]: h(t)
    internal float[][] Cell { get; }                         // per LSTM layer [rows, Hp]: c(t)
    internal float[][] Activations { get; }                  // per LSTM/GRU layer [rows, nb, 4, V]
    internal float[][] InitialHiddenPadded { get; }          // per layer [B, Hp]
    internal float[][] InitialCellPadded { get; }            // per layer [B, Hp]
    internal float[][] InitialHiddenGradientPadded { get; }
    internal float[][] InitialCellGradientPadded { get; }
    internal float[] InputCopy { get; }                      // [rows, I]
    internal float[] Gates { get; }                          // [rows, GateWidth] scratch
    internal float[] PreGradient { get; }                    // [rows, GateWidth]: dL/d(pre-activation), input side
    internal float[] PreGradientHidden { get; }              // [rows, GateWidth]: hidden side (differs for GRU)
    internal float[] UpperGradient { get; set; }             // [rows, widest]: dL/dh of the current layer
    internal float[] LowerGradient { get; set; }             // [rows, widest]: dL/dx of the current layer
    internal float[] HiddenGradient { get; }                 // [B, widest]: running dL/dh(t)
    internal float[] CellGradient { get; }                   // [B, widest]: running dL/dc(t)
    internal float[] DirectGradient { get; }                 // [B, widest]: GRU's direct path
    internal float[] Zeros { get; }
    internal float[] Output { get; }                         // [rows, O]
    internal float[] OutputPreGradient { get; }              // [rows, O]
    internal float[] InputGradient { get; }                  // [rows, I]

    /// <summary>Outputs of the last forward pass, <c>[T, B, O]</c>.</summary>
    public ReadOnlySpan<float> Outputs => Output.AsSpan(0, Steps * Batch * Model.OutputSize);

    /// <summary>dL/dx of the last backward pass, <c>[T, B, I]</c>.</summary>
    public ReadOnlySpan<float> InputGradients => InputGradient.AsSpan(0, Steps * Batch * Model.InputSize);

    /// <summary>h(−1) of one layer and stream used by the next forward pass (writable; starts at the model's initial state).</summary>
    public Span<float> InitialHidden(int layer, int stream = 0) => Row(InitialHiddenPadded, layer, stream);

    /// <summary>c(−1) of one LSTM layer and stream (writable).</summary>
    public Span<float> InitialCell(int layer, int stream = 0) => Row(InitialCellPadded, layer, stream);

    /// <summary>dL/dh(−1) of one layer and stream, from the last backward pass.</summary>
    public ReadOnlySpan<float> InitialHiddenGradient(int layer, int stream = 0) => Row(InitialHiddenGradientPadded, layer, stream);

    /// <summary>dL/dc(−1) of one LSTM layer and stream, from the last backward pass.</summary>
    public ReadOnlySpan<float> InitialCellGradient(int layer, int stream = 0) => Row(InitialCellGradientPadded, layer, stream);

    /// <summary>h after step <paramref name="step"/> of the last forward pass.</summary>
    public ReadOnlySpan<float> HiddenAt(int step, int layer, int stream = 0)
    {
        CheckStep(step);
        TrainableLayer l = Model.TrainableLayers[layer];
        return Hidden[layer].AsSpan((step * Batch + stream) * l.PaddedHidden, l.HiddenSize);
    }

    /// <summary>
    /// Makes the state after step <paramref name="step"/> of the last forward pass the initial state of the
    /// next one (the carry of truncated BPTT: the state goes on, the gradient is cut).
    /// </summary>
    public void CarryStateFrom(int step)
    {
        CheckStep(step);
        IReadOnlyList<TrainableLayer> layers = Model.TrainableLayers;
        for (int l = 0; l < layers.Count; l++)
        {
            int width = Batch * layers[l].PaddedHidden;
            Hidden[l].AsSpan(step * width, width).CopyTo(InitialHiddenPadded[l]);
            if (layers[l].Cell == CellType.Lstm)
            {
                Cell[l].AsSpan(step * width, width).CopyTo(InitialCellPadded[l]);
            }
        }
    }

    /// <summary>Sets the initial state back to the model's (zeros unless it has one).</summary>
    public void ResetInitialState()
    {
        RnnModelOptions options = Model.Options;
        IReadOnlyList<TrainableLayer> layers = Model.TrainableLayers;
        for (int l = 0; l < layers.Count; l++)
        {
            Array.Clear(InitialHiddenPadded[l]);
            Array.Clear(InitialCellPadded[l]);
            for (int b = 0; b < Batch; b++)
            {
                options.InitialHidden?[l]?.CopyTo(InitialHiddenPadded[l], b * layers[l].PaddedHidden);
                options.InitialCell?[l]?.CopyTo(InitialCellPadded[l], b * layers[l].PaddedHidden);
            }
        }
    }

    private void CheckStep(int step)
    {
        if ((uint)step >= (uint)Steps)
        {
            throw new ArgumentOutOfRangeException(nameof(step), step, $"The last forward pass ran {Steps} steps.");
        }
    }

    private Span<float> Row(float[][] buffers, int layer, int stream)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(layer);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(layer, buffers.Length);
        ArgumentOutOfRangeException.ThrowIfNegative(stream);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(stream, Batch);
        TrainableLayer l = Model.TrainableLayers[layer];
        return buffers[layer].AsSpan(stream * l.PaddedHidden, l.HiddenSize);
    }
}
