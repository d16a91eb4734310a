namespace Rnn.Fast.Reference;

/// <summary>
/// The slow, obviously-correct twin of training: backpropagation through time over a unidirectional stack
/// of Elman / LSTM / GRU layers (PyTorch semantics) and an optional head <c>y = g(W h + b)</c>, in double
/// precision with plain loops. The forward pass keeps a cache per layer, step and stream
/// (<see cref="ReferenceTrace"/>); the backward pass walks the layers top to bottom and, within a layer,
/// the steps last to first, applying the chain rule one formula at a time.
/// </summary>
/// <remarks>
/// Shapes: inputs <c>[T, B, I]</c> time-major; h0 <c>[layer][B*H]</c>; c0 <c>[layer][B*H]</c> for LSTM
/// layers (null entries for others); outputs <c>[T, B, O]</c>; targets and mask as in <see cref="LossKind"/>.
/// ReLU's derivative at exactly 0 is taken as 0 (PyTorch's convention).
/// </remarks>
public static class ReferenceBptt
{
    /// <summary>Forward over <c>[T, B, I]</c> from h0/c0 (null = zeros), then backward: L and every gradient.</summary>
    /// <exception cref="ArgumentException">A shape does not match, or cross-entropy is asked of a head whose g is not identity.</exception>
    public static ReferenceGradients Compute(ReferenceParameters p, ReadOnlySpan<float> inputs, int steps, int batch,
        double[][]? h0, double[]?[]? c0, LossKind loss, ReadOnlySpan<float> targets, ReadOnlySpan<float> mask)
    {
        ArgumentNullException.ThrowIfNull(p);
        CheckLossFitsHead(p, loss);
        double[] x = new double[inputs.Length];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = inputs[i];
        }
        ReferenceTrace trace = Forward(p, x, steps, batch, h0, c0);
        var grads = new ReferenceGradients(p, steps, batch);
        double total = ReferenceLoss.Validate(loss, steps, batch, p.OutputSize, targets, mask);
        if (total == 0)
        {
            return grads; // L = 0 and nothing depends on anything.
        }
        grads.Loss = ReferenceLoss.Value(loss, trace.Outputs, steps, batch, p.OutputSize, targets, mask);
        double[] dy = ReferenceLoss.Gradient(loss, trace.Outputs, steps, batch, p.OutputSize, targets, mask); // [T, B, O]

