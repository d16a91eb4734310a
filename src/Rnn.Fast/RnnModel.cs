using System.Runtime.CompilerServices;

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
/// <para><see cref="Step"/> and <see cref="Run(ReadOnlySpan{float}, int, RnnState, Span{float})"/> of a unidirectional
/// model allocate nothing, from their first call on any thread: their scratch belongs to the state.</para>
/// </remarks>
public sealed partial class RnnModel
{
    private readonly Network _network;
    private readonly RnnModelOptions _options;   // a deep copy: callers cannot change a model after creation
    private readonly LayerWeights[]? _layers;    // float32 models: the weights as given
    private readonly HeadWeights? _head;
    private readonly Lazy<Dequantized>? _dequantized; // reduced models: made from the packed values on first use only

    // A reduced model's public weights, made from its packed matrices: what its products use.
    private sealed record Dequantized(LayerWeights[] Layers, HeadWeights? Head, LayerWeights[]? Reverse);

    private RnnModel(LayerWeights[] layers, HeadWeights? head, RnnKernel kernel, RnnModelOptions options,
        WeightPrecision precision = WeightPrecision.Float32, Int8Weights? int8 = null, bool? reducedProducts = null)
    {
        ModelValidation.Validate(layers, head, options);
        var copy = Copy(options);
        _network = new Network(layers, copy.ReverseLayers, head, copy.Skip, kernel, trainable: false, precision, int8, reducedProducts);
        if (precision == WeightPrecision.Float32)
        {
            _options = copy;
            _layers = layers;
            _head = head;
        }
        else
        {
            // The model keeps its bf16/int8 matrices (a quarter or half of float32's memory; layers small enough to run
            // as float32 keep float32 copies too, see ReducedExecution); the public float32 views (Layers, Head, reverse
            // layers) are dequantized on demand, so a float32 model or the reference built from them computes the same model.
            _options = new RnnModelOptions { Skip = copy.Skip, InitialHidden = copy.InitialHidden, InitialCell = copy.InitialCell };
            Network network = _network;
            _dequantized = new Lazy<Dequantized>(() => new Dequantized(
                [.. network.Layers.Select(l => l.ToWeights())], network.Head?.ToWeights(),
                network.Reverse?.Select(l => l.ToWeights()).ToArray()));
        }
    }

    /// <summary>
    /// How the weight matrices are stored (<see cref="WithPrecision(WeightPrecision)"/>). For bf16 and int8 models, <see cref="Layers"/>,
    /// <see cref="Head"/> and the reverse layers (<see cref="Options"/>) hold the dequantized values the products use, made on
    /// first access and kept from then on (float32 memory; <see cref="ParameterCount"/> and the other properties do not need them).
    /// </summary>
    public WeightPrecision Precision => _network.Precision;

    /// <summary>The recurrent layers, first to last (forward direction).</summary>
    public IReadOnlyList<LayerWeights> Layers => _layers ?? _dequantized!.Value.Layers;

    /// <summary>The dense head, or null when the output is the last layer's h.</summary>
    public HeadWeights? Head => _dequantized is null || _network.Head is null ? _head : _dequantized.Value.Head; // no head: nothing to dequantize

    /// <summary>Reverse layers, residual and initial state, as given at creation (a copy: changing it changes nothing).</summary>
    public RnnModelOptions Options => _dequantized is null ? Copy(_options) : new RnnModelOptions
    {
        // A copy, like a float32 model's (the model's own list stays as it is); a unidirectional model has nothing to dequantize.
        ReverseLayers = IsBidirectional ? _dequantized.Value.Reverse!.ToArray() : null,
        Skip = _options.Skip,
        InitialHidden = _options.InitialHidden is { } h ? [.. h.Select(a => a?.ToArray())] : null,
        InitialCell = _options.InitialCell is { } c ? [.. c.Select(a => a?.ToArray())] : null,
    };

    /// <summary>True when every layer also runs in reverse time (sequence API only).</summary>
    public bool IsBidirectional => _network.IsBidirectional;

    /// <summary>Features per input step (I of the first layer).</summary>
    public int InputSize => _network.InputSize;

    /// <summary>Values per output step: the head's O, else the last layer's H (2H when bidirectional).</summary>
    public int OutputSize => _network.OutputSize;

