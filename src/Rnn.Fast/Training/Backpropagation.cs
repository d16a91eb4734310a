using Rnn.Fast.Internals;

namespace Rnn.Fast.Training;

/// <summary>
/// Backpropagation through time over the forward cache: the head, then each layer from the last to the first,
/// each as a time loop of element-wise cell backward steps and <c>W_hhᵀ·d</c> products for all streams of a step,
/// followed by the weight gradients as blocked products over every row.
/// </summary>
internal static class Backpropagation
{
    public static void Run(Network network, ReadOnlySpan<float> outputGradient, int steps, TrainingWorkspace workspace)
    {
        GradientScratch scratch = workspace.Scratch;
        int batch = workspace.Batch;
        int rows = steps * batch;
        int outputs = network.OutputSize;
        PackedLayer last = network.Layers[^1];

        // dL/dh of the current layer and dL/dx of the layer below alternate between two buffers.
        float[] upper = scratch.First, lower = scratch.Second;
        Span<float> top = upper.AsSpan(0, rows * last.PaddedHidden);
        top.Clear();
        if (network.Head is null)
        {
            for (int r = 0; r < rows; r++)
            {
                outputGradient.Slice(r * outputs, outputs).CopyTo(top.Slice(r * last.PaddedHidden));
            }
        }
        else
        {
            HeadBackward(network, outputGradient, workspace.Cache.Layers[^1].Hidden, rows, scratch, top);
        }

        for (int l = network.Layers.Length - 1; l >= 0; l--)
        {
            LayerBackward(network, l, steps, workspace, upper, lower);
            (upper, lower) = (lower, upper);
        }

        // upper now holds dL/dx of layer 0, rows of the input's padded width; the residual adds dL/dy directly.
        int inputs = network.InputSize;
        int inputStride = network.Layers[0].PaddedInput;
        Span<float> inputGradient = scratch.InputGradient.AsSpan(0, rows * inputs);
        for (int r = 0; r < rows; r++)
        {
            Span<float> dx = inputGradient.Slice(r * inputs, inputs);
            upper.AsSpan(r * inputStride, inputs).CopyTo(dx);
            for (int j = 0; j < network.Skip; j++)
            {
                dx[j] += outputGradient[r * outputs + j];
            }
        }
    }

    private static void HeadBackward(Network network, ReadOnlySpan<float> outputGradient, ReadOnlySpan<float> hidden, int rows,
        GradientScratch scratch, Span<float> dh)
    {
        PackedHead head = network.Head!;
        RnnKernel kernel = network.Kernel;
        int stride = head.PaddedInput;
        int outputs = head.OutputSize;
        Span<float> dz = scratch.OutputPreGradient.AsSpan(0, rows * outputs);
        float[] weight = head.Weight, weightGradient = head.WeightGradient!, biasGradient = head.BiasGradient!;
        for (int r = 0; r < rows; r++)
        {
            Span<float> dzRow = dz.Slice(r * outputs, outputs);
            kernel.Elementwise.ActivationBackward(head.Activation, scratch.Output.AsSpan(r * outputs, outputs), outputGradient.Slice(r * outputs, outputs), dzRow);
            ReadOnlySpan<float> h = hidden.Slice(r * stride, stride);
            Span<float> dhRow = dh.Slice(r * stride, stride);
            for (int o = 0; o < outputs; o++)
            {
                float d = dzRow[o];
                if (d == 0f)
                {
                    continue; // masked steps: nothing to add
                }
                biasGradient[o] += d;
                kernel.Elementwise.MultiplyAdd(d, h, weightGradient.AsSpan(o * stride, stride));
                kernel.Elementwise.MultiplyAdd(d, weight.AsSpan(o * stride, stride), dhRow);
            }
        }
    }

