using System.Buffers;
using Rnn.Fast.Internals;

namespace Rnn.Fast;

/// <summary>
/// A stack of recurrent layers (Elman, GRU or LSTM, PyTorch semantics; optionally bidirectional) with an
/// optional dense head.
/// Immutable and thread-safe: share one model across threads, give each stream its own <see cref="RnnState"/>.
/// </summary>
/// <remarks>
/// <para>Elman layer: <c>h(t) = f(W_ih x(t) + b_ih + W_hh h(t-1) + b_hh)</c>.</para>
/// <para>LSTM layer (PyTorch <c>nn.LSTM</c>): <c>i = σ(.), f = σ(.), g = tanh(.), o = σ(.)</c> of
/// <c>W_ih x + b_ih + W_hh h + b_hh</c>; <c>c' = f⊙c + i⊙g</c>; <c>h' = o⊙tanh(c')</c>.</para>
/// <para>GRU layer (PyTorch <c>nn.GRU</c>): <c>r, z = σ(W_i x + b_i + W_h h + b_h)</c>;
/// <c>n = tanh(W_in x + b_in + r⊙(W_hn h + b_hn))</c>; <c>h' = (1 − z)⊙n + z⊙h</c>.</para>
/// <para>Layer k's h is layer k+1's input. Head: <c>y(t) = g(W h(t) + b)</c> on the last layer's h;
/// without a head the output is that h.</para>
/// <para><see cref="Step"/> and <see cref="Run"/> allocate nothing once warm.</para>
/// </remarks>
public sealed class RnnModel
{
    // Rows (time steps × streams) per chunk of a sequence: the input projection of a chunk is one
    // blocked matrix product, and the chunk's gate buffer stays cache-sized however long the sequence.
    private const int ChunkRows = 256;

    private readonly PackedLayer[] _layers;      // forward direction of each layer
    private readonly PackedLayer?[] _slots;      // [2l] forward, [2l+1] reverse (or null)
    private readonly int[] _outputStride;        // per layer: row stride of its output (Hp, or padded 2H)
    private readonly PackedHead? _head;
    private readonly RnnKernel _kernel;
    private readonly int _maxGateWidth;          // scratch sizes of Run, fixed at construction so Run
    private readonly int _maxRowWidth;           // computes them without allocating

    private RnnModel(LayerWeights[] layers, HeadWeights? head, RnnKernel kernel, RnnModelOptions options)
    {
        Validate(layers, head, options);
        int lanes = kernel.Lanes;
        _kernel = kernel;
        _layers = [.. layers.Select(l => new PackedLayer(l, lanes))];
        _slots = new PackedLayer?[2 * layers.Length];
        _outputStride = new int[layers.Length];
        for (int l = 0; l < layers.Length; l++)
        {
            _slots[2 * l] = _layers[l];
            _slots[2 * l + 1] = options.ReverseLayers is { } reverse ? new PackedLayer(reverse[l], lanes) : null;
            _outputStride[l] = options.ReverseLayers is null ? _layers[l].PaddedHidden : RoundUp(2 * layers[l].HiddenSize, lanes);
        }
        _head = head is null ? null : new PackedHead(head, RoundUp(head.InputSize, lanes));
        _maxGateWidth = _slots.Max(l => l?.GateWidth ?? 0);
        _maxRowWidth = Math.Max(_layers.Max(l => l.PaddedHidden), _outputStride.Max());
        Layers = layers;
        Head = head;
        Options = options;
        IsBidirectional = options.ReverseLayers is not null;
        InputSize = layers[0].InputSize;
        OutputSize = head?.OutputSize ?? (IsBidirectional ? 2 : 1) * layers[^1].HiddenSize;
    }

    /// <summary>The recurrent layers, first to last (forward direction).</summary>
    public IReadOnlyList<LayerWeights> Layers { get; }

    /// <summary>The dense head, or null when the output is the last layer's h.</summary>
    public HeadWeights? Head { get; }

    /// <summary>Reverse layers, residual and initial state, as given at creation.</summary>
    public RnnModelOptions Options { get; }

    /// <summary>True when every layer also runs in reverse time (sequence API only).</summary>
    public bool IsBidirectional { get; }