    /// <summary>Name of the kernel this model runs on (see <see cref="RnnKernels"/>).</summary>
    public string Kernel => _network.Kernel.Name;

    /// <summary>Total number of weights and biases.</summary>
    /// <remarks>Counted from the shapes, as <see cref="LayerWeights.ParameterCount"/> counts them: a reduced model is not
    /// dequantized for it (see <see cref="Layers"/>).</remarks>
    public long ParameterCount =>
        _network.Layers.Concat(_network.Reverse ?? []).Sum(l =>
            (long)l.Gates * l.HiddenSize * (l.InputSize + l.HiddenSize + (l.HasBiasIh ? 1 : 0) + (l.HasBiasHh ? 1 : 0)))
        + (_network.Head is { } head ? (long)head.OutputSize * head.InputSize + (head.HasBias ? head.OutputSize : 0) : 0);

    internal Network Network => _network;
    internal RnnKernel KernelImplementation => _network.Kernel;

    /// <summary>Initial h of layer <paramref name="layer"/> (forward direction); empty for zeros.</summary>
    internal ReadOnlySpan<float> InitialHidden(int layer) => _options.InitialHidden?[layer];

    /// <summary>Initial c of LSTM layer <paramref name="layer"/>; empty for zeros.</summary>
    internal ReadOnlySpan<float> InitialCell(int layer) => _options.InitialCell?[layer];

    /// <summary>Builds a model from layer weights (each layer's input size must equal the previous layer's output width).</summary>
    /// <param name="layers">At least one layer.</param>
    /// <param name="head">Optional head; its input size must equal the last layer's output width.</param>
    /// <param name="kernel">Kernel name (see <see cref="RnnKernels.Available"/>); null for the default, or for layers of at most
    /// 8 units a narrower default layout when one is available and <c>RNNFAST_KERNEL</c> is not set (see <see cref="Kernel"/>).</param>
    /// <param name="options">Reverse layers, residual, initial state; null for none. Copied: later changes to it do not reach the model.</param>
    /// <exception cref="ArgumentException">No layers, mismatched sizes, bad options, or an unknown/unsupported kernel.</exception>
    public static RnnModel Create(IEnumerable<LayerWeights> layers, HeadWeights? head = null, string? kernel = null, RnnModelOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(layers);
        LayerWeights[] list = [.. layers];
        return new RnnModel(list, head, kernel is null ? KernelRegistry.DefaultFor(list, options?.ReverseLayers) : KernelRegistry.Get(kernel),
            options ?? new RnnModelOptions());
    }

    /// <summary>The same weights and options on another kernel (for comparing kernels).</summary>
    /// <exception cref="ArgumentException">Unknown or unsupported kernel.</exception>
    public RnnModel WithKernel(string kernel) =>
        new([.. Layers], Head, KernelRegistry.Get(kernel), Options, Precision, _network.Int8Source(), _network.ReducedProductsForced);

    /// <summary>
    /// The same model with its weight matrices (every recurrent layer and the head) stored in <paramref name="precision"/>;
    /// biases, state and activations stay float32. See <see cref="WeightPrecision"/> and <see cref="WeightQuantization"/>
    /// for the exact schemes. Quantizing is done once, from this model's values: asking a bf16 or int8 model for
    /// float32 gives the dequantized model, not the original weights.
    /// </summary>
    /// <remarks>
    /// Reduced precision pays where a step streams its weights from L2 or further (roughly H ≥ 128): it reads half
    /// (bf16) or a quarter (int8) of the bytes. Below that the float32 model is usually as fast or faster (its latency
    /// kernels fuse the whole step), so float32 stays the default, and within a reduced model a layer or head under
    /// 128 KB (int8) or 256 KB (bf16) as float32 runs on the float32 kernels with its dequantized values (<see cref="ReducedProducts.Auto"/>).
    /// Reduced models run inference only (<c>Step</c>, <c>Run</c>); train in float32 (<c>TrainableModel.From</c> of a
    /// reduced model starts from its dequantized weights).
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException">An undefined <paramref name="precision"/>.</exception>
    /// <exception cref="ArgumentException">A weight <paramref name="precision"/> cannot hold (named by <see cref="ArgumentException.ParamName"/>
    /// <c>precision</c>): bf16 of a weight that rounds up to infinity (above 3.3895e38), or int8 of one so close to
    /// <see cref="float.MaxValue"/> that 127 × its row scale overflows.</exception>
    public RnnModel WithPrecision(WeightPrecision precision) => WithPrecision(precision, ReducedProducts.Auto);