        // dh[t][b]: dL/dh(t) of the current layer from above (the head, or the next layer's input); not yet
        // including the recurrent contribution from step t+1, which the time loop adds.
        double[][][] dh = HeadBackward(p, trace, dy, grads);
        for (int l = p.LayerCount - 1; l >= 0; l--)
        {
            dh = LayerBackward(p, l, trace.Layers[l], dh, grads);
        }
        // What reaches below layer 0 is dL/dx.
        int inputSize = p.InputSizes[0];
        for (int t = 0; t < steps; t++)
        {
            for (int b = 0; b < batch; b++)
            {
                dh[t][b].CopyTo(grads.Inputs, (t * batch + b) * inputSize);
            }
        }
        return grads;
    }

    /// <summary>The loss only (forward), for finite differences; inputs are double so they can be perturbed too.</summary>
    /// <exception cref="ArgumentException">As for <see cref="Compute"/>.</exception>
    public static double Loss(ReferenceParameters p, ReadOnlySpan<double> inputs, int steps, int batch,
        double[][]? h0, double[]?[]? c0, LossKind loss, ReadOnlySpan<float> targets, ReadOnlySpan<float> mask)
    {
        ArgumentNullException.ThrowIfNull(p);
        CheckLossFitsHead(p, loss);
        ReferenceTrace trace = Forward(p, inputs, steps, batch, h0, c0);
        return ReferenceLoss.Value(loss, trace.Outputs, steps, batch, p.OutputSize, targets, mask);
    }

    /// <summary>
    /// The forward pass: runs each layer over the whole sequence (as PyTorch does) from h0/c0 (null = zeros),
    /// then the head; returns the outputs <c>[T, B, O]</c>, the final states and the cache for backpropagation.
    /// </summary>
    /// <exception cref="ArgumentException">A shape does not match.</exception>
    public static ReferenceTrace Forward(ReferenceParameters p, ReadOnlySpan<double> inputs, int steps, int batch,
        double[][]? h0, double[]?[]? c0)
    {
        ArgumentNullException.ThrowIfNull(p);
        CheckRun(p, inputs.Length, steps, batch, h0, c0);
        var trace = new ReferenceTrace(p, steps, batch);

        // x[t][b]: the current layer's input sequence; the model inputs for layer 0.
        int inputSize = p.InputSizes[0];
        double[][][] x = ReferenceTrace.Grid(steps, batch);
        for (int t = 0; t < steps; t++)
        {
            for (int b = 0; b < batch; b++)
            {
                x[t][b] = inputs.Slice((t * batch + b) * inputSize, inputSize).ToArray();
            }
        }

        for (int l = 0; l < p.LayerCount; l++)
        {
            int n = p.HiddenSizes[l];
            LayerTrace cache = trace.Layers[l];
            var h = new double[batch][];
            var c = new double[batch][];
            for (int b = 0; b < batch; b++)
            {
                h[b] = h0 is null ? new double[n] : h0[l].AsSpan(b * n, n).ToArray();
                c[b] = c0?[l] is { } c0l ? c0l.AsSpan(b * n, n).ToArray() : new double[n];
            }
            for (int t = 0; t < steps; t++)
            {
                for (int b = 0; b < batch; b++)
                {
                    cache.X[t][b] = x[t][b];
                    cache.HPrev[t][b] = h[b];
                    double[] xp = Affine(p.WeightIh[l], p.BiasIh[l], x[t][b]); // W_ih x + b_ih, [G*H]
                    double[] hp = Affine(p.WeightHh[l], p.BiasHh[l], h[b]);    // W_hh h + b_hh, [G*H]
                    var hNext = new double[n];
                    switch (p.Cells[l])
                    {
                        case CellType.Elman:
                        {
                            // h' = f(pre), pre = xp + hp.
                            var pre = new double[n];
                            for (int j = 0; j < n; j++)
                            {
                                pre[j] = xp[j] + hp[j];
                                hNext[j] = ReferenceMath.Apply(p.Nonlinearities[l], pre[j]);
                                if (p.Nonlinearities[l] == Activation.Relu)
                                {
                                    trace.ClosestReluKink = Math.Min(trace.ClosestReluKink, Math.Abs(pre[j]));
                                }
                            }
                            cache.Pre[t][b] = pre;
                            break;
                        }
                        case CellType.Lstm:
                        {
                            // i, f, o = σ(.), g = tanh(.) of xp + hp; c' = f c + i g; h' = o tanh(c').
                            var gates = new double[4 * n];
                            var cNext = new double[n];
                            for (int j = 0; j < n; j++)
                            {
                                double i = gates[j] = ReferenceMath.Sigmoid(xp[j] + hp[j]);
                                double f = gates[n + j] = ReferenceMath.Sigmoid(xp[n + j] + hp[n + j]);
                                double g = gates[2 * n + j] = Math.Tanh(xp[2 * n + j] + hp[2 * n + j]);
                                double o = gates[3 * n + j] = ReferenceMath.Sigmoid(xp[3 * n + j] + hp[3 * n + j]);
                                cNext[j] = f * c[b][j] + i * g;
                                hNext[j] = o * Math.Tanh(cNext[j]);
                            }
                            cache.Gates[t][b] = gates;
                            cache.CPrev[t][b] = c[b];
                            cache.C[t][b] = cNext;
                            c[b] = cNext;
                            break;
                        }
                        case CellType.Gru:
                        {
                            // r = σ(xr + hr), z = σ(xz + hz), n = tanh(xn + r hn), h' = (1 − z) n + z h.
                            var gates = new double[3 * n];
                            var hiddenN = new double[n];
                            for (int j = 0; j < n; j++)
                            {
                                double r = gates[j] = ReferenceMath.Sigmoid(xp[j] + hp[j]);
                                double z = gates[n + j] = ReferenceMath.Sigmoid(xp[n + j] + hp[n + j]);
                                hiddenN[j] = hp[2 * n + j];
                                double candidate = gates[2 * n + j] = Math.Tanh(xp[2 * n + j] + r * hiddenN[j]);
                                hNext[j] = (1 - z) * candidate + z * h[b][j];
                            }
                            cache.Gates[t][b] = gates;
                            cache.HiddenN[t][b] = hiddenN;
                            break;
                        }
                        default:
                            throw new ArgumentOutOfRangeException(nameof(p), p.Cells[l], "Unknown cell type.");
                    }
                    cache.H[t][b] = hNext;
                    h[b] = hNext;
                }
            }
            trace.FinalHidden[l] = [.. h.SelectMany(v => v)];
            trace.FinalCell[l] = p.Cells[l] == CellType.Lstm ? [.. c.SelectMany(v => v)] : null;
            x = cache.H; // this layer's h(t) is the next layer's x(t)
        }

        // Head: y = g(W h + b), or y = h without one.
        int outputs = p.OutputSize;
        for (int t = 0; t < steps; t++)
        {
            for (int b = 0; b < batch; b++)
            {
                double[] y;
                if (p.HeadWeight is null)
                {
                    y = x[t][b];
                }
                else
                {
                    double[] pre = Affine(p.HeadWeight, p.HeadBias!, x[t][b]);
                    trace.HeadPre[t][b] = pre;
                    y = (double[])pre.Clone();
                    ReferenceMath.Apply(p.HeadActivation, y);
                    if (p.HeadActivation == Activation.Relu)
                    {
                        foreach (double v in pre)
                        {
                            trace.ClosestReluKink = Math.Min(trace.ClosestReluKink, Math.Abs(v));
                        }
                    }
                }
                y.CopyTo(trace.Outputs, (t * batch + b) * outputs);
            }
        }
        return trace;
    }

    /// <summary>
    /// From dL/dy to dL/dh of the last layer, accumulating the head's weight and bias gradients.
    /// Returns dh[t][b] <c>[H]</c>.
    /// </summary>
    private static double[][][] HeadBackward(ReferenceParameters p, ReferenceTrace trace, double[] dy, ReferenceGradients grads)
    {
        int steps = trace.Steps, batch = trace.Batch, outputs = p.OutputSize;
        int last = p.LayerCount - 1;
        int n = p.HiddenSizes[last];
        double[][][] dh = ReferenceTrace.Grid(steps, batch);
        for (int t = 0; t < steps; t++)
        {
            for (int b = 0; b < batch; b++)
            {
                ReadOnlySpan<double> dyRow = dy.AsSpan((t * batch + b) * outputs, outputs);
                if (p.HeadWeight is null)
                {
                    dh[t][b] = dyRow.ToArray(); // y = h
                    continue;
                }
                ReadOnlySpan<double> y = trace.Outputs.AsSpan((t * batch + b) * outputs, outputs);
                double[] pre = trace.HeadPre[t][b];
                double[] h = trace.Layers[last].H[t][b];

                // da = dL/d(W h + b) = g'(a)ᵀ dy.
                var da = new double[outputs];
                if (p.HeadActivation == Activation.Softmax)
                {
                    // Softmax Jacobian: dy_o/da_k = y_o ([o = k] − y_k), so da_k = y_k (dy_k − Σ_o dy_o y_o).
                    double dot = 0;
                    for (int o = 0; o < outputs; o++)
                    {
                        dot += dyRow[o] * y[o];
                    }
                    for (int k = 0; k < outputs; k++)
                    {
                        da[k] = y[k] * (dyRow[k] - dot);
                    }
                }
                else
                {
                    for (int o = 0; o < outputs; o++)
                    {
                        da[o] = dyRow[o] * Derivative(p.HeadActivation, pre[o], y[o]);
                    }
                }

                // a = W h + b: dW[o, j] += da_o h_j; db[o] += da_o; dh_j = Σ_o W[o, j] da_o.
                var dhRow = new double[n];
                for (int o = 0; o < outputs; o++)
                {
                    grads.HeadBias![o] += da[o];
                    for (int j = 0; j < n; j++)
                    {
                        grads.HeadWeight![o * n + j] += da[o] * h[j];
                        dhRow[j] += p.HeadWeight[o * n + j] * da[o];
                    }
                }
                dh[t][b] = dhRow;
            }
        }
        return dh;
    }

    /// <summary>
    /// Backpropagation through time in layer <paramref name="l"/>: given dL/dh(t) from above for every step,
    /// walks t = T−1 … 0 carrying dL/dh(t) (and dL/dc(t)) from step t+1, accumulates the layer's weight and
    /// bias gradients and dL/dh0 (dL/dc0), and returns dL/dx(t) <c>[t][b] → [I]</c> for the layer below.
    /// </summary>
    private static double[][][] LayerBackward(ReferenceParameters p, int l, LayerTrace cache, double[][][] dhAbove, ReferenceGradients grads)
    {
        int steps = dhAbove.Length, batch = grads.InitialHidden[l].Length / p.HiddenSizes[l];
        int n = p.HiddenSizes[l], inputSize = p.InputSizes[l], rows = p.Gates(l) * n;
        double[] wih = p.WeightIh[l], whh = p.WeightHh[l];
        double[][][] dx = ReferenceTrace.Grid(steps, batch);

        // dL/dh(t) and dL/dc(t) that flow back through the recurrence from step t+1 (zero after the last step).
        var dhNext = new double[batch][];
        var dcNext = new double[batch][];
        for (int b = 0; b < batch; b++)
        {
            dhNext[b] = new double[n];
            dcNext[b] = new double[n];
        }

        for (int t = steps - 1; t >= 0; t--)
        {
            for (int b = 0; b < batch; b++)
            {
                double[] xt = cache.X[t][b], hPrev = cache.HPrev[t][b], h = cache.H[t][b];

                // Total dL/dh(t): from above (head or next layer) plus from step t+1.
                var dh = new double[n];
                for (int j = 0; j < n; j++)
                {
                    dh[j] = dhAbove[t][b][j] + dhNext[b][j];
                }

                // dXp = dL/d(W_ih x + b_ih) and dHp = dL/d(W_hh h + b_hh), both [G*H]; dhDirect is the part of
                // dL/dh(t−1) that does not go through W_hh (the GRU's z h term).
                var dXp = new double[rows];
                var dHp = new double[rows];
                var dhDirect = new double[n];
                var dcPrev = new double[n];
                switch (p.Cells[l])
                {
                    case CellType.Elman:
                    {
                        // h = f(pre): dpre = dh f'(pre); pre = xp + hp, so dXp = dHp = dpre.
                        double[] pre = cache.Pre[t][b];
                        for (int j = 0; j < n; j++)
                        {
                            dXp[j] = dHp[j] = dh[j] * Derivative(p.Nonlinearities[l], pre[j], h[j]);
                        }
                        break;
                    }
                    case CellType.Lstm:
                    {
                        double[] gates = cache.Gates[t][b], c = cache.C[t][b], cPrev = cache.CPrev[t][b];
                        for (int j = 0; j < n; j++)
                        {
                            double i = gates[j], f = gates[n + j], g = gates[2 * n + j], o = gates[3 * n + j];
                            double tanhC = Math.Tanh(c[j]);
                            // h = o tanh(c): do = dh tanh(c); dc = dc(from t+1) + dh o (1 − tanh²(c)).
                            double dO = dh[j] * tanhC;
                            double dc = dcNext[b][j] + dh[j] * o * (1 - tanhC * tanhC);
                            // c = f c(t−1) + i g: di = dc g, df = dc c(t−1), dg = dc i, dc(t−1) = dc f.
                            double dI = dc * g, dF = dc * cPrev[j], dG = dc * i;
                            dcPrev[j] = dc * f;
                            // Through the activations: σ' = σ (1 − σ), tanh' = 1 − tanh².
                            dXp[j] = dI * i * (1 - i);
                            dXp[n + j] = dF * f * (1 - f);
                            dXp[2 * n + j] = dG * (1 - g * g);
                            dXp[3 * n + j] = dO * o * (1 - o);
                        }
                        // The gate pre-activation is xp + hp, so both parts get the same gradient.
                        dXp.CopyTo(dHp, 0);
                        break;
                    }
                    case CellType.Gru:
                    {
                        double[] gates = cache.Gates[t][b], hiddenN = cache.HiddenN[t][b];
                        for (int j = 0; j < n; j++)
                        {
                            double r = gates[j], z = gates[n + j], candidate = gates[2 * n + j];
                            // h = (1 − z) n + z h(t−1): dn = dh (1 − z), dz = dh (h(t−1) − n), direct dh(t−1) = dh z.
                            double dN = dh[j] * (1 - z);
                            double dZ = dh[j] * (hPrev[j] - candidate);
                            dhDirect[j] = dh[j] * z;
                            // n = tanh(an), an = xn + r hn: dan = dn (1 − n²); dxn = dan, dhn = dan r, dr = dan hn.
                            double dAn = dN * (1 - candidate * candidate);
                            double dR = dAn * hiddenN[j];
                            // r, z = σ(x* + h*): both parts get dr σ'(.) and dz σ'(.).
                            dXp[j] = dHp[j] = dR * r * (1 - r);
                            dXp[n + j] = dHp[n + j] = dZ * z * (1 - z);
                            dXp[2 * n + j] = dAn;
                            dHp[2 * n + j] = dAn * r;
                        }
                        break;
                    }
                    default:
                        throw new ArgumentOutOfRangeException(nameof(p), p.Cells[l], "Unknown cell type.");
                }

                // xp = W_ih x + b_ih: dW_ih[r, k] += dXp_r x_k, db_ih[r] += dXp_r, dx_k = Σ_r W_ih[r, k] dXp_r.
                // hp = W_hh h(t−1) + b_hh: likewise into dW_hh, db_hh and dh(t−1).
                var dxRow = new double[inputSize];
                var dhPrev = dhDirect;
                for (int r = 0; r < rows; r++)
                {
                    grads.BiasIh[l][r] += dXp[r];
                    grads.BiasHh[l][r] += dHp[r];
                    for (int k = 0; k < inputSize; k++)
                    {
                        grads.WeightIh[l][r * inputSize + k] += dXp[r] * xt[k];
                        dxRow[k] += wih[r * inputSize + k] * dXp[r];
                    }
                    for (int k = 0; k < n; k++)
                    {
                        grads.WeightHh[l][r * n + k] += dHp[r] * hPrev[k];
                        dhPrev[k] += whh[r * n + k] * dHp[r];
                    }
                }
                dx[t][b] = dxRow;
                dhNext[b] = dhPrev;
                dcNext[b] = dcPrev;
            }
        }

        // What flows out of step 0 is dL/dh0 (and dL/dc0).
        for (int b = 0; b < batch; b++)
        {
            dhNext[b].CopyTo(grads.InitialHidden[l], b * n);
            if (grads.InitialCell[l] is { } dc0)
            {
                dcNext[b].CopyTo(dc0, b * n);
            }
        }
        return dx;
    }

    /// <summary>f'(pre) of an element-wise activation, from the pre-activation and the output f(pre).</summary>
    private static double Derivative(Activation activation, double pre, double output) => activation switch
    {
        Activation.Identity => 1,
        Activation.Tanh => 1 - output * output,
        Activation.Sigmoid => output * (1 - output),
        Activation.Relu => pre > 0 ? 1 : 0, // 0 at exactly 0, as PyTorch
        _ => throw new ArgumentOutOfRangeException(nameof(activation), activation, "Not element-wise."),
    };

    /// <summary>W v + b for a row-major <c>W [rows, cols]</c>, <c>b [rows]</c>, <c>v [cols]</c>.</summary>
    private static double[] Affine(double[] weight, double[] bias, double[] v)
    {
        int rows = bias.Length, cols = v.Length;
        var result = new double[rows];
        for (int r = 0; r < rows; r++)
        {
            double sum = bias[r];
            for (int k = 0; k < cols; k++)
            {
                sum += weight[r * cols + k] * v[k];
            }
            result[r] = sum;
        }
        return result;
    }

    private static void CheckLossFitsHead(ReferenceParameters p, LossKind loss)
    {
        if (loss == LossKind.SoftmaxCrossEntropy && p.HeadActivation != Activation.Identity)
        {
            throw new ArgumentException(
                $"Softmax cross-entropy takes logits: the head activation must be Identity, not {p.HeadActivation}.", nameof(loss));
        }
    }

    private static void CheckRun(ReferenceParameters p, int inputLength, int steps, int batch, double[][]? h0, double[]?[]? c0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(steps);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batch);
        if (inputLength != steps * batch * p.InputSizes[0])
        {
            throw new ArgumentException($"The inputs must be [T, B, I] = [{steps}, {batch}, {p.InputSizes[0]}], not {inputLength} values.", "inputs");
        }
        if (h0 is not null)
        {
            if (h0.Length != p.LayerCount)
            {
                throw new ArgumentException($"h0 needs one entry per layer ({p.LayerCount}), not {h0.Length}.", nameof(h0));
            }
            for (int l = 0; l < p.LayerCount; l++)
            {
                if (h0[l] is null || h0[l].Length != batch * p.HiddenSizes[l])
                {
                    throw new ArgumentException($"h0 of layer {l} must be [B, H] = {batch * p.HiddenSizes[l]} values.", nameof(h0));
                }
            }
        }
        if (c0 is not null)
        {
            if (c0.Length != p.LayerCount)
            {
                throw new ArgumentException($"c0 needs one entry per layer ({p.LayerCount}), not {c0.Length}.", nameof(c0));
            }
            for (int l = 0; l < p.LayerCount; l++)
            {
                if (p.Cells[l] != CellType.Lstm && c0[l] is not null)
                {
                    throw new ArgumentException($"Layer {l} is not an LSTM layer, so its c0 must be null.", nameof(c0));
                }
                if (c0[l] is { } c && c.Length != batch * p.HiddenSizes[l])
                {
                    throw new ArgumentException($"c0 of layer {l} must be [B, H] = {batch * p.HiddenSizes[l]} values.", nameof(c0));
                }
            }
        }
    }
}
