using System.Buffers;
using Rnn.Fast.Internals;

namespace Rnn.Fast;

/// <summary>
/// A stack of recurrent layers (Elman or LSTM, PyTorch semantics) with an optional dense head.
/// Immutable and thread-safe: share one model across threads, give each stream its own <see cref="RnnState"/>.
/// </summary>
/// <remarks>
/// <para>Elman layer: <c>h(t) = f(W_ih x(t) + b_ih + W_hh h(t-1) + b_hh)</c>.</para>
/// <para>LSTM layer (PyTorch <c>nn.LSTM</c>): <c>i = σ(.), f = σ(.), g = tanh(.), o = σ(.)</c> of
/// <c>W_ih x + b_ih + W_hh h + b_hh</c>; <c>c' = f⊙c + i⊙g</c>; <c>h' = o⊙tanh(c')</c>.</para>
/// <para>Layer k's h is layer k+1's input. Head: <c>y(t) = g(W h(t) + b)</c> on the last layer's h;
/// without a head the output is that h.</para>
/// <para><see cref="Step"/> and <see cref="Run"/> allocate nothing once warm.</para>
/// </remarks>
public sealed class RnnModel
{
    // Rows (time steps × streams) per chunk of a sequence: the input projection of a chunk is one
    // blocked matrix product, and the chunk's gate buffer stays cache-sized however long the sequence.
    private const int ChunkRows = 256;

    private readonly PackedLayer[] _layers;
    private readonly PackedHead? _head;
    private readonly RnnKernel _kernel;
    private readonly int _maxGateWidth;      // scratch sizes of Run, fixed at construction so Run
    private readonly int _maxPaddedHidden;   // computes them without allocating

    private RnnModel(LayerWeights[] layers, HeadWeights? head, RnnKernel kernel)
    {
        _kernel = kernel;
        _layers = [.. layers.Select(l => new PackedLayer(l, kernel.Lanes))];
        _head = head is null ? null : new PackedHead(head, _layers[^1].PaddedHidden);
        _maxGateWidth = _layers.Max(l => l.GateWidth);
        _maxPaddedHidden = _layers.Max(l => l.PaddedHidden);
        Layers = layers;
        Head = head;
        InputSize = layers[0].InputSize;
        OutputSize = head?.OutputSize ?? layers[^1].HiddenSize;
    }

    /// <summary>The recurrent layers, first to last.</summary>
    public IReadOnlyList<LayerWeights> Layers { get; }

    /// <summary>The dense head, or null when the output is the last layer's h.</summary>
    public HeadWeights? Head { get; }

    /// <summary>Features per input step (I of the first layer).</summary>
    public int InputSize { get; }

    /// <summary>Values per output step: the head's O, else the last layer's H.</summary>
    public int OutputSize { get; }

    /// <summary>Name of the kernel this model runs on (see <see cref="RnnKernels"/>).</summary>
    public string Kernel => _kernel.Name;

    /// <summary>Total number of weights and biases.</summary>
    public long ParameterCount =>
        Layers.Sum(l => l.ParameterCount) + (Head is null ? 0 : (long)Head.OutputSize * (Head.InputSize + 1));

    internal IReadOnlyList<PackedLayer> PackedLayers => _layers;
    internal RnnKernel KernelImplementation => _kernel;

    /// <summary>Builds a model from layer weights (each layer's input size must equal the previous hidden size).</summary>
    /// <param name="layers">At least one layer.</param>
    /// <param name="head">Optional head; its input size must equal the last hidden size.</param>
    /// <param name="kernel">Kernel name (see <see cref="RnnKernels.Available"/>); null for the default.</param>
    /// <exception cref="ArgumentException">No layers, mismatched sizes, or an unknown/unsupported kernel.</exception>
    public static RnnModel Create(IEnumerable<LayerWeights> layers, HeadWeights? head = null, string? kernel = null)
    {
        ArgumentNullException.ThrowIfNull(layers);
        LayerWeights[] list = [.. layers];
        if (list.Length == 0)
        {
            throw new ArgumentException("A model needs at least one recurrent layer.", nameof(layers));
        }
        for (int l = 0; l < list.Length; l++)
        {
            ArgumentNullException.ThrowIfNull(list[l], nameof(layers));
            if (l > 0 && list[l].InputSize != list[l - 1].HiddenSize)
            {
                throw new ArgumentException(
                    $"Layer {l} takes {list[l].InputSize} inputs but layer {l - 1} produces {list[l - 1].HiddenSize}.", nameof(layers));
            }
        }
        if (head is not null && head.InputSize != list[^1].HiddenSize)
        {
            throw new ArgumentException($"The head takes {head.InputSize} inputs but the last layer produces {list[^1].HiddenSize}.", nameof(head));
        }
        return new RnnModel(list, head, kernel is null ? KernelRegistry.Default : KernelRegistry.Get(kernel));
    }

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

    /// <summary>The same weights on another kernel (for comparing kernels).</summary>
    /// <exception cref="ArgumentException">Unknown or unsupported kernel.</exception>
    public RnnModel WithKernel(string kernel) => new([.. Layers], Head, KernelRegistry.Get(kernel));

