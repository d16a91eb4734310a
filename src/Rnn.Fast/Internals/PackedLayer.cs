namespace Rnn.Fast.Internals;

/// <summary>A recurrent layer's weights repacked into a kernel's block layout (see <see cref="RnnKernel"/>).</summary>
internal sealed class PackedLayer
{
    public PackedLayer(LayerWeights weights, int lanes)
    {
        Source = weights;
        Cell = weights.Cell;
        Nonlinearity = weights.Nonlinearity;
        InputSize = weights.InputSize;
        HiddenSize = weights.HiddenSize;
        Gates = weights.GateCount;
        Blocks = (HiddenSize + lanes - 1) / lanes;
        PaddedHidden = Blocks * lanes;
        Wx = Pack(weights.WeightIh, InputSize, lanes);
        Wh = Pack(weights.WeightHh, HiddenSize, lanes);
        Bias = new float[Blocks * Gates * lanes];
        BiasHn = Cell == CellType.Gru ? new float[PaddedHidden] : [];
        for (int row = 0; row < Gates * HiddenSize; row++)
        {
            (int gate, int unit) = Math.DivRem(row, HiddenSize);
            (int block, int lane) = Math.DivRem(unit, lanes);
            // The two biases add, except the GRU's b_hn, which r scales together with W_hn h.
            bool separate = Cell == CellType.Gru && gate == 2;
            Bias[(block * Gates + gate) * lanes + lane] = weights.BiasIh[row] + (separate ? 0f : weights.BiasHh[row]);
            if (separate)
            {
                BiasHn[unit] = weights.BiasHh[row];
            }
        }
    }

    public LayerWeights Source { get; }
    public CellType Cell { get; }
    public Activation Nonlinearity { get; }
    public int InputSize { get; }
    public int HiddenSize { get; }
    public int Gates { get; }
    public int Blocks { get; }

    /// <summary>Blocks × lanes: the stride of this layer's state and outputs.</summary>
    public int PaddedHidden { get; }

    /// <summary>Floats per step of the packed gate pre-activations: Blocks × Gates × lanes.</summary>
    public int GateWidth => Bias.Length;

    public float[] Wx { get; }   // [nb, I, G, V]
    public float[] Wh { get; }   // [nb, H, G, V]
    public float[] Bias { get; } // [nb, G, V], b_ih + b_hh (GRU n gate: b_in only)
    public float[] BiasHn { get; } // [nb*V], GRU's b_hn; empty for other cells

    // PyTorch row (gate * H + unit, column j) -> packed [unit / V][j][gate][unit % V].
    private float[] Pack(ReadOnlySpan<float> source /* [G*H, k] */, int k, int lanes)
    {
        var packed = new float[Blocks * k * Gates * lanes];
        for (int row = 0; row < Gates * HiddenSize; row++)
        {
            (int gate, int unit) = Math.DivRem(row, HiddenSize);
            (int block, int lane) = Math.DivRem(unit, lanes);
            for (int j = 0; j < k; j++)
            {
                packed[((block * k + j) * Gates + gate) * lanes + lane] = source[row * k + j];
            }
        }
        return packed;
    }
}

/// <summary>A dense head with rows zero-padded to the state stride, so its dot products have no tail.</summary>
internal sealed class PackedHead
{
    public PackedHead(HeadWeights weights, int paddedInput)
    {
        Source = weights;
        Weight = new float[weights.OutputSize * paddedInput];
        for (int o = 0; o < weights.OutputSize; o++)
        {
            weights.Weight.Slice(o * weights.InputSize, weights.InputSize).CopyTo(Weight.AsSpan(o * paddedInput));
        }
        Bias = weights.Bias.ToArray();
    }

    public HeadWeights Source { get; }
    public float[] Weight { get; } // [O, Hp]
    public float[] Bias { get; }   // [O]
}
