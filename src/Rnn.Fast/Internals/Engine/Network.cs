using System.Runtime.CompilerServices;

namespace Rnn.Fast.Internals;

/// <summary>
/// The one engine: a stack of packed layers (and reverse layers), the head and the residual on one kernel, with the
/// forward paths every public entry point uses — <see cref="Step"/>, <see cref="Run"/> (Network.Sequences.cs) and
/// the training forward pass with its cache (<see cref="Forward"/>). Shapes are validated by the public API first.
/// </summary>
internal sealed partial class Network
{
    public Network(IReadOnlyList<LayerWeights> layers, IReadOnlyList<LayerWeights>? reverse, HeadWeights? head, int skip,
        RnnKernel kernel, bool trainable, WeightPrecision precision = WeightPrecision.Float32, Int8Weights? int8 = null,
        bool? reducedProducts = null)
    {
        int lanes = kernel.Lanes;
        Kernel = kernel;
        Precision = precision;
        Layers = [.. layers.Select((l, i) => new PackedLayer(l, lanes, trainable, precision, int8?.Ih[i], int8?.Hh[i], reducedProducts))];
        Reverse = reverse is null ? null
            : [.. reverse.Select((l, i) => new PackedLayer(l, lanes, trainable, precision, int8?.ReverseIh?[i], int8?.ReverseHh?[i], reducedProducts))];
        Skip = skip;
        InputSize = layers[0].InputSize;
        int lastWidth = (reverse is null ? 1 : 2) * layers[^1].HiddenSize;
        Head = head is null ? null : new PackedHead(head, RoundUp(lastWidth, lanes), trainable, precision, lanes, int8?.Head, reducedProducts);
        ReducedProductsForced = reducedProducts;
        OutputSize = head?.OutputSize ?? lastWidth;
        MaxGateWidth = Layers.Concat(Reverse ?? []).Max(l => l.GateWidth);
        UsesReducedProducts = Layers.Concat(Reverse ?? []).Any(l => l.UsesReducedProducts) || Head?.UsesReducedProducts == true;
        MaxRowWidth = Enumerable.Range(0, Layers.Length).Max(OutputStride);
    }

    public RnnKernel Kernel { get; }

    /// <summary>How the weight matrices of every layer and the head are stored.</summary>
    public WeightPrecision Precision { get; }

    /// <summary>Reduced products forced on or off for every reduced matrix (tests), or null for the size rule.</summary>
    public bool? ReducedProductsForced { get; }

    /// <summary>True when any layer or the head multiplies by reduced matrices (else everything runs as float32).</summary>
    public bool UsesReducedProducts { get; }
    public PackedLayer[] Layers { get; }       // forward direction of each layer
    public PackedLayer[]? Reverse { get; }     // reverse direction of each layer, or null
    public PackedHead? Head { get; }
    public int Skip { get; }
    public int InputSize { get; }
    public int OutputSize { get; }
    public int MaxGateWidth { get; }
    public int MaxRowWidth { get; }
    public bool IsBidirectional => Reverse is not null;

    /// <summary>Row stride of layer <paramref name="layer"/>'s output: Hp, or [h_forward, h_reverse] padded to whole vectors.</summary>
    public int OutputStride(int layer) =>
        Reverse is null ? Layers[layer].PaddedHidden : RoundUp(2 * Layers[layer].HiddenSize, Kernel.Lanes);

    private static int RoundUp(int value, int multiple) => (value + multiple - 1) / multiple * multiple;

