namespace Rnn.Fast.Internals;

/// <summary>
/// Where one pass of one layer direction reads and writes: the initial state, the input-projection scratch, the
/// h rows it produces, where c goes, and (training only) where the gate activations are kept.
/// </summary>
/// <remarks>
/// c is either updated in place (<see cref="CellStepStride"/> = 0: inference, c lives in the state) or kept per
/// step (<see cref="CellStepStride"/> = B·Hp: training, c(t) is row block t of <see cref="Cells"/>).
/// </remarks>
internal ref struct LayerBuffers
{
    public ReadOnlySpan<float> H0;    // [B, Hp] h(−1)
    public ReadOnlySpan<float> C0;    // [B, Hp] c(−1); empty unless LSTM
    public Span<float> Pre;           // [rows, GW] scratch for W_ih·x + b
    public Span<float> Hidden;        // [rows, Hp] h(t) of every row
    public Span<float> Cells;         // [B, Hp] in place, or [rows, Hp] per step; empty unless LSTM
    public int CellStepStride;        // 0 (in place) or B·Hp (per step)
    public Span<float> Gates;         // [rows, 4·Hp] gate activations for backward; empty to skip
    public ReducedScratch? Reduced;   // a bf16 or int8 layer's product scratch

    /// <summary>Inference: starts from <paramref name="state"/>, c updated in place in it.</summary>
    public static LayerBuffers FromState(LayerState state, SequenceScratch scratch, Span<float> hidden) => new()
    {
        H0 = state.Hidden,
        C0 = state.Cell,
        Pre = scratch.Pre,
        Reduced = scratch.Reduced,
        Hidden = hidden,
        Cells = state.Cell,
        CellStepStride = 0,
    };
}

/// <summary>
/// The one recurrence: runs one direction of one layer over a chunk of steps × streams. <c>Step</c>, <c>Run</c> and
/// the training forward pass all go through <see cref="Run"/>.
/// </summary>
internal static class Recurrence
{
    /// <summary>
    /// Hidden size from which several streams step in the stream-tiled family (S streams per W_hh load) rather than
    /// in stream pairs. Measured on Zen 4 (perf-results/AMD-EPYC-f25m17/before-after.md), T = 100, B = 16: pairs won at
    /// H = 32 (454–476 vs 510–552 µs), tied at H = 128, and the tiles won at H = 512 (67 vs 78 ms), where W_hh no
    /// longer fits in L2 and sharing each load between more streams pays.
    /// </summary>
    public const int StreamTileMinHidden = 128;

    /// <summary>
    /// Steps <paramref name="layer"/> through <paramref name="steps"/> steps of <paramref name="batch"/> streams whose
    /// inputs are the rows of <paramref name="x"/> (row t·B + b is step t of stream b). A single row with nothing to
    /// keep takes the fused streaming step (W_ih·x and W_hh·h in one pass); otherwise the chunk's input projection
    /// is one blocked product and the recurrence then adds only W_hh·h, all streams of a step together.
    /// </summary>
    public static void Run(RnnKernel kernel, PackedLayer layer,
        ReadOnlySpan<float> x,      // [rows, xStride], first I used
        int xStride,
        int steps,
        int batch,
        bool reverseTime,
        ref LayerBuffers buffers)
    {
        if (layer.UsesReducedProducts)
        {
            RunReduced(kernel, layer, x, xStride, steps, batch, reverseTime, ref buffers);
            return;
        }
        int hp = layer.PaddedHidden;
        int block = batch * hp;
        if (steps * batch == 1 && buffers.Gates.IsEmpty)
        {
            StepFused(kernel.Cells, layer, x, buffers.H0, buffers.C0, buffers.Cells, buffers.Hidden[..hp]);
            return;
        }

        int gw = layer.GateWidth;
        int rows = steps * batch;
        CellKernel cells = batch >= 2 && layer.HiddenSize >= StreamTileMinHidden ? kernel.StreamCells : kernel.Cells;
        kernel.Products.MultiplyRows(x, rows, xStride, layer.Wx, layer.Bias, buffers.Pre[..(rows * gw)]);
        bool keep = !buffers.Gates.IsEmpty;
        for (int i = 0; i < steps; i++)
        {
            int t = reverseTime ? steps - 1 - i : i;
            int previous = reverseTime ? t + 1 : t - 1;
            ReadOnlySpan<float> hPrev = i == 0 ? buffers.H0 : buffers.Hidden.Slice(previous * block, block);
            ReadOnlySpan<float> pre = buffers.Pre.Slice(t * batch * gw, batch * gw);
            Span<float> hNext = buffers.Hidden.Slice(t * block, block);
            Span<float> gates = keep ? buffers.Gates.Slice(t * 4 * block, 4 * block) : default;
            switch (layer.Cell)
            {
                case CellType.Lstm:
                    ReadOnlySpan<float> cPrev = i == 0 ? buffers.C0 : buffers.Cells.Slice(previous * buffers.CellStepStride, block);
                    cells.LstmSteps(pre, hPrev, cPrev, layer.Wh, batch, buffers.Cells.Slice(t * buffers.CellStepStride, block), hNext, gates);
                    break;
                case CellType.Gru:
                    cells.GruSteps(pre, hPrev, layer.Wh, layer.BiasHn, batch, hNext, gates);
                    break;
                default:
                    cells.ElmanSteps(layer.Nonlinearity, pre, hPrev, layer.Wh, batch, hNext);
                    break;
            }
        }
    }

