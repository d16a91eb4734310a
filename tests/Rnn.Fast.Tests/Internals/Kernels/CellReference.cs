using Rnn.Fast.Internals;

namespace Rnn.Fast.Tests.Internals.Kernels;

/// <summary>
/// Random weights of one cell in PyTorch's layout (<c>weight_ih [G·H, I]</c>, <c>weight_hh [G·H, H]</c>, one bias
/// <c>[G·H]</c>) and the same weights packed for a kernel of <see cref="Lanes"/> lanes.
/// </summary>
internal sealed class CellWeights
{
    public CellWeights(Random random, int gates, int hidden, int inputs, int lanes, double scale)
    {
        Gates = gates;
        Hidden = hidden;
        Inputs = inputs;
        Lanes = lanes;
        Blocks = (hidden + lanes - 1) / lanes;
        double w = scale / Math.Sqrt(hidden + inputs + 1);
        WeightIh = OpCases.Uniform(random, gates * hidden * inputs, w);
        WeightHh = OpCases.Uniform(random, gates * hidden * hidden, w);
        Bias = OpCases.Uniform(random, gates * hidden, 0.5 * scale);
        BiasHn = OpCases.Uniform(random, hidden, 0.5 * scale);
        Wx = PackedMatrix.FromRows(WeightIh, hidden, inputs, gates, lanes);
        Wh = PackedMatrix.FromRows(WeightHh, hidden, hidden, gates, lanes);
    }

    public int Gates { get; }
    public int Hidden { get; }
    public int Inputs { get; }
    public int Lanes { get; }
    public int Blocks { get; }
    public int PaddedHidden => Blocks * Lanes;
    public int GateWidth => Blocks * Gates * Lanes;

    public float[] WeightIh { get; }  // [G·H, I]
    public float[] WeightHh { get; }  // [G·H, H]
    public float[] Bias { get; }      // [G·H]: what the op adds (b_ih + b_hh folded; the GRU's n row holds b_in only)
    public float[] BiasHn { get; }    // [H]: the GRU's b_hn
    public PackedMatrix Wx { get; }   // [nb, I, G, V]
    public PackedMatrix Wh { get; }   // [nb, H, G, V]

    /// <summary>Index of (gate, unit) in a packed gate row <c>[nb, G, V]</c> of width <paramref name="gates"/>·Hp.</summary>
    public int GateIndex(int gate, int unit, int gates) => (unit / Lanes * gates + gate) * Lanes + unit % Lanes;

    /// <summary>A PyTorch-layout row <c>[G·H]</c> packed as <c>[nb, G, V]</c>, zero in the padding lanes.</summary>
    public Guarded PackGates(ReadOnlySpan<float> rows)
    {
        var packed = new Guarded(GateWidth);
        for (int g = 0; g < Gates; g++)
        {
            for (int u = 0; u < Hidden; u++)
            {
                packed[GateIndex(g, u, Gates)] = rows[g * Hidden + u];
            }
        }
        return packed;
    }

    /// <summary>A state row <c>[S, Hp]</c>: uniform in the units, <paramref name="padding"/> in the padding units.</summary>
    public Guarded State(Random random, int streams, double scale, float padding)
    {
        var state = new Guarded(streams * PaddedHidden);
        for (int s = 0; s < streams; s++)
        {
            for (int u = 0; u < PaddedHidden; u++)
            {
                state[s * PaddedHidden + u] = u < Hidden ? OpCases.Uniform(random, scale) : padding;
            }
        }
        return state;
    }
}

/// <summary>
/// The reference twins of the cell ops: plain loops over PyTorch-layout weights, in double precision, each value
/// carrying the error bound of <see cref="ErrorBound"/>. The gate formulas are PyTorch's (nn.LSTM, nn.GRU, nn.RNN);
/// where the kernel evaluates an algebraically equal form (the GRU's n + z(h − n)), the twin uses that form so that
/// the rounding terms of the bound belong to the operations the kernel actually performs.
/// </summary>
internal static class CellReference
{
    public readonly record struct LstmUnit(Approx I, Approx F, Approx G, Approx O, Approx C, Approx H);

    public readonly record struct GruUnit(Approx R, Approx Z, Approx N, Approx HiddenPart, Approx H);