    /// <summary>Features per input step (I of the first layer).</summary>
    public int InputSize { get; }

    /// <summary>Values per output step: the head's O, else the last layer's H (2H when bidirectional).</summary>
    public int OutputSize { get; }

    /// <summary>Name of the kernel this model runs on (see <see cref="RnnKernels"/>).</summary>
    public string Kernel => _kernel.Name;

    /// <summary>Total number of weights and biases.</summary>
    public long ParameterCount =>
        Layers.Sum(l => l.ParameterCount) + (Options.ReverseLayers?.Sum(l => l.ParameterCount) ?? 0)
        + (Head is null ? 0 : (long)Head.OutputSize * (Head.InputSize + 1));

    internal IReadOnlyList<PackedLayer> PackedLayers => _layers;
    internal PackedLayer? PackedSlot(int slot) => _slots[slot];
    internal RnnKernel KernelImplementation => _kernel;

    /// <summary>Builds a model from layer weights (each layer's input size must equal the previous layer's output width).</summary>
    /// <param name="layers">At least one layer.</param>
    /// <param name="head">Optional head; its input size must equal the last layer's output width.</param>
    /// <param name="kernel">Kernel name (see <see cref="RnnKernels.Available"/>); null for the default.</param>
    /// <param name="options">Reverse layers, residual, initial state; null for none.</param>
    /// <exception cref="ArgumentException">No layers, mismatched sizes, bad options, or an unknown/unsupported kernel.</exception>
    public static RnnModel Create(IEnumerable<LayerWeights> layers, HeadWeights? head = null, string? kernel = null, RnnModelOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(layers);
        return new RnnModel([.. layers], head, kernel is null ? KernelRegistry.Default : KernelRegistry.Get(kernel), options ?? new RnnModelOptions());
    }

    private static void Validate(LayerWeights[] layers, HeadWeights? head, RnnModelOptions options)
    {
        if (layers.Length == 0)
        {
            throw new ArgumentException("A model needs at least one recurrent layer.", nameof(layers));
        }
        IReadOnlyList<LayerWeights>? reverse = options.ReverseLayers;
        if (reverse is not null && reverse.Count != layers.Length)
        {
            throw new ArgumentException($"Expected {layers.Length} reverse layers (one per layer), got {reverse.Count}.", nameof(options));
        }
        int directions = reverse is null ? 1 : 2;
        for (int l = 0; l < layers.Length; l++)
        {
            ArgumentNullException.ThrowIfNull(layers[l], nameof(layers));
            int expectedInputs = l == 0 ? layers[0].InputSize : directions * layers[l - 1].HiddenSize;
            if (layers[l].InputSize != expectedInputs)
            {
                throw new ArgumentException(
                    $"Layer {l} takes {layers[l].InputSize} inputs but layer {l - 1} produces {expectedInputs}.", nameof(layers));
            }
            if (reverse is not null)
            {
                LayerWeights r = reverse[l] ?? throw new ArgumentException($"Reverse layer {l} is null.", nameof(options));
                if (r.Cell != layers[l].Cell || r.HiddenSize != layers[l].HiddenSize || r.InputSize != expectedInputs || r.Nonlinearity != layers[l].Nonlinearity)
                {
                    throw new ArgumentException(
                        $"Reverse layer {l} must match layer {l}: {layers[l].Cell} with {expectedInputs} inputs and {layers[l].HiddenSize} hidden units.", nameof(options));
                }
            }
        }
        int lastWidth = directions * layers[^1].HiddenSize;
        if (head is not null && head.InputSize != lastWidth)
        {
            throw new ArgumentException($"The head takes {head.InputSize} inputs but the last layer produces {lastWidth}.", nameof(head));
        }
        int outputs = head?.OutputSize ?? lastWidth;
        if (options.Skip < 0 || options.Skip > Math.Min(layers[0].InputSize, outputs))
        {
            throw new ArgumentException(
                $"Skip must be between 0 and min(input size {layers[0].InputSize}, output size {outputs}), got {options.Skip}.", nameof(options));
        }
        ValidateInitial(options.InitialHidden, layers, cellOnly: false);
        ValidateInitial(options.InitialCell, layers, cellOnly: true);
    }

