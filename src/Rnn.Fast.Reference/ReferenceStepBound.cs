namespace Rnn.Fast.Reference;

/// <summary>Reference values in double precision, each with a bound on |float32 result − value|.</summary>
/// <param name="Value">The exact (double) values.</param>
/// <param name="Bound">Per value, how far any correct float32 computation of it may be.</param>
public sealed record BoundedVector(double[] Value, double[] Bound)
{
    /// <summary>Values read from float32 exactly, with no error.</summary>
    public static BoundedVector Exact(ReadOnlySpan<float> values)
    {
        var value = new double[values.Length];
        for (int i = 0; i < value.Length; i++)
        {
            value[i] = values[i];
        }
        return new BoundedVector(value, new double[values.Length]);
    }

    /// <summary>Values held exactly in double (a float state), with no error.</summary>
    public static BoundedVector Exact(double[] values) => new((double[])values.Clone(), new double[values.Length]);

    /// <summary>This vector followed by <paramref name="other"/> (the two directions of a bidirectional layer).</summary>
    public BoundedVector Concat(BoundedVector other) => new([.. Value, .. other.Value], [.. Bound, .. other.Bound]);
}

/// <summary>One step of every layer and direction, and the output, each with its bound.</summary>
/// <param name="Hidden">h' per layer.</param>
/// <param name="Cell">c' per layer (null for cells without one).</param>
/// <param name="ReverseHidden">h' per layer of the reverse direction (empty when unidirectional).</param>
/// <param name="ReverseCell">c' per layer of the reverse direction.</param>
/// <param name="Output">y: the head's output (or the last layer's h'), plus the skip.</param>
public sealed record StepBounds(IReadOnlyList<BoundedVector> Hidden, IReadOnlyList<BoundedVector?> Cell,
    IReadOnlyList<BoundedVector> ReverseHidden, IReadOnlyList<BoundedVector?> ReverseCell, BoundedVector Output);

/// <summary>
/// The bound-computing companion of <see cref="ReferenceModel"/>: one step of the model, from a given
/// state, in double precision, and for every value a rigorous bound on how far a float32 implementation
/// (any summation order, with or without FMA, activations within their stated ulp) may be from it. The
/// derivation is in docs/tolerances.md; each method below says which part it implements.
/// </summary>
/// <remarks>
/// The bound assumes the fast model starts from the same float state and input, and has the same float
/// weights: the reference state must hold float values (as an <see cref="RnnState"/> does). A step of a model whose weights, kernel or formula differ is not covered by it, which is
/// what makes it a test: a wrong tail lane or one dropped weight exceeds it.
/// </remarks>
public static class ReferenceStepBound
{
    /// <summary>Unit roundoff of float32 (round to nearest): 2^-24.</summary>
    public const double U = 1.0 / (1 << 24);

    /// <summary>Unit roundoff of the double-precision reference itself: 2^-53.</summary>
    private const double UDouble = 1.0 / (1L << 53);

    /// <summary>The activations' stated accuracy (see <see cref="Activation"/>): tanh and sigmoid within 3 ulp, exp within 2.</summary>
    public const double TanhUlp = 3, SigmoidUlp = 3, ExpUlp = 2;

    // The reference's own double-precision activations are within an ulp of double; relative to the
    // float bounds this is ~1e-9 of them, but it is counted so the bound is a bound.
    private const double ReferenceActivationError = 4 * UDouble;

    // Absolute slack for results below float's normal range (2^-126), where an ulp is 2^-149 and not relative.
    private const double SubnormalFloor = 1e-37;

    /// <summary>γ_n = n·u / (1 − n·u): the relative error of n rounded float operations in a row (Higham, §3.1).</summary>
    public static double Gamma(int n) => n * U / (1 - n * U);

    private static double GammaDouble(int n) => n * UDouble / (1 - n * UDouble);