    // A bf16 or int8 layer (inference only): the reduced products fill the pre-activations (the input projection of
    // the chunk, then W_hh·h of every stream at each step) and the float32 cells run on them with no product of their
    // own (the layer's float32 matrices have no columns). A GRU keeps W_hn·h + b_hn apart, because r scales it.
    private static void RunReduced(RnnKernel kernel, PackedLayer layer, ReadOnlySpan<float> x, int xStride, int steps, int batch,
        bool reverseTime, ref LayerBuffers buffers)
    {
        ReducedScratch scratch = buffers.Reduced!;
        ReducedProductKernel products = kernel.Reduced;
        CellKernel cells = kernel.Cells;
        int hp = layer.PaddedHidden, gw = layer.GateWidth, v = layer.Lanes;
        int block = batch * hp, rows = steps * batch;
        products.MultiplyRows(x, rows, xStride, layer.ReducedWx!, layer.Bias, accumulate: false, buffers.Pre[..(rows * gw)], scratch.Quantized);
        for (int i = 0; i < steps; i++)
        {
            int t = reverseTime ? steps - 1 - i : i;
            int previous = reverseTime ? t + 1 : t - 1;
            ReadOnlySpan<float> hPrev = i == 0 ? buffers.H0 : buffers.Hidden.Slice(previous * block, block);
            Span<float> pre = buffers.Pre.Slice(t * batch * gw, batch * gw);
            Span<float> hNext = buffers.Hidden.Slice(t * block, block);
            switch (layer.Cell)
            {
                case CellType.Lstm:
                    products.MultiplyRows(hPrev, batch, hp, layer.ReducedWh!, default, accumulate: true, pre, scratch.Quantized);
                    ReadOnlySpan<float> cPrev = i == 0 ? buffers.C0 : buffers.Cells.Slice(previous * buffers.CellStepStride, block);
                    cells.LstmSteps(pre, hPrev, cPrev, layer.Wh, batch, buffers.Cells.Slice(t * buffers.CellStepStride, block), hNext, default);
                    break;
                case CellType.Gru:
                    Span<float> hidden = scratch.HiddenProduct.AsSpan(0, batch * gw);
                    Span<float> hn = scratch.HiddenBias.AsSpan(0, block);
                    products.MultiplyRows(hPrev, batch, hp, layer.ReducedWh!, layer.HiddenBias, accumulate: false, hidden, scratch.Quantized);
                    for (int s = 0; s < batch; s++)
                    {
                        for (int b = 0; b < layer.Blocks; b++)
                        {
                            int q = s * gw + b * 3 * v;
                            for (int lane = 0; lane < 2 * v; lane++)
                            {
                                pre[q + lane] += hidden[q + lane]; // r and z: the x and h parts simply add
                            }
                            hidden.Slice(q + 2 * v, v).CopyTo(hn.Slice(s * hp + b * v, v));
                        }
                        cells.GruSteps(pre.Slice(s * gw, gw), hPrev.Slice(s * hp, hp), layer.Wh, hn.Slice(s * hp, hp), 1,
                            hNext.Slice(s * hp, hp), default);
                    }
                    break;
                default:
                    products.MultiplyRows(hPrev, batch, hp, layer.ReducedWh!, default, accumulate: true, pre, scratch.Quantized);
                    cells.ElmanSteps(layer.Nonlinearity, pre, hPrev, layer.Wh, batch, hNext);
                    break;
            }
        }
    }

    // One step of one stream with the input product fused into the cell step (nothing precomputed).
    private static void StepFused(CellKernel cells, PackedLayer layer, ReadOnlySpan<float> x, ReadOnlySpan<float> hPrev,
        ReadOnlySpan<float> cPrev, Span<float> cNext, Span<float> hNext)
    {
        switch (layer.Cell)
        {
            case CellType.Lstm:
                cells.LstmStepFused(x, hPrev, cPrev, layer.Wx, layer.Wh, layer.Bias, cNext, hNext);
                break;
            case CellType.Gru:
                cells.GruStepFused(x, hPrev, layer.Wx, layer.Wh, layer.Bias, layer.BiasHn, hNext);
                break;
            default:
                cells.ElmanStepFused(layer.Nonlinearity, x, hPrev, layer.Wx, layer.Wh, layer.Bias, hNext);
                break;
        }
    }
}