    private static void ValidateInitial(IReadOnlyList<float[]?>? initial, LayerWeights[] layers, bool cellOnly)
    {
        if (initial is null)
        {
            return;
        }
        string what = cellOnly ? "InitialCell" : "InitialHidden";
        if (initial.Count != layers.Length)
        {
            throw new ArgumentException($"{what}: expected {layers.Length} entries (one per layer), got {initial.Count}.", "options");
        }
        for (int l = 0; l < layers.Length; l++)
        {
            if (initial[l] is not { } values)
            {
                continue;
            }
            if (cellOnly && layers[l].Cell != CellType.Lstm)
            {
                throw new ArgumentException($"{what}[{l}]: layer {l} is a {layers[l].Cell} layer and has no cell state.", "options");
            }
            Guard.Length(values.Length, layers[l].HiddenSize, $"{what}[{l}], hidden size of layer {l}", "options");
            Guard.Finite(values, $"{what}[{l}]", "options");
        }
    }

    private static int RoundUp(int value, int multiple) => (value + multiple - 1) / multiple * multiple;

    /// <summary>A seeded LSTM stack with PyTorch's default initialisation.</summary>
    /// <param name="inputSize">I.</param>
    /// <param name="hiddenSize">H of every layer.</param>
    /// <param name="layers">Number of stacked layers.</param>
    /// <param name="outputSize">O of a dense head; 0 for no head.</param>
    /// <param name="headActivation">g of the head.</param>
    /// <param name="seed">Seed of the weights.</param>
    /// <param name="kernel">Kernel name; null for the default.</param>
    public static RnnModel CreateLstm(int inputSize, int hiddenSize, int layers = 1, int outputSize = 0,
        Activation headActivation = Activation.Identity, int seed = 0, string? kernel = null) =>
        CreateRandom(CellType.Lstm, Activation.Tanh, inputSize, hiddenSize, layers, outputSize, headActivation, seed, kernel);

    /// <summary>A seeded GRU stack with PyTorch's default initialisation.</summary>
    /// <param name="inputSize">I.</param>
    /// <param name="hiddenSize">H of every layer.</param>
    /// <param name="layers">Number of stacked layers.</param>
    /// <param name="outputSize">O of a dense head; 0 for no head.</param>
    /// <param name="headActivation">g of the head.</param>
    /// <param name="seed">Seed of the weights.</param>
    /// <param name="kernel">Kernel name; null for the default.</param>
    public static RnnModel CreateGru(int inputSize, int hiddenSize, int layers = 1, int outputSize = 0,
        Activation headActivation = Activation.Identity, int seed = 0, string? kernel = null) =>
        CreateRandom(CellType.Gru, Activation.Tanh, inputSize, hiddenSize, layers, outputSize, headActivation, seed, kernel);

    /// <summary>A seeded Elman RNN stack with PyTorch's default initialisation.</summary>
    /// <param name="inputSize">I.</param>
    /// <param name="hiddenSize">H of every layer.</param>
    /// <param name="nonlinearity">f: tanh, ReLU or sigmoid.</param>
    /// <param name="layers">Number of stacked layers.</param>
    /// <param name="outputSize">O of a dense head; 0 for no head.</param>
    /// <param name="headActivation">g of the head.</param>
    /// <param name="seed">Seed of the weights.</param>
    /// <param name="kernel">Kernel name; null for the default.</param>
    public static RnnModel CreateElman(int inputSize, int hiddenSize, Activation nonlinearity = Activation.Tanh, int layers = 1,
        int outputSize = 0, Activation headActivation = Activation.Identity, int seed = 0, string? kernel = null) =>
        CreateRandom(CellType.Elman, nonlinearity, inputSize, hiddenSize, layers, outputSize, headActivation, seed, kernel);