    /// <summary>
    /// One time step of every stream of <paramref name="state"/> (unidirectional models). One stream, or a few streams
    /// of small layers, take the kernel's latency family: the whole step (every layer and the head) in one call. Other
    /// batches go through the recurrence as a one-step sequence (the multi-stream cells).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Step(
        ReadOnlySpan<float> input,  // [B, I]
        RnnState state,
        Span<float> output)         // [B, O]
    {
        int batch = state.Batch;
        input = TinyInputs.Flushed(input, state.Scratch.Inputs);
        if (Kernel.Latency is { } latency && !UsesReducedProducts)
        {
            if (batch == 1)
            {
                latency.Step(this, input, state, output);
                return;
            }
            if (batch <= LatencyCells.MaxStreams && MaxRowWidth <= LatencyCells.MaxStreamWidth)
            {
                latency.StepStreams(this, input, state, output);
                return;
            }
        }
        StepRecurrence(input, state, output);
    }

    private void StepRecurrence(ReadOnlySpan<float> input, RnnState state, Span<float> output)
    {
        int batch = state.Batch;
        ReadOnlySpan<float> x = input;
        int xStride = InputSize;
        for (int l = 0; l < Layers.Length; l++)
        {
            LayerState layerState = state.Forward(l);
            var buffers = LayerBuffers.FromState(layerState, state.Scratch, layerState.Spare);
            Recurrence.Run(Kernel, Layers[l], x, xStride, steps: 1, batch, reverseTime: false, ref buffers);
            layerState.SwapHidden();
            x = layerState.Hidden;
            xStride = layerState.Stride;
        }
        OutputStage.Write(Kernel, Head, Skip, x, xStride, input, InputSize, batch, output, state.Scratch.Reduced);
    }

    /// <summary>
    /// The training forward pass: every step of the whole sequence from the cache's initial state, keeping h, c and
    /// the gate activations of every step in <paramref name="cache"/>; outputs to <paramref name="outputs"/>.
    /// </summary>
    public void Forward(
        ReadOnlySpan<float> inputs, // [T, B, I]
        int steps,
        ForwardCache cache,
        Span<float> outputs)        // [T, B, O]
    {
        int batch = cache.Batch;
        ReadOnlySpan<float> x = inputs;
        int xStride = InputSize;
        for (int l = 0; l < Layers.Length; l++)
        {
            LayerCache layer = cache.Layers[l];
            int block = batch * Layers[l].PaddedHidden;
            // In Run's chunks: a chunk's W_ih·x + b (256 rows at most) stays in L2 until the recurrence reads it, where
            // the whole sequence's (26 MB at H = 256, T = 100, B = 64) went out to memory and back; and every row is
            // summed as Run sums it. h, c and the gates of every step are still kept whole for backward.
            for (int t0 = 0; t0 < steps; t0 += cache.ChunkSteps)
            {
                int chunk = Math.Min(cache.ChunkSteps, steps - t0);
                var buffers = new LayerBuffers
                {
                    H0 = t0 == 0 ? layer.Initial.Hidden : layer.Hidden.AsSpan((t0 - 1) * block, block),
                    C0 = t0 == 0 || layer.Cells.Length == 0 ? layer.Initial.Cell : layer.Cells.AsSpan((t0 - 1) * block, block),
                    Pre = cache.Pre,
                    Hidden = layer.Hidden.AsSpan(t0 * block),
                    Cells = layer.Cells.Length == 0 ? layer.Cells : layer.Cells.AsSpan(t0 * block),
                    CellStepStride = block,
                    Gates = layer.Gates.Length == 0 ? layer.Gates : layer.Gates.AsSpan(t0 * 4 * block),
                };
                Recurrence.Run(Kernel, Layers[l], x[(t0 * batch * xStride)..], xStride, chunk, batch, reverseTime: false, ref buffers);
            }
            x = layer.Hidden;
            xStride = Layers[l].PaddedHidden;
        }
        OutputStage.Write(Kernel, Head, Skip, x, xStride, inputs, InputSize, steps * batch, outputs);
    }

    /// <summary>The int8 values and scales of every matrix (to repack them for another kernel exactly); null unless int8.</summary>
    public Int8Weights? Int8Source() => Precision != WeightPrecision.Int8 ? null : new Int8Weights(
        [.. Layers.Select(l => Int8Matrix.From(l.ReducedWx!))], [.. Layers.Select(l => Int8Matrix.From(l.ReducedWh!))],
        Reverse?.Select(l => Int8Matrix.From(l.ReducedWx!)).ToArray(), Reverse?.Select(l => Int8Matrix.From(l.ReducedWh!)).ToArray(),
        Head?.Reduced is { } head ? Int8Matrix.From(head) : null);
}

/// <summary>
/// The int8 values and scales of a model's matrices in PyTorch layout, per layer (forward, reverse) and head: how an int8
/// model read from a file, or repacked for another kernel, keeps its exact values instead of quantizing again.
/// </summary>
internal sealed record Int8Weights(Int8Matrix[] Ih, Int8Matrix[] Hh, Int8Matrix[]? ReverseIh, Int8Matrix[]? ReverseHh, Int8Matrix? Head);
