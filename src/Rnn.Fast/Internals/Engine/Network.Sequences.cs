namespace Rnn.Fast.Internals;

internal sealed partial class Network
{
    /// <summary>
    /// Runs <paramref name="steps"/> steps of every stream of <paramref name="state"/> in chunks of the state's
    /// scratch size: per chunk and layer, one input projection and the recurrence; the state holds the initial h/c on
    /// entry and the final ones on return.
    /// </summary>
    public void Run(
        ReadOnlySpan<float> inputs, // [T, B, I] time-major, or [B, T, I] batch-first
        int steps,
        RnnState state,
        Span<float> outputs,        // [T, B, O] or [B, T, O], as inputs
        bool batchFirst)
    {
        if (IsBidirectional)
        {
            RunBidirectional(inputs, steps, state, outputs, batchFirst);
            return;
        }
        int batch = state.Batch;
        SequenceScratch scratch = state.Scratch;
        for (int t0 = 0; t0 < steps; t0 += scratch.ChunkSteps)
        {
            int chunk = Math.Min(scratch.ChunkSteps, steps - t0);
            int rows = chunk * batch;
            ReadOnlySpan<float> chunkInputs = batchFirst
                ? Gather(inputs, steps, batch, InputSize, t0, chunk, scratch.Inputs)
                : inputs.Slice(t0 * batch * InputSize, rows * InputSize);
            chunkInputs = TinyInputs.Flushed(chunkInputs, scratch.Inputs);
            ReadOnlySpan<float> x = chunkInputs;
            int xStride = InputSize;
            for (int l = 0; l < Layers.Length; l++)
            {
                // Layer outputs alternate between the two row buffers: each layer reads the previous one's.
                Span<float> hidden = (l % 2 == 0 ? scratch.First : scratch.Second).AsSpan(0, rows * Layers[l].PaddedHidden);
                LayerState layerState = state.Forward(l);
                var buffers = LayerBuffers.FromState(layerState, scratch, hidden);
                Recurrence.Run(Kernel, Layers[l], x, xStride, chunk, batch, reverseTime: false, ref buffers);
                layerState.CommitRows(hidden[((chunk - 1) * batch * layerState.Stride)..]);
                x = hidden;
                xStride = layerState.Stride;
            }
            Span<float> chunkOutputs = batchFirst
                ? scratch.Outputs.AsSpan(0, rows * OutputSize)
                : outputs.Slice(t0 * batch * OutputSize, rows * OutputSize);
            OutputStage.Write(Kernel, Head, Skip, x, xStride, chunkInputs, InputSize, rows, chunkOutputs, scratch.Reduced);
            if (batchFirst)
            {
                Scatter(chunkOutputs, steps, batch, OutputSize, t0, chunk, outputs);
            }
        }
    }