    // dL/dh(t) of every row is in `upper`; writes dL/dx of every row into `lower` and adds the layer's gradients.
    private static void LayerBackward(Network network, int index, int steps, TrainingWorkspace ws, float[] upper, float[] lower)
    {
        RnnKernel kernel = network.Kernel;
        PackedLayer layer = network.Layers[index];
        LayerCache cache = ws.Cache.Layers[index];
        GradientScratch scratch = ws.Scratch;
        int batch = ws.Batch;
        int rows = steps * batch;
        int hp = layer.PaddedHidden;
        int gw = layer.GateWidth;
        int block = batch * hp;
        Span<float> dPre = scratch.PreGradient.AsSpan(0, rows * gw);
        Span<float> dPreHidden = layer.Cell == CellType.Gru ? scratch.PreGradientHidden.AsSpan(0, rows * gw) : dPre;
        Span<float> dh = scratch.HiddenGradient.AsSpan(0, block);   // running dL/dh(t) of every stream
        Span<float> dc = scratch.CellGradient.AsSpan(0, block);     // running dL/dc(t)
        Span<float> direct = scratch.DirectGradient.AsSpan(0, block);
        PackedMatrix whTransposed = layer.WhTransposed;

        // The running gradient starts as what the output (or the next layer) sends to the last step.
        upper.AsSpan((steps - 1) * block, block).CopyTo(dh);
        dc.Clear();
        for (int t = steps - 1; t >= 0; t--)
        {
            if (cache.RecordedHiddenGradients is { } recorded)
            {
                dh.CopyTo(recorded.AsSpan(t * block, block));
            }
            // What reaches h(t−1) besides the recurrence: the output's (or next layer's) gradient at t−1.
            ReadOnlySpan<float> below = t > 0 ? upper.AsSpan((t - 1) * block, block) : scratch.Zeros.AsSpan(0, block);
            Span<float> d = dPre.Slice(t * batch * gw, batch * gw);
            Span<float> dHidden = dPreHidden.Slice(t * batch * gw, batch * gw);
            switch (layer.Cell)
            {
                case CellType.Lstm:
                    ReadOnlySpan<float> cPrev = t == 0 ? cache.Initial.Cell : cache.Cells.AsSpan((t - 1) * block, block);
                    kernel.Cells.LstmBackward(dh, cache.Gates.AsSpan(t * 4 * block, 4 * block), cache.Cells.AsSpan(t * block, block), cPrev, dc, d);
                    below.CopyTo(dh);
                    break;
                case CellType.Gru:
                    ReadOnlySpan<float> hPrev = t == 0 ? cache.Initial.Hidden : cache.Hidden.AsSpan((t - 1) * block, block);
                    kernel.Cells.GruBackward(dh, cache.Gates.AsSpan(t * 4 * block, 4 * block), hPrev, below, d, dHidden, direct);
                    direct.CopyTo(dh);
                    break;
                default:
                    kernel.Cells.ElmanBackward(layer.Nonlinearity, cache.Hidden.AsSpan(t * block, block), dh, d);
                    below.CopyTo(dh);
                    break;
            }
            // dL/dh(t−1) = (what dh holds now) + W_hhᵀ·d(t), every stream of the step in one product.
            kernel.Products.MultiplyRowsAccumulate(dHidden, batch, gw, whTransposed, dh);
        }

        // Now dh and dc hold dL/dh(−1) and dL/dc(−1).
        dh.CopyTo(cache.InitialHiddenGradient);
        if (layer.Cell == CellType.Lstm)
        {
            dc.CopyTo(cache.InitialCellGradient);
        }

        // Weight gradients as blocked products over all rows: x(t) of this layer is the layer below's h(t) (or the
        // model's inputs), and h(t−1) is the initial state for t = 0, else this layer's h(t−1).
        LayerGradients gradients = layer.Gradients!;
        ReadOnlySpan<float> x = index == 0 ? scratch.Inputs : ws.Cache.Layers[index - 1].Hidden;
        int xStride = index == 0 ? network.InputSize : network.Layers[index - 1].PaddedHidden;
        kernel.Products.AccumulateOuter(dPre, x, rows, xStride, layer.Wx, gradients.Wx);
        kernel.Products.AccumulateOuter(dPreHidden[..(batch * gw)], cache.Initial.Hidden, batch, hp, layer.Wh, gradients.Wh);
        if (steps > 1)
        {
            kernel.Products.AccumulateOuter(dPreHidden[(batch * gw)..], cache.Hidden, rows - batch, hp, layer.Wh, gradients.Wh);
        }
        kernel.Elementwise.AccumulateRowSum(dPre, rows, gradients.BiasIh);
        kernel.Elementwise.AccumulateRowSum(dPreHidden, rows, gradients.BiasHh);

        // dL/dx = W_ihᵀ·d for every row at once, on W_ih's transposed packing.
        Span<float> dx = lower.AsSpan(0, rows * layer.PaddedInput);
        dx.Clear();
        kernel.Products.MultiplyRowsAccumulate(dPre, rows, gw, layer.WxTransposed, dx);
    }
}
