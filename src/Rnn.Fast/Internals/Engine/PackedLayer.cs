namespace Rnn.Fast.Internals;

/// <summary>
/// One recurrent layer (one direction) in a kernel's block layout: the single packing used by inference,
/// training and export. Training layers also carry gradients of the same shapes and the transposed
/// matrices backward multiplies by, refreshed on demand after the values change.
/// </summary>
internal sealed class PackedLayer
{
    private PackedMatrix? _wxTransposed;
    private PackedMatrix? _whTransposed;
    private bool _transposesCurrent;

    public PackedLayer(LayerWeights weights, int lanes, bool withGradients = false)
    {
        Cell = weights.Cell;
        Nonlinearity = weights.Nonlinearity;
        InputSize = weights.InputSize;
        HiddenSize = weights.HiddenSize;
        Gates = weights.GateCount;
        Lanes = lanes;
        HasBiasIh = weights.HasBiasIh;
        HasBiasHh = weights.HasBiasHh;
        Wx = PackedMatrix.FromRows(weights.WeightIh, HiddenSize, InputSize, Gates, lanes);
        Wh = PackedMatrix.FromRows(weights.WeightHh, HiddenSize, HiddenSize, Gates, lanes);
        BiasIh = PackedMatrix.FromRows(weights.BiasIh, HiddenSize, 1, Gates, lanes);
        BiasHh = PackedMatrix.FromRows(weights.BiasHh, HiddenSize, 1, Gates, lanes);
        Bias = new float[GateWidth];
        BiasHn = Cell == CellType.Gru ? new float[PaddedHidden] : [];
        if (withGradients)
        {
            Gradients = new LayerGradients(this);
            _wxTransposed = Wx.CreateTransposed();
            _whTransposed = Wh.CreateTransposed();
        }
        ValuesChanged();
    }

    public CellType Cell { get; }
    public Activation Nonlinearity { get; }
    public int InputSize { get; }
    public int HiddenSize { get; }
    public int Gates { get; }
    public int Lanes { get; }
    public int Blocks => Wh.Blocks;

    /// <summary>False for PyTorch's <c>bias=False</c>: the bias is zero, not trained and not exported.</summary>
    public bool HasBiasIh { get; }

    /// <inheritdoc cref="HasBiasIh"/>
    public bool HasBiasHh { get; }

    /// <summary>Blocks × lanes: the stride of this layer's state rows and output rows.</summary>
    public int PaddedHidden => Blocks * Lanes;

    /// <summary>I rounded up to whole lanes: the row stride of dL/dx.</summary>
    public int PaddedInput => (InputSize + Lanes - 1) / Lanes * Lanes;

    /// <summary>Floats per row of packed gate pre-activations: Blocks × Gates × lanes.</summary>
    public int GateWidth => Wh.RowWidth;

    public PackedMatrix Wx { get; }      // [nb, I, G, V]
    public PackedMatrix Wh { get; }      // [nb, H, G, V]
    public PackedMatrix BiasIh { get; }  // [nb, 1, G, V]
    public PackedMatrix BiasHh { get; }  // [nb, 1, G, V]

    /// <summary>[nb, G, V]: b_ih + b_hh, except the GRU's n gate, which holds b_in only.</summary>
    public float[] Bias { get; }

    /// <summary>[Hp]: the GRU's b_hn, kept apart because r scales it together with W_hn h; empty for other cells.</summary>
    public float[] BiasHn { get; }

    /// <summary>Gradients of the four tensors; null for an inference layer.</summary>
    public LayerGradients? Gradients { get; }

    /// <summary>W_ihᵀ packed for backward's dL/dx (training layers only).</summary>
    public PackedMatrix WxTransposed => RefreshTransposes()._wxTransposed!;

    /// <summary>W_hhᵀ packed for backward's dL/dh(t−1) (training layers only).</summary>
    public PackedMatrix WhTransposed => RefreshTransposes()._whTransposed!;

    /// <summary>Recomputes what is derived from the values (the folded biases; the transposes lazily).</summary>
    public void ValuesChanged()
    {
        float[] bih = BiasIh.Values, bhh = BiasHh.Values;
        for (int q = 0; q < Bias.Length; q++)
        {
            int gate = q / Lanes % Gates;
            bool separate = Cell == CellType.Gru && gate == 2; // r scales b_hn, so it stays apart
            Bias[q] = bih[q] + (separate ? 0f : bhh[q]);
            if (separate)
            {
                BiasHn[q / (Gates * Lanes) * Lanes + q % Lanes] = bhh[q];
            }
        }
        _transposesCurrent = false;
    }

    private PackedLayer RefreshTransposes()
    {
        if (!_transposesCurrent && _wxTransposed is not null)
        {
            Wx.TransposeInto(_wxTransposed);
            Wh.TransposeInto(_whTransposed!);
            _transposesCurrent = true;
        }
        return this;
    }

    /// <summary>The layer's current values as immutable <see cref="LayerWeights"/> (PyTorch layout).</summary>
    public LayerWeights ToWeights()
    {
        float[] bih = HasBiasIh ? BiasIh.ToRows() : [], bhh = HasBiasHh ? BiasHh.ToRows() : [];
        return Cell switch
        {
            CellType.Lstm => LayerWeights.Lstm(InputSize, HiddenSize, Wx.ToRows(), Wh.ToRows(), bih, bhh),
            CellType.Gru => LayerWeights.Gru(InputSize, HiddenSize, Wx.ToRows(), Wh.ToRows(), bih, bhh),
            _ => LayerWeights.Elman(InputSize, HiddenSize, Nonlinearity, Wx.ToRows(), Wh.ToRows(), bih, bhh),
        };
    }
}

/// <summary>A training layer's gradients, each the shape of the packed tensor it belongs to (zeros in the padding).</summary>
internal sealed class LayerGradients(PackedLayer layer)
{
    public float[] Wx { get; } = new float[layer.Wx.Values.Length];
    public float[] Wh { get; } = new float[layer.Wh.Values.Length];
    public float[] BiasIh { get; } = new float[layer.GateWidth];
    public float[] BiasHh { get; } = new float[layer.GateWidth];
}