    /// <summary>
    /// start[row] + Σ_j wIh[row, j]·x[j] + Σ_j wHh[row, j]·h[j] as one float sum of 1 + I + H terms (the kernel
    /// accumulates both products into the same registers); <paramref name="x"/> empty leaves out the input part.
    /// </summary>
    public static Approx Sum(float start, CellWeights w, int row, ReadOnlySpan<float> x, ReadOnlySpan<float> h)
    {
        double value = start, magnitude = Math.Abs(start);
        int terms = 1;
        if (!x.IsEmpty)
        {
            Accumulate(w.WeightIh.AsSpan(row * w.Inputs, w.Inputs), x, ref value, ref magnitude, ref terms);
        }
        if (!h.IsEmpty)
        {
            Accumulate(w.WeightHh.AsSpan(row * w.Hidden, w.Hidden), h, ref value, ref magnitude, ref terms);
        }
        return Approx.Sum(value, magnitude, terms);
    }

    private static void Accumulate(ReadOnlySpan<float> weights, ReadOnlySpan<float> x, ref double value, ref double magnitude, ref int terms)
    {
        for (int j = 0; j < weights.Length; j++)
        {
            double product = (double)weights[j] * x[j];
            value += product;
            magnitude += Math.Abs(product);
        }
        terms += weights.Length;
    }

    /// <summary>nn.LSTM: i, f, g, o = σ, σ, tanh, σ of start + W_ih x + W_hh h; c' = f c + i g; h' = o tanh(c').</summary>
    public static LstmUnit[] Lstm(CellWeights w, ReadOnlySpan<float> start /* [4H] */, ReadOnlySpan<float> x /* [I] or empty */,
        ReadOnlySpan<float> h /* [H] */, ReadOnlySpan<float> c /* [H] */)
    {
        int hidden = w.Hidden;
        var units = new LstmUnit[hidden];
        for (int u = 0; u < hidden; u++)
        {
            Approx i = Approx.Sigmoid(Sum(start[u], w, u, x, h));
            Approx f = Approx.Sigmoid(Sum(start[hidden + u], w, hidden + u, x, h));
            Approx g = Approx.Tanh(Sum(start[2 * hidden + u], w, 2 * hidden + u, x, h));
            Approx o = Approx.Sigmoid(Sum(start[3 * hidden + u], w, 3 * hidden + u, x, h));
            Approx cNext = f * c[u] + i * g;
            units[u] = new LstmUnit(i, f, g, o, cNext, o * Approx.Tanh(cNext));
        }
        return units;
    }

    /// <summary>
    /// nn.GRU: r, z = σ(start + W_ih x + W_hh h) (start holds b_ir + b_hr, b_iz + b_hz);
    /// n = tanh(start_n + W_in x + r (b_hn + W_hn h)); h' = (1 − z) n + z h, evaluated as n + z (h − n).
    /// </summary>
    public static GruUnit[] Gru(CellWeights w, ReadOnlySpan<float> start /* [3H] */, ReadOnlySpan<float> biasHn /* [H] */,
        ReadOnlySpan<float> x /* [I] or empty */, ReadOnlySpan<float> h /* [H] */)
    {
        int hidden = w.Hidden;
        var units = new GruUnit[hidden];
        for (int u = 0; u < hidden; u++)
        {
            Approx r = Approx.Sigmoid(Sum(start[u], w, u, x, h));
            Approx z = Approx.Sigmoid(Sum(start[hidden + u], w, hidden + u, x, h));
            Approx inputPart = Sum(start[2 * hidden + u], w, 2 * hidden + u, x, []);
            Approx hiddenPart = Sum(biasHn[u], w, 2 * hidden + u, [], h);
            Approx n = Approx.Tanh(r * hiddenPart + inputPart);
            units[u] = new GruUnit(r, z, n, hiddenPart, n + z * (h[u] - n));
        }
        return units;
    }

    /// <summary>nn.RNN: h' = f(start + W_ih x + W_hh h).</summary>
    public static Approx[] Elman(Activation nonlinearity, CellWeights w, ReadOnlySpan<float> start /* [H] */,
        ReadOnlySpan<float> x /* [I] or empty */, ReadOnlySpan<float> h /* [H] */)
    {
        var units = new Approx[w.Hidden];
        for (int u = 0; u < w.Hidden; u++)
        {
            units[u] = Activate(nonlinearity, Sum(start[u], w, u, x, h));
        }
        return units;
    }

    public static Approx Activate(Activation activation, Approx a) => activation switch
    {
        Activation.Identity => a,
        Activation.Tanh => Approx.Tanh(a),
        Activation.Relu => Approx.Relu(a),
        Activation.Sigmoid => Approx.Sigmoid(a),
        _ => throw new ArgumentOutOfRangeException(nameof(activation), activation, "Not an element-wise activation."),
    };

    /// <summary>What a padding unit (zero weights, zero bias, zero state) outputs: f(0).</summary>
    public static float AtZero(Activation activation) => activation == Activation.Sigmoid ? 0.5f : 0f;
}