    private static RnnModel CreateRandom(CellType cell, Activation nonlinearity, int inputSize, int hiddenSize, int layers,
        int outputSize, Activation headActivation, int seed, string? kernel)
    {
        Guard.Positive(layers, nameof(layers));
        Guard.NonNegative(outputSize, nameof(outputSize));
        var random = new Random(seed);
        var list = new LayerWeights[layers];
        for (int l = 0; l < layers; l++)
        {
            list[l] = LayerWeights.Random(cell, l == 0 ? inputSize : hiddenSize, hiddenSize, random, nonlinearity);
        }
        HeadWeights? head = outputSize > 0 ? HeadWeights.Random(hiddenSize, outputSize, random, headActivation) : null;
        return Create(list, head, kernel);
    }

    /// <summary>The same weights and options on another kernel (for comparing kernels).</summary>
    /// <exception cref="ArgumentException">Unknown or unsupported kernel.</exception>
    public RnnModel WithKernel(string kernel) => new([.. Layers], Head, KernelRegistry.Get(kernel), Options);

    /// <summary>A state for <paramref name="batch"/> independent streams, at the model's initial state.</summary>
    public RnnState CreateState(int batch = 1)
    {
        Guard.Positive(batch, nameof(batch));
        return new RnnState(this, batch);
    }

    /// <summary>
    /// One time step for every stream of <paramref name="state"/>: reads x(t), updates the state in place,
    /// writes y(t). Allocates nothing.
    /// </summary>
    /// <param name="input"><c>[B, I]</c> (B = state.Batch; for one stream just <c>[I]</c>).</param>
    /// <param name="state">This model's state; updated.</param>
    /// <param name="output"><c>[B, O]</c>.</param>
    /// <exception cref="ArgumentException">Wrong lengths or a state of another model; nothing is changed.</exception>
    /// <exception cref="InvalidOperationException">The model is bidirectional (it needs the whole sequence).</exception>
    public void Step(ReadOnlySpan<float> input, RnnState state, Span<float> output)
    {
        CheckState(state);
        if (IsBidirectional)
        {
            throw new InvalidOperationException("A bidirectional model needs the whole sequence: use Run.");
        }
        int batch = state.Batch;
        Guard.Length(input.Length, batch * InputSize, $"input [batch {batch}, input size {InputSize}]", nameof(input));
        Guard.Length(output.Length, batch * OutputSize, $"output [batch {batch}, output size {OutputSize}]", nameof(output));

        for (int b = 0; b < batch; b++)
        {
            ReadOnlySpan<float> x = input.Slice(b * InputSize, InputSize);
            for (int l = 0; l < _layers.Length; l++)
            {
                PackedLayer layer = _layers[l];
                int stride = layer.PaddedHidden;
                int slot = 2 * l;
                Span<float> hNext = state.SpareBuffer(slot).AsSpan(b * stride, stride);
                StepCell(layer, layer.Bias, layer.Wx, x, state.HiddenBuffer(slot).AsSpan(b * stride, stride),
                    CellRow(state.CellBuffer(slot), b, stride), hNext);
                x = hNext[..layer.HiddenSize];
            }
        }
        state.SwapHidden();

        PackedLayer last = _layers[^1];
        float[] h = state.HiddenBuffer(2 * (_layers.Length - 1));
        for (int b = 0; b < batch; b++)
        {
            WriteOutput(h.AsSpan(b * last.PaddedHidden, last.PaddedHidden), input.Slice(b * InputSize, InputSize),
                output.Slice(b * OutputSize, OutputSize));
        }
    }

    private static Span<float> CellRow(float[]? cell, int stream, int stride) =>
        cell is null ? default : cell.AsSpan(stream * stride, stride);

    // One step of one stream through one cell. hPrev is the padded state row; c is empty unless LSTM.
    private void StepCell(PackedLayer layer, ReadOnlySpan<float> init, ReadOnlySpan<float> wx, ReadOnlySpan<float> x,
        ReadOnlySpan<float> hPrev, Span<float> c, Span<float> hNext)
    {
        switch (layer.Cell)
        {
            case CellType.Lstm:
                _kernel.LstmStep(init, wx, x, layer.Wh, hPrev[..layer.HiddenSize], c, hNext);
                break;
            case CellType.Gru:
                _kernel.GruStep(init, layer.BiasHn, wx, x, layer.Wh, hPrev, layer.HiddenSize, hNext);
                break;
            default:
                _kernel.ElmanStep(layer.Nonlinearity, init, wx, x, layer.Wh, hPrev[..layer.HiddenSize], hNext);
                break;
        }
    }