    /// <summary>
    /// <see cref="WithPrecision(WeightPrecision)"/>, choosing where the bf16/int8 products run: by size
    /// (<see cref="ReducedProducts.Auto"/>, the default), for every matrix (<see cref="ReducedProducts.Always"/>: to verify
    /// or time the reduced kernels on small models), or never (<see cref="ReducedProducts.Never"/>).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">An undefined <paramref name="precision"/> or <paramref name="products"/>.</exception>
    /// <exception cref="ArgumentException">A weight that bf16 or int8 cannot represent (see <see cref="WithPrecision(WeightPrecision)"/>).</exception>
    public RnnModel WithPrecision(WeightPrecision precision, ReducedProducts products)
    {
        if (!Enum.IsDefined(precision))
        {
            throw new ArgumentOutOfRangeException(nameof(precision), precision, "Expected Float32, BFloat16 or Int8.");
        }
        if (!Enum.IsDefined(products))
        {
            throw new ArgumentOutOfRangeException(nameof(products), products, "Expected Auto, Always or Never.");
        }
        bool? reducedProducts = products switch { ReducedProducts.Always => true, ReducedProducts.Never => false, _ => null };
        if (precision == Precision && reducedProducts == _network.ReducedProductsForced)
        {
            return this;
        }
        // From a reduced model, start again from its dequantized values (the only float32 values it has); int8 keeps its
        // exact values (requantizing q·s could move a scale by an ulp).
        Int8Weights? int8 = precision == WeightPrecision.Int8 ? _network.Int8Source() : null;
        return new RnnModel([.. Layers], Head, _network.Kernel, Options, precision, int8, reducedProducts);
    }

    private static RnnModelOptions Copy(RnnModelOptions options) => new()
    {
        ReverseLayers = options.ReverseLayers is { } reverse ? [.. reverse] : null,
        Skip = options.Skip,
        InitialHidden = options.InitialHidden is { } h ? [.. h.Select(FlushedCopy)] : null,
        InitialCell = options.InitialCell is { } c ? [.. c.Select(FlushedCopy)] : null,
    };

    // An initial state is state: values below 2^-63 are kept as zero, as every step stores them (TinyInputs), so a
    // state reset from them does not make the next step read subnormals.
    private static float[]? FlushedCopy(float[]? values)
    {
        if (values is null)
        {
            return null;
        }
        float[] copy = [.. values];
        TinyInputs.Copy(copy, copy);
        return copy;
    }

    /// <summary>
    /// A state for <paramref name="batch"/> independent streams, at the model's initial state. It holds h and c of every
    /// layer and the scratch that <see cref="Step"/> and <see cref="Run(ReadOnlySpan{float}, int, RnnState, Span{float})"/>
    /// need (64 to 256 rows of gate pre-activations and layer outputs: about 256 KB, under a MB for large models), so
    /// neither allocates.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batch"/> is less than 1, or so large that the state would not fit in memory arrays.</exception>
    public RnnState CreateState(int batch = 1)
    {
        Guard.Positive(batch, nameof(batch));
        long widest = Math.Max(Math.Max(InputSize, OutputSize), 2L * _network.MaxRowWidth);
        if (batch * widest > Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(batch), batch,
                $"A state of {batch} streams would need {batch * widest} floats per buffer, more than an array can hold.");
        }
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
    /// <exception cref="InvalidOperationException">The model is bidirectional (it needs the whole sequence), or another
    /// thread is stepping the same state (see <see cref="RnnState"/>).</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimised from the first call: no tier-0 code on an audio thread
    public void Step(ReadOnlySpan<float> input, RnnState state, Span<float> output)
    {
        CheckState(state);
        if (_network.IsBidirectional)
        {
            ThrowHelper.StepOnBidirectional();
        }
        int batch = state.Batch;
        if (input.Length != batch * InputSize)
        {
            ThrowHelper.WrongLength(nameof(input), (long)batch * InputSize, input.Length, "batch", batch, "input size", InputSize);
        }
        if (output.Length != batch * OutputSize)
        {
            ThrowHelper.WrongLength(nameof(output), (long)batch * OutputSize, output.Length, "batch", batch, "output size", OutputSize);
        }
        state.Enter();
        try
        {
            _network.Step(input, state, output);
        }
        finally
        {
            state.Exit();
        }
    }