    // Each layer needs both directions' h at every step before the next layer (or the head) can run, so a layer's
    // whole output [T, B, 2H] is kept; each direction itself runs in chunks of the state's scratch, the reverse one
    // from the end. Memory beyond the state: two [T·B, 2H rounded up] buffers, plus one [T·B, I] copy for batch-first
    // inputs, allocated at their exact size for the call (a pool would round them up to a power of two).
    private void RunBidirectional(ReadOnlySpan<float> inputs, int steps, RnnState state, Span<float> outputs, bool batchFirst)
    {
        int batch = state.Batch;
        int rows = steps * batch;
        float[]? gathered = batchFirst ? GC.AllocateUninitializedArray<float>(checked(rows * InputSize)) : null;
        float[] current = GC.AllocateUninitializedArray<float>(checked(rows * MaxRowWidth));
        float[] next = GC.AllocateUninitializedArray<float>(checked(rows * MaxRowWidth));
        ReadOnlySpan<float> modelInputs = gathered is null ? inputs : Gather(inputs, steps, batch, InputSize, 0, steps, gathered);
        if (TinyInputs.AnyTiny(modelInputs))
        {
            // Inputs below 2^-63 are read as zero here too (TinyInputs); the copy is this call's, like the buffers above.
            float[] flushed = gathered ?? GC.AllocateUninitializedArray<float>(modelInputs.Length);
            TinyInputs.Copy(modelInputs, flushed);
            modelInputs = flushed;
        }
        ReadOnlySpan<float> x = modelInputs;
        int xStride = InputSize;
        for (int l = 0; l < Layers.Length; l++)
        {
            int stride = OutputStride(l);
            Span<float> joined = next.AsSpan(0, rows * stride);
            joined.Clear();
            RunDirection(Layers[l], state.Forward(l), x, xStride, steps, state, joined, stride, 0, reverseTime: false);
            RunDirection(Reverse![l], state.ReverseOf(l), x, xStride, steps, state, joined, stride, Layers[l].HiddenSize, reverseTime: true);
            (current, next) = (next, current);
            x = current.AsSpan(0, rows * stride);
            xStride = stride;
        }
        if (batchFirst)
        {
            // Outputs are made time-major chunk by chunk in the scratch, then scattered.
            SequenceScratch scratch = state.Scratch;
            for (int t0 = 0; t0 < steps; t0 += scratch.ChunkSteps)
            {
                int chunk = Math.Min(scratch.ChunkSteps, steps - t0);
                int chunkRows = chunk * batch;
                Span<float> chunkOutputs = scratch.Outputs.AsSpan(0, chunkRows * OutputSize);
                OutputStage.Write(Kernel, Head, Skip, x.Slice(t0 * batch * xStride, chunkRows * xStride), xStride,
                    modelInputs.Slice(t0 * batch * InputSize, chunkRows * InputSize), InputSize, chunkRows, chunkOutputs, scratch.Reduced);
                Scatter(chunkOutputs, steps, batch, OutputSize, t0, chunk, outputs);
            }
        }
        else
        {
            OutputStage.Write(Kernel, Head, Skip, x, xStride, modelInputs, InputSize, rows, outputs, state.Scratch.Reduced);
        }
    }

    // One direction of one layer over the whole sequence in chunks (the reverse one from the end), each chunk's h
    // rows copied into its half of the joined output.
    private void RunDirection(PackedLayer layer, LayerState layerState, ReadOnlySpan<float> x, int xStride, int steps, RnnState state,
        Span<float> joined, int joinedStride, int offset, bool reverseTime)
    {
        int batch = state.Batch;
        SequenceScratch scratch = state.Scratch;
        int hp = layer.PaddedHidden;
        int h = layer.HiddenSize;
        for (int done = 0; done < steps; done += scratch.ChunkSteps)
        {
            int chunk = Math.Min(scratch.ChunkSteps, steps - done);
            int t0 = reverseTime ? steps - done - chunk : done;
            int rows = chunk * batch;
            Span<float> hidden = scratch.First.AsSpan(0, rows * hp);
            var buffers = LayerBuffers.FromState(layerState, scratch, hidden);
            Recurrence.Run(Kernel, layer, x.Slice(t0 * batch * xStride, rows * xStride), xStride, chunk, batch, reverseTime, ref buffers);
            // The state carries on from the chunk's last step in its own time order: row 0 for the reverse direction.
            layerState.CommitRows(hidden.Slice((reverseTime ? 0 : chunk - 1) * batch * hp, batch * hp));
            for (int r = 0; r < rows; r++)
            {
                hidden.Slice(r * hp, h).CopyTo(joined.Slice((t0 * batch + r) * joinedStride + offset, h));
            }
        }
    }

    // Rows [t0, t0 + chunk) of every stream of a batch-first [B, T, width] sequence, gathered time-major.
    private static ReadOnlySpan<float> Gather(ReadOnlySpan<float> source, int steps, int batch, int width, int t0, int chunk, float[] destination)
    {
        Span<float> target = destination.AsSpan(0, chunk * batch * width);
        for (int t = 0; t < chunk; t++)
        {
            for (int b = 0; b < batch; b++)
            {
                source.Slice((b * steps + t0 + t) * width, width).CopyTo(target.Slice((t * batch + b) * width, width));
            }
        }
        return target;
    }

    // The inverse of Gather: time-major chunk rows back into a batch-first [B, T, width] sequence.
    private static void Scatter(ReadOnlySpan<float> source, int steps, int batch, int width, int t0, int chunk, Span<float> destination)
    {
        for (int t = 0; t < chunk; t++)
        {
            for (int b = 0; b < batch; b++)
            {
                source.Slice((t * batch + b) * width, width).CopyTo(destination.Slice((b * steps + t0 + t) * width, width));
            }
        }
    }
}