    // y = head(h) or h itself, then the input residual. h is a padded row (zeros or finite values past the width).
    private void WriteOutput(ReadOnlySpan<float> h, ReadOnlySpan<float> x, Span<float> y)
    {
        if (_head is null)
        {
            h[..OutputSize].CopyTo(y);
        }
        else
        {
            _kernel.Dense(_head.Source.Activation, _head.Weight, _head.Bias, h, y);
        }
        for (int j = 0; j < Options.Skip; j++)
        {
            y[j] += x[j];
        }
    }

    /// <summary>
    /// Runs <paramref name="steps"/> time steps for every stream of <paramref name="state"/>: the state
    /// holds the initial h (and c) on entry and the final ones on return. Layout is time-major,
    /// <c>[T, B, I]</c> in and <c>[T, B, O]</c> out (PyTorch's <c>batch_first=False</c>).
    /// </summary>
    /// <remarks>
    /// Each chunk of up to 256 rows (steps × streams) first computes <c>W_ih x + b</c> for all its rows
    /// as one blocked matrix product, so the input weights are read once per chunk rather than once
    /// per step; the recurrence then adds only <c>W_hh h</c>. A bidirectional model runs the whole
    /// sequence as one chunk (the reverse direction starts at the end). Scratch comes from
    /// <see cref="ArrayPool{T}"/>: no allocation once warm. For a bidirectional model the reverse
    /// direction's final state is its state after step 0, as PyTorch's <c>h_n</c>.
    /// </remarks>
    /// <param name="inputs"><c>[T, B, I]</c>.</param>
    /// <param name="steps">T, at least 0.</param>
    /// <param name="state">This model's state; initial state in, final state out.</param>
    /// <param name="outputs"><c>[T, B, O]</c>.</param>
    /// <exception cref="ArgumentException">Wrong lengths or a state of another model; nothing is changed.</exception>
    public void Run(ReadOnlySpan<float> inputs, int steps, RnnState state, Span<float> outputs)
    {
        CheckState(state);
        Guard.NonNegative(steps, nameof(steps));
        int batch = state.Batch;
        Guard.Length(inputs.Length, steps * batch * InputSize, $"inputs [steps {steps}, batch {batch}, input size {InputSize}]", nameof(inputs));
        Guard.Length(outputs.Length, steps * batch * OutputSize, $"outputs [steps {steps}, batch {batch}, output size {OutputSize}]", nameof(outputs));
        if (steps == 0)
        {
            return;
        }

        int chunkSteps = IsBidirectional ? steps : Math.Clamp(ChunkRows / batch, 1, steps);
        int maxRows = chunkSteps * batch;
        ArrayPool<float> pool = ArrayPool<float>.Shared;
        float[] gatesForward = pool.Rent(maxRows * _maxGateWidth);
        float[] gatesReverse = IsBidirectional ? pool.Rent(maxRows * _maxGateWidth) : [];
        float[] source = pool.Rent(maxRows * _maxRowWidth);
        float[] forward = pool.Rent(maxRows * _maxRowWidth);
        float[] reverse = IsBidirectional ? pool.Rent(maxRows * _maxRowWidth) : [];
        try
        {
            for (int t0 = 0; t0 < steps; t0 += chunkSteps)
            {
                int chunk = Math.Min(chunkSteps, steps - t0);
                int rows = chunk * batch;
                ReadOnlySpan<float> chunkInputs = inputs.Slice(t0 * batch * InputSize, rows * InputSize);
                ReadOnlySpan<float> x = chunkInputs;
                int width = InputSize, stride = InputSize;
                for (int l = 0; l < _layers.Length; l++)
                {
                    PackedLayer layer = _layers[l];
                    PackedLayer? back = _slots[2 * l + 1];
                    _kernel.ProjectInputs(x, rows, width, stride, layer.Wx, layer.Bias, layer.Gates, gatesForward);
                    if (back is not null)
                    {
                        _kernel.ProjectInputs(x, rows, width, stride, back.Wx, back.Bias, back.Gates, gatesReverse);
                    }
                    Recur(layer, 2 * l, gatesForward, chunk, state, forward, reverseTime: false);
                    if (back is null)
                    {
                        // This layer's output becomes the next layer's input; the next layer writes into the other buffer.
                        (source, forward) = (forward, source);
                        x = source.AsSpan(0, rows * layer.PaddedHidden);
                        width = layer.HiddenSize;
                        stride = layer.PaddedHidden;
                        continue;
                    }
                    Recur(back, 2 * l + 1, gatesReverse, chunk, state, reverse, reverseTime: true);
                    // [h_forward(t), h_reverse(t)] per row, zero-padded to whole vectors for the next product or the head.
                    int h = layer.HiddenSize;
                    stride = _outputStride[l];
                    Span<float> joined = source.AsSpan(0, rows * stride);
                    joined.Clear();
                    for (int r = 0; r < rows; r++)
                    {
                        forward.AsSpan(r * layer.PaddedHidden, h).CopyTo(joined.Slice(r * stride));
                        reverse.AsSpan(r * back.PaddedHidden, h).CopyTo(joined.Slice(r * stride + h));
                    }
                    x = joined;
                    width = 2 * h;
                }
                Span<float> chunkOutputs = outputs.Slice(t0 * batch * OutputSize, rows * OutputSize);
                for (int r = 0; r < rows; r++)
                {
                    WriteOutput(x.Slice(r * stride, stride), chunkInputs.Slice(r * InputSize, InputSize), chunkOutputs.Slice(r * OutputSize, OutputSize));
                }
            }
        }
        finally
        {
            pool.Return(gatesForward);
            pool.Return(source);
            pool.Return(forward);
            if (IsBidirectional)
            {
                pool.Return(gatesReverse);
                pool.Return(reverse);
            }
        }
    }