    /// <summary>
    /// Runs <paramref name="steps"/> time steps for every stream of <paramref name="state"/>: the state
    /// holds the initial h (and c) on entry and the final ones on return. Layout is time-major,
    /// <c>[T, B, I]</c> in and <c>[T, B, O]</c> out (PyTorch's <c>batch_first=False</c>).
    /// </summary>
    /// <remarks>
    /// The sequence runs in chunks of 64 to 256 rows (steps × streams): per chunk and layer, <c>W_ih x + b</c> of
    /// all rows is one blocked matrix product, then the recurrence adds only <c>W_hh h</c>, all streams of a step
    /// together. A unidirectional run allocates nothing (the scratch is the state's). A bidirectional run keeps each
    /// layer's whole output, <c>2 × T·B·2H</c> floats (2H rounded up to whole vectors), allocated for the
    /// call (and, if an input is below 2^-63, a copy of the inputs with those read as zero); its reverse direction's final
    /// state is its state after
    /// step 0, as PyTorch's <c>h_n</c>.
    /// </remarks>
    /// <param name="inputs"><c>[T, B, I]</c>.</param>
    /// <param name="steps">T, at least 0.</param>
    /// <param name="state">This model's state; initial state in, final state out.</param>
    /// <param name="outputs"><c>[T, B, O]</c>.</param>
    /// <exception cref="ArgumentException">Wrong lengths or a state of another model; nothing is changed.</exception>
    public void Run(ReadOnlySpan<float> inputs, int steps, RnnState state, Span<float> outputs) =>
        Run(inputs, steps, state, outputs, SequenceLayout.TimeMajor);

    /// <summary>
    /// <see cref="Run(ReadOnlySpan{float}, int, RnnState, Span{float})"/> with the layout of inputs and outputs
    /// given: <see cref="SequenceLayout.BatchFirst"/> reads <c>[B, T, I]</c> and writes <c>[B, T, O]</c>
    /// (PyTorch's <c>batch_first=True</c>); chunks are gathered into the state's scratch, with no other copy.
    /// </summary>
    /// <exception cref="ArgumentException">Wrong lengths, an unknown layout or a state of another model; nothing is changed.</exception>
    public void Run(ReadOnlySpan<float> inputs, int steps, RnnState state, Span<float> outputs, SequenceLayout layout)
    {
        CheckState(state);
        if (steps < 0)
        {
            ThrowHelper.Negative(nameof(steps), steps);
        }
        if (layout is not (SequenceLayout.TimeMajor or SequenceLayout.BatchFirst))
        {
            throw new ArgumentOutOfRangeException(nameof(layout), layout, "Unknown sequence layout.");
        }
        int batch = state.Batch;
        bool batchFirst = layout == SequenceLayout.BatchFirst;
        // In long: steps × batch × width may exceed int, and then no span can match.
        long inputLength = (long)steps * batch * InputSize, outputLength = (long)steps * batch * OutputSize;
        if (inputs.Length != inputLength)
        {
            ThrowSequenceLength(nameof(inputs), inputLength, inputs.Length, steps, batch, "input size", InputSize, batchFirst);
        }
        if (outputs.Length != outputLength)
        {
            ThrowSequenceLength(nameof(outputs), outputLength, outputs.Length, steps, batch, "output size", OutputSize, batchFirst);
        }
        if (steps == 0)
        {
            return;
        }
        state.Enter();
        try
        {
            _network.Run(inputs, steps, state, outputs, batchFirst);
        }
        finally
        {
            state.Exit();
        }
    }

    private static void ThrowSequenceLength(string paramName, long expected, int actual, int steps, int batch, string width, int size, bool batchFirst)
    {
        if (batchFirst)
        {
            ThrowHelper.WrongLength(paramName, expected, actual, "batch", batch, "steps", steps, width, size);
        }
        ThrowHelper.WrongLength(paramName, expected, actual, "steps", steps, "batch", batch, width, size);
    }

    private void CheckState(RnnState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Model != this)
        {
            ThrowHelper.ForeignState(nameof(state));
        }
    }
}
