namespace Rnn.Fast.Internals;

/// <summary>
/// A weight matrix in reduced precision (<see cref="WeightPrecision.BFloat16"/> or <see cref="WeightPrecision.Int8"/>),
/// in the block layout of <see cref="PackedMatrix"/> with columns taken in pairs:
/// <c>[Blocks][Pairs][Gates][Lanes][2]</c>. The two values of a pair share one 32-bit slot per unit, so one 32-bit
/// lane of a load holds columns 2p and 2p+1 of one output unit: bf16 widens with a shift (low half) and a mask (high
/// half), int8 feeds a 16-bit multiply-add of adjacent pairs (<c>pmaddwd</c>) after sign extension.
/// </summary>
/// <remarks>
/// An odd column count gets a zero column. Units past H (the padding lanes) are zero with scale 0. Int8 keeps one
/// float32 scale per output row (PyTorch row = gate g, unit u), stored at <c>[u / V][g][u % V]</c> like a bias.
/// </remarks>
internal sealed class ReducedMatrix
{
    private ReducedMatrix(WeightPrecision precision, int units, int columns, int gates, int lanes)
    {
        Precision = precision;
        Units = units;
        Columns = columns;
        Gates = gates;
        Lanes = lanes;
        Blocks = (units + lanes - 1) / lanes;
        Pairs = (columns + 1) / 2;
        int count = checked(Blocks * Pairs * gates * lanes * 2);
        Half = precision == WeightPrecision.BFloat16 ? new ushort[count] : [];
        Bytes = precision == WeightPrecision.Int8 ? new sbyte[count] : [];
        Scales = precision == WeightPrecision.Int8 ? new float[RowWidth] : [];
    }

    public WeightPrecision Precision { get; }

    /// <summary>Output units per gate (H), before padding.</summary>
    public int Units { get; }

    /// <summary>K: the length of each input row.</summary>
    public int Columns { get; }

    /// <summary>ceil(K / 2): column pairs per (block, gate, lane).</summary>
    public int Pairs { get; }

    public int Gates { get; }
    public int Lanes { get; }
    public int Blocks { get; }

    /// <summary>Floats per output row of a product with this matrix: Blocks × Gates × Lanes.</summary>
    public int RowWidth => Blocks * Gates * Lanes;

    /// <summary>Elements per block: Pairs × Gates × Lanes × 2.</summary>
    public int BlockStride => Pairs * Gates * Lanes * 2;

    /// <summary>bfloat16 bits <c>[Blocks, Pairs, Gates, Lanes, 2]</c>; empty unless BFloat16.</summary>
    public ushort[] Half { get; }

    /// <summary>int8 values <c>[Blocks, Pairs, Gates, Lanes, 2]</c>; empty unless Int8.</summary>
    public sbyte[] Bytes { get; }

    /// <summary>int8 row scales <c>[Blocks, Gates, Lanes]</c>; empty unless Int8.</summary>
    public float[] Scales { get; }

    /// <summary>Bytes of weights and scales a product reads.</summary>
    public long WeightBytes => Half.Length * 2L + Bytes.Length + Scales.Length * 4L;

    /// <summary>Quantizes PyTorch's row-major <c>[G·H, K]</c> with the scheme of <paramref name="precision"/>.</summary>
    public static ReducedMatrix FromRows(ReadOnlySpan<float> rows /* [G·H, K] */, int units, int columns, int gates, int lanes,
        WeightPrecision precision)
    {
        if (precision is not (WeightPrecision.BFloat16 or WeightPrecision.Int8))
        {
            throw new ArgumentOutOfRangeException(nameof(precision), precision, "A reduced matrix is BFloat16 or Int8.");
        }
        var matrix = new ReducedMatrix(precision, units, columns, gates, lanes);
        int rowCount = gates * units;
        if (precision == WeightPrecision.BFloat16)
        {
            for (int row = 0; row < rowCount; row++)
            {
                for (int j = 0; j < columns; j++)
                {
                    ushort bits = WeightQuantization.ToBFloat16(rows[row * columns + j]);
                    if ((bits & 0x7F80) == 0x7F80)
                    {
                        throw new ArgumentException(
                            $"Weight [{row}, {j}] = {rows[row * columns + j]} overflows bfloat16 (largest finite value 3.3895e38).", nameof(precision));
                    }
                    matrix.Half[matrix.IndexOf(row, j)] = bits;
                }
            }
            return matrix;
        }
        var q = new sbyte[rowCount * columns];
        var scales = new float[rowCount];
        WeightQuantization.QuantizeInt8(rows, rowCount, columns, q, scales);
        matrix.SetInt8(q, scales, nameof(precision)); // a weight this close to float.MaxValue has no int8 scale
        return matrix;
    }

