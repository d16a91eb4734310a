namespace Rnn.Fast.Training;

/// <summary>
/// One recurrent layer's trainable tensors in the kernel's packed layout (see <see cref="Internals.RnnKernel"/>),
/// plus what the kernels derive from them: the summed bias, the GRU's separate b_hn, and the transposed
/// packings that backward multiplies by.
/// </summary>
internal sealed class TrainableLayer
{
    public TrainableLayer(LayerWeights weights, int index, int lanes)
    {
        Cell = weights.Cell;
        Nonlinearity = weights.Nonlinearity;
        InputSize = weights.InputSize;
        HiddenSize = weights.HiddenSize;
        Gates = weights.GateCount;
        Lanes = lanes;
        Blocks = (HiddenSize + lanes - 1) / lanes;
        PaddedHidden = Blocks * lanes;
        GateWidth = Blocks * Gates * lanes;
        PaddedInput = (InputSize + lanes - 1) / lanes * lanes;

        WeightIh = MatrixParameter($"weight_ih_l{index}", weights.WeightIh, InputSize);
        WeightHh = MatrixParameter($"weight_hh_l{index}", weights.WeightHh, HiddenSize);
        BiasIh = BiasParameter($"bias_ih_l{index}", weights.BiasIh);
        BiasHh = BiasParameter($"bias_hh_l{index}", weights.BiasHh);

        Bias = new float[GateWidth];
        BiasHn = Cell == CellType.Gru ? new float[PaddedHidden] : [];
        WhTransposed = new float[Blocks * GateWidth * lanes];
        WxTransposed = new float[PaddedInput / lanes * GateWidth * lanes];
        Refresh();
    }

    public CellType Cell { get; }
    public Activation Nonlinearity { get; }
    public int InputSize { get; }
    public int HiddenSize { get; }
    public int Gates { get; }
    public int Lanes { get; }
    public int Blocks { get; }
    public int PaddedHidden { get; }
    public int PaddedInput { get; }

    /// <summary>Floats per row of packed gate pre-activations: Blocks × Gates × lanes.</summary>
    public int GateWidth { get; }

    public Parameter WeightIh { get; }   // packed [nb, I, G, V]
    public Parameter WeightHh { get; }   // packed [nb, H, G, V]
    public Parameter BiasIh { get; }     // packed [nb, G, V]
    public Parameter BiasHh { get; }     // packed [nb, G, V]

    public float[] Bias { get; }         // [nb, G, V]: b_ih + b_hh (GRU n rows: b_in only)
    public float[] BiasHn { get; }       // [Hp]: GRU b_hn
    public float[] WhTransposed { get; } // [ceil(H/V), GateWidth, V]: backward's W_hhᵀ·d
    public float[] WxTransposed { get; } // [ceil(I/V), GateWidth, V]: backward's W_ihᵀ·d

    public IEnumerable<Parameter> Parameters => [WeightIh, WeightHh, BiasIh, BiasHh];

    /// <summary>Recomputes the derived arrays after the parameters changed.</summary>
    public void Refresh()
    {
        float[] bih = BiasIh.Values, bhh = BiasHh.Values;
        for (int q = 0; q < GateWidth; q++)
        {
            int gate = q / Lanes % Gates;
            bool separate = Cell == CellType.Gru && gate == 2; // r scales b_hn, so it stays apart
            Bias[q] = bih[q] + (separate ? 0f : bhh[q]);
            if (separate)
            {
                BiasHn[q / (Gates * Lanes) * Lanes + q % Lanes] = bhh[q];
            }
        }
        Transpose(WeightHh.Values, HiddenSize, WhTransposed);
        Transpose(WeightIh.Values, InputSize, WxTransposed);
    }