    // The recurrence of one direction of one layer over a chunk whose input projections are in
    // gateBuffer; writes h of every row into output [rows, Hp] and leaves the last h in the state.
    private void Recur(PackedLayer layer, int slot, float[] gateBuffer, int chunk, RnnState state, float[] output, bool reverseTime)
    {
        int batch = state.Batch;
        int stride = layer.PaddedHidden;
        int gateWidth = layer.GateWidth;
        float[] hidden = state.HiddenBuffer(slot);
        float[]? cell = state.CellBuffer(slot);
        for (int i = 0; i < chunk; i++)
        {
            int t = reverseTime ? chunk - 1 - i : i;
            int previous = reverseTime ? t + 1 : t - 1;
            ReadOnlySpan<float> HPrev(int b) => i == 0
                ? hidden.AsSpan(b * stride, layer.HiddenSize)
                : output.AsSpan((previous * batch + b) * stride, layer.HiddenSize);
            int b = 0;
            if (layer.Cell == CellType.Lstm)
            {
                // Streams in pairs share each load of W_hh (see LstmStepPair).
                for (; b + 1 < batch; b += 2)
                {
                    int row = t * batch + b;
                    _kernel.LstmStepPair(gateBuffer.AsSpan(row * gateWidth, gateWidth), gateBuffer.AsSpan((row + 1) * gateWidth, gateWidth),
                        layer.Wh, HPrev(b), HPrev(b + 1), CellRow(cell, b, stride), CellRow(cell, b + 1, stride),
                        output.AsSpan(row * stride, stride), output.AsSpan((row + 1) * stride, stride), default, default);
                }
            }
            for (; b < batch; b++)
            {
                int row = t * batch + b;
                ReadOnlySpan<float> hPrev = i == 0
                    ? hidden.AsSpan(b * stride, stride)
                    : output.AsSpan((previous * batch + b) * stride, stride);
                StepCell(layer, gateBuffer.AsSpan(row * gateWidth, gateWidth), default, default, hPrev,
                    CellRow(cell, b, stride), output.AsSpan(row * stride, stride));
            }
        }
        int lastT = reverseTime ? 0 : chunk - 1;
        output.AsSpan(lastT * batch * stride, batch * stride).CopyTo(hidden);
    }

    private void CheckState(RnnState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Model != this)
        {
            throw new ArgumentException("This state was created by a different model; create one with this model's CreateState.", nameof(state));
        }
    }
}