    /// <summary>One step of the model from <paramref name="state"/> (not modified) on one stream's input.</summary>
    /// <param name="model">The reference model (for a reduced fast model: on its dequantized weights).</param>
    /// <param name="input">One stream's input.</param>
    /// <param name="state">The state the step starts from (not modified).</param>
    /// <param name="precision">How the fast model stores its weights; the reference <paramref name="model"/> holds its
    /// dequantized values. Int8 adds the int16 rounding of every product's activations (<see cref="Int8Activations"/>).</param>
    public static StepBounds Step(ReferenceModel model, ReadOnlySpan<float> input, ReferenceState state,
        WeightPrecision precision = WeightPrecision.Float32)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(state);
        var hidden = new BoundedVector[model.Layers.Count];
        var cell = new BoundedVector?[model.Layers.Count];
        var reverseHidden = new List<BoundedVector>();
        var reverseCell = new List<BoundedVector?>();
        BoundedVector x = BoundedVector.Exact(input);
        for (int l = 0; l < model.Layers.Count; l++)
        {
            (hidden[l], cell[l]) = CellStep(model.Layers[l], x, state.H[l], state.C[l], precision);
            if (model.Reverse is { } reverse)
            {
                // At T = 1 the reverse direction sees the same input, from its own state; the next
                // layer sees both directions.
                (BoundedVector h, BoundedVector? c) = CellStep(reverse[l], x, state.ReverseH[l], state.ReverseC[l], precision);
                reverseHidden.Add(h);
                reverseCell.Add(c);
                x = hidden[l].Concat(h);
            }
            else
            {
                x = hidden[l];
            }
        }
        BoundedVector y = model.Head is { } head ? Dense(head, x, precision) : x;
        y = Skip(y, input, model.Options.Skip);
        return new StepBounds(hidden, cell, reverseHidden, reverseCell, y);
    }

    /// <summary>One cell step; the input <paramref name="x"/> may carry errors, the state h, c is exact.</summary>
    public static (BoundedVector H, BoundedVector? C) CellStep(LayerWeights layer, BoundedVector x, double[] h, double[]? c,
        WeightPrecision precision = WeightPrecision.Float32)
    {
        ArgumentNullException.ThrowIfNull(layer);
        return layer.Cell switch
        {
            CellType.Lstm => Lstm(layer, x, h, c!, precision),
            CellType.Gru => (Gru(layer, x, h, precision), null),
            _ => (Elman(layer, x, h, precision), null),
        };
    }

    /// <summary>
    /// The int16 rounding of an int8 product's activations, for row <paramref name="r"/>: each x̂_j becomes q_j·s_x with
    /// s_x = m / 32767 (m = max |x̂|), off by at most half a step, m / 65534, plus a few roundings of the scale (4u·m);
    /// through the row that is (m / 65534 + 4u·m)·Σ_j |W[r,j]|. Zero for other precisions.
    /// </summary>
    public static double Int8Activations(ReadOnlySpan<float> weight, BoundedVector x, int r, WeightPrecision precision)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (precision != WeightPrecision.Int8)
        {
            return 0;
        }
        int k = x.Value.Length;
        double m = 0, rowSum = 0;
        for (int j = 0; j < k; j++)
        {
            m = Math.Max(m, Math.Abs(x.Value[j]) + x.Bound[j]);
            rowSum += Math.Abs(weight[r * k + j]);
        }
        return m * (1.0 / 65534 + 4 * U) * rowSum;
    }

    /// <summary>
    /// pre = b_ih + b_hh + W_ih x + W_hh h for every gate row, as one float sum of K = I + H + 2 terms in any
    /// order: |error| ≤ γ_K·Σ|terms| (docs/tolerances.md, step 1), plus Σ_j |W_ih[r,j]|·δx_j from the input's own error.
    /// </summary>
    public static BoundedVector PreActivations(LayerWeights layer, BoundedVector x, double[] h,
        WeightPrecision precision = WeightPrecision.Float32)
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(x);
        int terms = layer.InputSize + layer.HiddenSize + 2;
        BoundedVector inputPart = Affine(layer.WeightIh, layer.BiasIh, x);
        BoundedVector state = BoundedVector.Exact(h);
        BoundedVector hiddenPart = Affine(layer.WeightHh, layer.BiasHh, state);
        var value = new double[inputPart.Value.Length];
        var bound = new double[value.Length];
        for (int r = 0; r < value.Length; r++)
        {
            value[r] = inputPart.Value[r] + hiddenPart.Value[r];
            double magnitude = Magnitude(layer.WeightIh, layer.BiasIh, x, r) + Magnitude(layer.WeightHh, layer.BiasHh, state, r);
            bound[r] = Propagated(layer.WeightIh, x, r) + (Gamma(terms) + GammaDouble(terms)) * magnitude
                + Int8Activations(layer.WeightIh, x, r, precision) + Int8Activations(layer.WeightHh, state, r, precision);
        }
        return new BoundedVector(value, bound);
    }

    /// <summary>h' = f(pre): the pre-activation's error through f (Lipschitz), plus f's own ulp error.</summary>
    public static BoundedVector Elman(LayerWeights layer, BoundedVector x, double[] h, WeightPrecision precision = WeightPrecision.Float32)
    {
        ArgumentNullException.ThrowIfNull(layer);
        BoundedVector pre = PreActivations(layer, x, h, precision);
        var value = new double[pre.Value.Length];
        var bound = new double[value.Length];
        for (int r = 0; r < value.Length; r++)
        {
            (value[r], bound[r]) = Activate(layer.Nonlinearity, pre.Value[r], pre.Bound[r]);
        }
        return new BoundedVector(value, bound);
    }

    /// <summary>
    /// LSTM (gates i, f, g, o): c' = f·c + i·g, h' = o·tanh(c'). Each product and sum of exact and erroneous
    /// factors: |âb̂ − ab| ≤ |â|·δb + |b|·δa; the two products and the sum of c' round at most twice per term
    /// (γ_2), the product of h' once (docs/tolerances.md, step 3).
    /// </summary>
    public static (BoundedVector H, BoundedVector C) Lstm(LayerWeights layer, BoundedVector x, double[] h, double[] c,
        WeightPrecision precision = WeightPrecision.Float32)
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(c);
        int n = layer.HiddenSize;
        BoundedVector pre = PreActivations(layer, x, h, precision);
        var hNext = new double[n];
        var hBound = new double[n];
        var cNext = new double[n];
        var cBound = new double[n];
        for (int j = 0; j < n; j++)
        {
            (double i, double di) = Activate(Activation.Sigmoid, pre.Value[j], pre.Bound[j]);
            (double f, double df) = Activate(Activation.Sigmoid, pre.Value[n + j], pre.Bound[n + j]);
            (double g, double dg) = Activate(Activation.Tanh, pre.Value[2 * n + j], pre.Bound[2 * n + j]);
            (double o, double dO) = Activate(Activation.Sigmoid, pre.Value[3 * n + j], pre.Bound[3 * n + j]);

            cNext[j] = f * c[j] + i * g;
            double fc = (f + df) * Math.Abs(c[j]);
            double ig = (i + di) * (Math.Abs(g) + dg);
            cBound[j] = df * Math.Abs(c[j]) + (i + di) * dg + Math.Abs(g) * di + Gamma(2) * (fc + ig);

            (double t, double dt) = Activate(Activation.Tanh, cNext[j], cBound[j]);
            hNext[j] = o * t;
            hBound[j] = (o + dO) * dt + Math.Abs(t) * dO + U * (o + dO) * (Math.Abs(t) + dt);
        }
        return (new BoundedVector(hNext, hBound), new BoundedVector(cNext, cBound));
    }

    /// <summary>
    /// GRU (rows r, z, n): r = σ(pre_r), z = σ(pre_z), n = tanh(xn + r·hn) with xn = W_in x + b_in (I + 1 terms)
    /// and hn = W_hn h + b_hn (H + 1 terms) summed apart; h' = (1 − z)·n + z·h, which a kernel may evaluate
    /// as n + z·(h − n): the rounding term covers both forms (docs/tolerances.md, step 3).
    /// </summary>
    public static BoundedVector Gru(LayerWeights layer, BoundedVector x, double[] h, WeightPrecision precision = WeightPrecision.Float32)
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(h);
        int n = layer.HiddenSize;
        BoundedVector pre = PreActivations(layer, x, h, precision);
        BoundedVector inputPart = Affine(layer.WeightIh, layer.BiasIh, x);
        BoundedVector state = BoundedVector.Exact(h);
        BoundedVector hiddenPart = Affine(layer.WeightHh, layer.BiasHh, state);
        var hNext = new double[n];
        var bound = new double[n];
        for (int j = 0; j < n; j++)
        {
            (double r, double dr) = Activate(Activation.Sigmoid, pre.Value[j], pre.Bound[j]);
            (double z, double dz) = Activate(Activation.Sigmoid, pre.Value[n + j], pre.Bound[n + j]);

            int row = 2 * n + j;
            double xn = inputPart.Value[row];
            double dxn = Propagated(layer.WeightIh, x, row)
                + (Gamma(layer.InputSize + 1) + GammaDouble(layer.InputSize + 1)) * Magnitude(layer.WeightIh, layer.BiasIh, x, row)
                + Int8Activations(layer.WeightIh, x, row, precision);
            double hn = hiddenPart.Value[row];
            double dhn = (Gamma(layer.HiddenSize + 1) + GammaDouble(layer.HiddenSize + 1)) * Magnitude(layer.WeightHh, layer.BiasHh, state, row)
                + Int8Activations(layer.WeightHh, state, row, precision);

            // q = xn + r·hn: one product and one sum (or one FMA).
            double q = xn + r * hn;
            double rhn = (r + dr) * (Math.Abs(hn) + dhn);
            double dq = dxn + (r + dr) * dhn + Math.Abs(hn) * dr + Gamma(2) * (Math.Abs(xn) + dxn + rhn);
            (double candidate, double dn) = Activate(Activation.Tanh, q, dq);

            hNext[j] = (1 - z) * candidate + z * h[j];
            double nAbs = Math.Abs(candidate) + dn;
            double zAbs = z + dz;
            // Propagation: h' = n + z·(h − n), so δh' ≤ (|1 − z| + δz)·δn + |h − n|·δz.
            double propagated = (Math.Abs(1 - z) + dz) * dn + Math.Abs(h[j] - candidate) * dz;
            // Rounding of either form, three operations at most on terms no larger than these.
            double rounding = Gamma(3) * (2 * nAbs + zAbs * (Math.Abs(h[j]) + nAbs));
            bound[j] = propagated + rounding;
        }
        return new BoundedVector(hNext, bound);
    }

    /// <summary>
    /// y = g(W h + b) with h carrying errors: the sum as in <see cref="PreActivations"/> (K = H + 1 terms), then
    /// g; softmax by its own bound (docs/tolerances.md, step 4).
    /// </summary>
    public static BoundedVector Dense(HeadWeights head, BoundedVector h, WeightPrecision precision = WeightPrecision.Float32)
    {
        ArgumentNullException.ThrowIfNull(head);
        ArgumentNullException.ThrowIfNull(h);
        int terms = head.InputSize + 1;
        BoundedVector pre = Affine(head.Weight, head.Bias, h);
        var bound = new double[pre.Value.Length];
        for (int o = 0; o < bound.Length; o++)
        {
            bound[o] = Propagated(head.Weight, h, o) + (Gamma(terms) + GammaDouble(terms)) * Magnitude(head.Weight, head.Bias, h, o)
                + Int8Activations(head.Weight, h, o, precision);
        }
        if (head.Activation == Activation.Softmax)
        {
            return Softmax(pre.Value, bound);
        }
        var value = new double[bound.Length];
        for (int o = 0; o < value.Length; o++)
        {
            (value[o], bound[o]) = Activate(head.Activation, pre.Value[o], bound[o]);
        }
        return new BoundedVector(value, bound);
    }

    /// <summary>
    /// Softmax of q̂ (|q̂ − q| ≤ δq) computed as the library does: subtract the max (one rounding), exp (2 ulp),
    /// sum (γ_{O−1}), multiply by 1/sum (two roundings). Perturbation: y(q̂)_o / y(q)_o ∈ [e^{−2Δ}, e^{2Δ}], Δ = max δq.
    /// </summary>
    public static BoundedVector Softmax(double[] q, double[] qBound)
    {
        ArgumentNullException.ThrowIfNull(q);
        ArgumentNullException.ThrowIfNull(qBound);
        var y = (double[])q.Clone();
        ReferenceMath.Apply(Activation.Softmax, y);
        double delta = qBound.Max();
        double max = q.Max();
        double spread = q.Max(v => max - v) + 2 * delta;           // the largest |q̂_j − max q̂|
        double expError = Math.Exp(U * spread) * (1 + 2 * ExpUlp * U * (1 + 4 * U)) - 1; // one exp term, relative (rounded argument, ulp)
        double sumError = Gamma(Math.Max(q.Length - 1, 0));
        double rounding = (1 + expError) * (1 + U) * (1 + U) / ((1 - expError) * (1 - sumError)) - 1;
        double growth = Math.Exp(2 * delta);
        var bound = new double[y.Length];
        for (int o = 0; o < y.Length; o++)
        {
            // The last term covers exp results below the normal range, whose ulp is not relative.
            bound[o] = y[o] * (growth - 1) + y[o] * growth * rounding + ReferenceActivationError * y[o] + SubnormalFloor;
        }
        return new BoundedVector(y, bound);
    }

    /// <summary>
    /// φ(p) for p known within δ, and the bound on |φ̂(p̂) − φ(p)| ≤ L·δ + k ulp of |φ(p̂)|, with L the largest
    /// slope of φ (tanh 1, σ 1/4, ReLU and identity 1) and k its ulp error (ReLU and identity are exact).
    /// One ulp of |y| is at most 2u·|y|, and at least the smallest subnormal (docs/tolerances.md, step 2).
    /// </summary>
    public static (double Value, double Bound) Activate(Activation activation, double p, double delta)
    {
        double value = ReferenceMath.Apply(activation, p);
        (double slope, double ulps) = activation switch
        {
            Activation.Tanh => (1.0, TanhUlp),
            Activation.Sigmoid => (0.25, SigmoidUlp),
            Activation.Relu or Activation.Identity => (1.0, 0.0),
            _ => throw new ArgumentOutOfRangeException(nameof(activation), activation, "Not element-wise."),
        };
        double perturbed = Math.Abs(value) + slope * delta;          // ≥ |φ(p̂)|
        double ulp = 2 * U * perturbed * (1 + 4 * U) + float.Epsilon;  // ≥ one float ulp at |φ(p̂)|
        return (value, slope * delta + ulps * ulp + ReferenceActivationError * Math.Abs(value));
    }

    private static BoundedVector Skip(BoundedVector y, ReadOnlySpan<float> input, int skip)
    {
        if (skip == 0)
        {
            return y;
        }
        double[] value = (double[])y.Value.Clone();
        double[] bound = (double[])y.Bound.Clone();
        for (int j = 0; j < skip; j++)
        {
            value[j] += input[j];
            bound[j] += U * (Math.Abs(value[j]) + bound[j]);
        }
        return new BoundedVector(value, bound);
    }

    // Σ_j W[r,j]·x_j + b[r] in double, per row.
    private static BoundedVector Affine(ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, BoundedVector x)
    {
        int columns = x.Value.Length;
        var value = new double[bias.Length];
        for (int r = 0; r < value.Length; r++)
        {
            double sum = bias[r];
            for (int j = 0; j < columns; j++)
            {
                sum += (double)weight[r * columns + j] * x.Value[j];
            }
            value[r] = sum;
        }
        return new BoundedVector(value, new double[value.Length]);
    }

    // Σ|terms| of row r as the float code sees them: |b[r]| + Σ_j |W[r,j]|·(|x_j| + δx_j) ≥ Σ_j |W[r,j]·x̂_j|.
    private static double Magnitude(ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, BoundedVector x, int r)
    {
        int columns = x.Value.Length;
        double sum = Math.Abs(bias[r]);
        for (int j = 0; j < columns; j++)
        {
            sum += Math.Abs(weight[r * columns + j]) * (Math.Abs(x.Value[j]) + x.Bound[j]);
        }
        return sum;
    }

    // How the input's own error moves row r: Σ_j |W[r,j]|·δx_j.
    private static double Propagated(ReadOnlySpan<float> weight, BoundedVector x, int r)
    {
        int columns = x.Value.Length;
        double sum = 0;
        for (int j = 0; j < columns; j++)
        {
            sum += Math.Abs(weight[r * columns + j]) * x.Bound[j];
        }
        return sum;
    }
}