    /// <summary>A zeroed state for <paramref name="batch"/> independent streams.</summary>
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
    public void Step(ReadOnlySpan<float> input, RnnState state, Span<float> output)
    {
        CheckState(state);
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
                ReadOnlySpan<float> hPrev = state.HiddenBuffer(l).AsSpan(b * stride, layer.HiddenSize);
                Span<float> hNext = state.SpareBuffer(l).AsSpan(b * stride, stride);
                if (layer.Cell == CellType.Lstm)
                {
                    _kernel.LstmStep(layer.Bias, layer.Wx, x, layer.Wh, hPrev, state.CellBuffer(l).AsSpan(b * stride, stride), hNext);
                }
                else
                {
                    _kernel.ElmanStep(layer.Nonlinearity, layer.Bias, layer.Wx, x, layer.Wh, hPrev, hNext);
                }
                x = hNext[..layer.HiddenSize];
            }
        }
        state.SwapHidden();
        WriteOutputs(state, output, batch);
    }

    /// <summary>
    /// Runs <paramref name="steps"/> time steps for every stream of <paramref name="state"/>: the state
    /// holds the initial h (and c) on entry and the final ones on return. Layout is time-major,
    /// <c>[T, B, I]</c> in and <c>[T, B, O]</c> out (PyTorch's <c>batch_first=False</c>).
    /// </summary>
    /// <remarks>
    /// Each chunk of up to 256 rows (steps × streams) first computes <c>W_ih x + b</c> for all its rows
    /// as one blocked matrix product, so the input weights are read once per chunk rather than once
    /// per step; the recurrence then adds only <c>W_hh h</c>. Scratch comes from <see cref="ArrayPool{T}"/>:
    /// no allocation once warm.
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

        int chunkSteps = Math.Clamp(ChunkRows / batch, 1, steps);
        int maxRows = chunkSteps * batch;
        float[] gates = ArrayPool<float>.Shared.Rent(maxRows * _maxGateWidth);
        float[] even = ArrayPool<float>.Shared.Rent(maxRows * _maxPaddedHidden);
        float[] odd = ArrayPool<float>.Shared.Rent(maxRows * _maxPaddedHidden);
        try
        {
            for (int t0 = 0; t0 < steps; t0 += chunkSteps)
            {
                int chunk = Math.Min(chunkSteps, steps - t0);
                int rows = chunk * batch;
                ReadOnlySpan<float> source = inputs.Slice(t0 * batch * InputSize, rows * InputSize);
                int sourceWidth = InputSize;
                int sourceStride = InputSize;
                for (int l = 0; l < _layers.Length; l++)
                {
                    PackedLayer layer = _layers[l];
                    Span<float> layerOut = (l % 2 == 0 ? even : odd).AsSpan(0, rows * layer.PaddedHidden);
                    RunLayerChunk(layer, l, source, sourceWidth, sourceStride, chunk, state, gates, layerOut);
                    source = layerOut;
                    sourceWidth = layer.HiddenSize;
                    sourceStride = layer.PaddedHidden;
                }
                Span<float> chunkOutputs = outputs.Slice(t0 * batch * OutputSize, rows * OutputSize);
                for (int r = 0; r < rows; r++)
                {
                    ReadOnlySpan<float> h = source.Slice(r * sourceStride, sourceStride);
                    Span<float> y = chunkOutputs.Slice(r * OutputSize, OutputSize);
                    if (_head is null)
                    {
                        h[..OutputSize].CopyTo(y);
                    }
                    else
                    {
                        _kernel.Dense(_head.Source.Activation, _head.Weight, _head.Bias, h, y);
                    }
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(gates);
            ArrayPool<float>.Shared.Return(even);
            ArrayPool<float>.Shared.Return(odd);
        }
    }

    private void RunLayerChunk(PackedLayer layer, int index, ReadOnlySpan<float> source, int sourceWidth, int sourceStride,
        int chunk, RnnState state, float[] gateBuffer, Span<float> layerOut /* [rows, Hp] */)
    {
        int batch = state.Batch;
        int rows = chunk * batch;
        int stride = layer.PaddedHidden;
        Span<float> gates = gateBuffer.AsSpan(0, rows * layer.GateWidth);
        _kernel.ProjectInputs(source, rows, sourceWidth, sourceStride, layer.Wx, layer.Bias, layer.Gates, gates);

        float[] hidden = state.HiddenBuffer(index);
        float[]? cell = state.CellBuffer(index);
        for (int t = 0; t < chunk; t++)
        {
            for (int b = 0; b < batch; b++)
            {
                int row = t * batch + b;
                ReadOnlySpan<float> hPrev = t == 0
                    ? hidden.AsSpan(b * stride, layer.HiddenSize)
                    : layerOut.Slice((row - batch) * stride, layer.HiddenSize);
                Span<float> hNext = layerOut.Slice(row * stride, stride);
                ReadOnlySpan<float> init = gates.Slice(row * layer.GateWidth, layer.GateWidth);
                if (layer.Cell == CellType.Lstm)
                {
                    _kernel.LstmStep(init, default, default, layer.Wh, hPrev, cell.AsSpan(b * stride, stride), hNext);
                }
                else
                {
                    _kernel.ElmanStep(layer.Nonlinearity, init, default, default, layer.Wh, hPrev, hNext);
                }
            }
        }
        layerOut.Slice((chunk - 1) * batch * stride, batch * stride).CopyTo(hidden);
    }

    private void WriteOutputs(RnnState state, Span<float> output, int batch)
    {
        PackedLayer last = _layers[^1];
        float[] h = state.HiddenBuffer(_layers.Length - 1);
        for (int b = 0; b < batch; b++)
        {
            Span<float> y = output.Slice(b * OutputSize, OutputSize);
            if (_head is null)
            {
                h.AsSpan(b * last.PaddedHidden, last.HiddenSize).CopyTo(y);
            }
            else
            {
                _kernel.Dense(_head.Source.Activation, _head.Weight, _head.Bias, h.AsSpan(b * last.PaddedHidden, last.PaddedHidden), y);
            }
        }
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