    // packed [nb][k][G][V] -> transposed [k / V][GateWidth][V]: the packed gate row (b, g, lane) becomes
    // the broadcast column and k the lanes, so W·ᵀd is the same column-broadcast product as the forward step.
    private void Transpose(float[] packed, int k, float[] transposed)
    {
        int v = Lanes;
        for (int b = 0; b < Blocks; b++)
        {
            for (int j = 0; j < k; j++)
            {
                // Column j's G·V packed values are contiguous; they land V apart in the transposed block.
                (int jBlock, int jLane) = Math.DivRem(j, v);
                ReadOnlySpan<float> column = packed.AsSpan((b * k + j) * Gates * v, Gates * v);
                Span<float> target = transposed.AsSpan((jBlock * GateWidth + b * Gates * v) * v + jLane);
                for (int r = 0; r < column.Length; r++)
                {
                    target[r * v] = column[r];
                }
            }
        }
    }

    private Parameter MatrixParameter(string name, ReadOnlySpan<float> source, int k)
    {
        int rows = Gates * HiddenSize;
        var values = new float[Blocks * k * Gates * Lanes];
        var index = new int[rows * k];
        for (int row = 0; row < rows; row++)
        {
            (int gate, int unit) = Math.DivRem(row, HiddenSize);
            (int block, int lane) = Math.DivRem(unit, Lanes);
            for (int j = 0; j < k; j++)
            {
                int packed = ((block * k + j) * Gates + gate) * Lanes + lane;
                index[row * k + j] = packed;
                values[packed] = source[row * k + j];
            }
        }
        return new Parameter(name, [rows, k], values, new float[values.Length], index);
    }

    private Parameter BiasParameter(string name, ReadOnlySpan<float> source)
    {
        int rows = Gates * HiddenSize;
        var values = new float[GateWidth];
        var index = new int[rows];
        for (int row = 0; row < rows; row++)
        {
            (int gate, int unit) = Math.DivRem(row, HiddenSize);
            (int block, int lane) = Math.DivRem(unit, Lanes);
            int packed = (block * Gates + gate) * Lanes + lane;
            index[row] = packed;
            values[packed] = source[row];
        }
        return new Parameter(name, [rows], values, new float[values.Length], index);
    }

    /// <summary>The layer's current weights as immutable <see cref="LayerWeights"/>.</summary>
    public LayerWeights ToWeights() => Cell switch
    {
        CellType.Lstm => LayerWeights.Lstm(InputSize, HiddenSize, WeightIh.ToArray(), WeightHh.ToArray(), BiasIh.ToArray(), BiasHh.ToArray()),
        CellType.Gru => LayerWeights.Gru(InputSize, HiddenSize, WeightIh.ToArray(), WeightHh.ToArray(), BiasIh.ToArray(), BiasHh.ToArray()),
        _ => LayerWeights.Elman(InputSize, HiddenSize, Nonlinearity, WeightIh.ToArray(), WeightHh.ToArray(), BiasIh.ToArray(), BiasHh.ToArray()),
    };
}

/// <summary>The dense head's trainable tensors: weight rows zero-padded to the state stride.</summary>
internal sealed class TrainableHead
{
    public TrainableHead(HeadWeights head, int paddedInput)
    {
        InputSize = head.InputSize;
        OutputSize = head.OutputSize;
        Activation = head.Activation;
        PaddedInput = paddedInput;
        var values = new float[OutputSize * paddedInput];
        var index = new int[OutputSize * InputSize];
        for (int o = 0; o < OutputSize; o++)
        {
            for (int j = 0; j < InputSize; j++)
            {
                index[o * InputSize + j] = o * paddedInput + j;
                values[o * paddedInput + j] = head.Weight[o * InputSize + j];
            }
        }
        Weight = new Parameter("head.weight", [OutputSize, InputSize], values, new float[values.Length], index);
        Bias = new Parameter("head.bias", [OutputSize], head.Bias.ToArray(), new float[OutputSize], [.. Enumerable.Range(0, OutputSize)]);
    }

    public int InputSize { get; }
    public int OutputSize { get; }
    public int PaddedInput { get; }
    public Activation Activation { get; }
    public Parameter Weight { get; } // [O, Hp]
    public Parameter Bias { get; }   // [O]

    public HeadWeights ToWeights() => new(InputSize, OutputSize, Weight.ToArray(), Bias.ToArray(), Activation);
}