    /// <summary>An int8 matrix from already-quantized values (a file's I8 tensor and its scales).</summary>
    public static ReducedMatrix FromInt8(ReadOnlySpan<sbyte> quantized /* [G·H, K] */, ReadOnlySpan<float> scales /* [G·H] */,
        int units, int columns, int gates, int lanes)
    {
        var matrix = new ReducedMatrix(WeightPrecision.Int8, units, columns, gates, lanes);
        matrix.SetInt8(quantized, scales, nameof(scales));
        return matrix;
    }

    // paramName: what the caller's caller got wrong (the precision chosen for these weights, or a file's scales).
    private void SetInt8(ReadOnlySpan<sbyte> q, ReadOnlySpan<float> scales, string paramName)
    {
        for (int row = 0; row < Gates * Units; row++)
        {
            for (int j = 0; j < Columns; j++)
            {
                Bytes[IndexOf(row, j)] = q[row * Columns + j];
            }
            if (!(scales[row] >= 0f) || !float.IsFinite(WeightQuantization.Int8Max * scales[row]))
            {
                throw new ArgumentException(
                    $"Row {row} has int8 scale {scales[row]}: a scale must be finite, at least 0, and small enough that 127 × scale is finite.", paramName);
            }
            Scales[ScaleIndexOf(row)] = scales[row];
        }
    }

    /// <summary>The packed index of PyTorch element (row, column).</summary>
    public int IndexOf(int row, int column)
    {
        (int gate, int unit) = Math.DivRem(row, Units);
        (int block, int lane) = Math.DivRem(unit, Lanes);
        (int pair, int half) = Math.DivRem(column, 2);
        return (((block * Pairs + pair) * Gates + gate) * Lanes + lane) * 2 + half;
    }

    /// <summary>The index of PyTorch row <paramref name="row"/>'s scale in <see cref="Scales"/>.</summary>
    public int ScaleIndexOf(int row)
    {
        (int gate, int unit) = Math.DivRem(row, Units);
        (int block, int lane) = Math.DivRem(unit, Lanes);
        return (block * Gates + gate) * Lanes + lane;
    }

    /// <summary>The float32 value a product uses for PyTorch element (row, column): widened bf16, or q · scale.</summary>
    public float ValueAt(int row, int column) => Precision == WeightPrecision.BFloat16
        ? WeightQuantization.FromBFloat16(Half[IndexOf(row, column)])
        : Bytes[IndexOf(row, column)] * Scales[ScaleIndexOf(row)];

    /// <summary>The dequantized matrix in PyTorch's row-major <c>[G·H, K]</c>.</summary>
    public float[] ToRows()
    {
        var rows = new float[Gates * Units * Columns];
        for (int row = 0; row < Gates * Units; row++)
        {
            for (int j = 0; j < Columns; j++)
            {
                rows[row * Columns + j] = ValueAt(row, j);
            }
        }
        return rows;
    }

    /// <summary>The int8 values in PyTorch's row-major <c>[G·H, K]</c> and the row scales (for saving).</summary>
    public (sbyte[] Quantized, float[] Scales) ToInt8Rows()
    {
        var q = new sbyte[Gates * Units * Columns];
        var scales = new float[Gates * Units];
        for (int row = 0; row < Gates * Units; row++)
        {
            for (int j = 0; j < Columns; j++)
            {
                q[row * Columns + j] = Bytes[IndexOf(row, j)];
            }
            scales[row] = Scales[ScaleIndexOf(row)];
        }
        return (q, scales);
    }
}
