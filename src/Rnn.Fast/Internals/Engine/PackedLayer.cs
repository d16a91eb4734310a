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

    public PackedLayer(LayerWeights weights, int lanes, bool withGradients = false,
        WeightPrecision precision = WeightPrecision.Float32, Int8Matrix? int8Ih = null, Int8Matrix? int8Hh = null,
        bool? reducedProducts = null)
    {
        Cell = weights.Cell;
        Nonlinearity = weights.Nonlinearity;
        InputSize = weights.InputSize;
        HiddenSize = weights.HiddenSize;
        Gates = weights.GateCount;
        Lanes = lanes;
        HasBiasIh = weights.HasBiasIh;
        HasBiasHh = weights.HasBiasHh;
        Precision = precision;
        if (precision == WeightPrecision.Float32)
        {
            Wx = PackedMatrix.FromRows(weights.WeightIh, HiddenSize, InputSize, Gates, lanes);
            Wh = PackedMatrix.FromRows(weights.WeightHh, HiddenSize, HiddenSize, Gates, lanes);
        }
        else
        {
            // The weights live only in reduced precision; the float32 matrices keep the shape with no columns, so the
            // cells called on them add no product (the reduced products have filled the pre-activations).
            ReducedWx = int8Ih is null
                ? ReducedMatrix.FromRows(weights.WeightIh, HiddenSize, InputSize, Gates, lanes, precision)
                : ReducedMatrix.FromInt8(int8Ih.Values, int8Ih.Scales, HiddenSize, InputSize, Gates, lanes);
            ReducedWh = int8Hh is null
                ? ReducedMatrix.FromRows(weights.WeightHh, HiddenSize, HiddenSize, Gates, lanes, precision)
                : ReducedMatrix.FromInt8(int8Hh.Values, int8Hh.Scales, HiddenSize, HiddenSize, Gates, lanes);
            long float32Bytes = 4L * Gates * HiddenSize * (InputSize + HiddenSize);
            UsesReducedProducts = ReducedExecution.UseReducedProducts(float32Bytes, precision, reducedProducts);
            if (UsesReducedProducts)
            {
                Wx = new PackedMatrix(HiddenSize, 0, Gates, lanes);
                Wh = new PackedMatrix(HiddenSize, 0, Gates, lanes);
            }
            else
            {
                // Small enough to sit in L1 as float32: the float32 kernels on the dequantized values (ReducedExecution).
                Wx = PackedMatrix.FromRows(ReducedWx.ToRows(), HiddenSize, InputSize, Gates, lanes);
                Wh = PackedMatrix.FromRows(ReducedWh.ToRows(), HiddenSize, HiddenSize, Gates, lanes);
            }
        }
        BiasIh = PackedMatrix.FromRows(weights.BiasIh, HiddenSize, 1, Gates, lanes);
        BiasHh = PackedMatrix.FromRows(weights.BiasHh, HiddenSize, 1, Gates, lanes);
        Bias = new float[GateWidth];
        BiasHn = Cell == CellType.Gru ? new float[PaddedHidden] : [];
        HiddenBias = Cell == CellType.Gru && UsesReducedProducts ? new float[GateWidth] : [];
        if (withGradients)
        {
            if (IsReduced)
            {
                throw new ArgumentException("A reduced-precision layer cannot be trained: train in float32, then quantize.", nameof(precision));
            }
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

    public PackedMatrix Wx { get; }      // [nb, I, G, V]; no columns when the reduced products run
    public PackedMatrix Wh { get; }      // [nb, H, G, V]; no columns when the reduced products run

    /// <summary>How the weight matrices are stored; biases are always float32.</summary>
    public WeightPrecision Precision { get; }

    /// <summary>True when the weights are bf16 or int8 (<see cref="ReducedWx"/>, <see cref="ReducedWh"/>).</summary>
    public bool IsReduced => Precision != WeightPrecision.Float32;

    /// <summary>
    /// True when the recurrence multiplies by <see cref="ReducedWx"/> and <see cref="ReducedWh"/>; false for float32 layers
    /// and for reduced layers small enough to run as float32 on their dequantized values (<see cref="ReducedExecution"/>).
    /// </summary>
    public bool UsesReducedProducts { get; }

    public ReducedMatrix? ReducedWx { get; }  // [nb, ceil(I/2), G, V, 2], reduced layers only
    public ReducedMatrix? ReducedWh { get; }  // [nb, ceil(H/2), G, V, 2], reduced layers only

    /// <summary>[nb, 3, V]: 0 for r and z, b_hn for n: the bias of a reduced GRU's separate W_hh·h product; else empty.</summary>
    public float[] HiddenBias { get; }
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
                if (HiddenBias.Length != 0)
                {
                    HiddenBias[q] = bhh[q];
                }
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
    /// <remarks>A reduced layer gives its dequantized weights: the values its products use.</remarks>
    public LayerWeights ToWeights()
    {
        float[] bih = HasBiasIh ? BiasIh.ToRows() : [], bhh = HasBiasHh ? BiasHh.ToRows() : [];
        float[] wih = ReducedWx?.ToRows() ?? Wx.ToRows(), whh = ReducedWh?.ToRows() ?? Wh.ToRows();
        return Cell switch
        {
            CellType.Lstm => LayerWeights.Lstm(InputSize, HiddenSize, wih, whh, bih, bhh),
            CellType.Gru => LayerWeights.Gru(InputSize, HiddenSize, wih, whh, bih, bhh),
            _ => LayerWeights.Elman(InputSize, HiddenSize, Nonlinearity, wih, whh, bih, bhh),
        };
    }
}

/// <summary>An int8 matrix as stored in a file: PyTorch's row-major <c>[rows, K]</c> values and one scale per row.</summary>
internal sealed record Int8Matrix(sbyte[] Values, float[] Scales)
{
    public static Int8Matrix From(ReducedMatrix matrix)
    {
        (sbyte[] values, float[] scales) = matrix.ToInt8Rows();
        return new Int8Matrix(values, scales);
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
