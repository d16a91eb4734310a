namespace Rnn.Fast.Internals;

/// <summary>
/// A weight matrix in a kernel's block layout: <c>[Blocks][Columns][Gates][Lanes]</c>. Column j of every gate of
/// <see cref="Lanes"/> consecutive output units is contiguous, so one broadcast of input j feeds one fused
/// multiply-add per gate into registers that hold the gates of the same units.
/// </summary>
/// <remarks>
/// PyTorch's <c>[G·H, K]</c> row (gate g, unit u) and column j land at <c>[u / V][j][g][u % V]</c>; units past H
/// are zero. The same layout with one gate holds a transposed matrix: <see cref="TransposeInto"/> makes
/// <c>Wᵀ [K, G·H]</c> packed as <c>[ceil(K / V)][G·Hp][1][V]</c>, so <c>Wᵀ·d</c> is the same product as <c>W·x</c>.
/// </remarks>
internal sealed class PackedMatrix
{
    public PackedMatrix(int units, int columns, int gates, int lanes)
    {
        Units = units;
        Columns = columns;
        Gates = gates;
        Lanes = lanes;
        Blocks = (units + lanes - 1) / lanes;
        Values = new float[checked(Blocks * columns * gates * lanes)];
    }

    /// <summary>Output units per gate (H), before padding.</summary>
    public int Units { get; }

    /// <summary>K: the length of each input row.</summary>
    public int Columns { get; }

    public int Gates { get; }
    public int Lanes { get; }
    public int Blocks { get; }

    /// <summary>Floats per output row of a product with this matrix: Blocks × Gates × Lanes.</summary>
    public int RowWidth => Blocks * Gates * Lanes;

    /// <summary>Floats per block: Columns × Gates × Lanes.</summary>
    public int BlockStride => Columns * Gates * Lanes;

    public float[] Values { get; } // [Blocks, Columns, Gates, Lanes]

    /// <summary>Packs PyTorch's row-major <c>[G·H, K]</c>.</summary>
    public static PackedMatrix FromRows(ReadOnlySpan<float> rows /* [G·H, K] */, int units, int columns, int gates, int lanes)
    {
        var packed = new PackedMatrix(units, columns, gates, lanes);
        for (int row = 0; row < gates * units; row++)
        {
            for (int j = 0; j < columns; j++)
            {
                packed.Values[packed.IndexOf(row, j)] = rows[row * columns + j];
            }
        }
        return packed;
    }

    /// <summary>The packed index of PyTorch element (row, column).</summary>
    public int IndexOf(int row, int column)
    {
        (int gate, int unit) = Math.DivRem(row, Units);
        (int block, int lane) = Math.DivRem(unit, Lanes);
        return ((block * Columns + column) * Gates + gate) * Lanes + lane;
    }

    /// <summary>Back to PyTorch's row-major <c>[G·H, K]</c>.</summary>
    public float[] ToRows()
    {
        var rows = new float[Gates * Units * Columns];
        for (int row = 0; row < Gates * Units; row++)
        {
            for (int j = 0; j < Columns; j++)
            {
                rows[row * Columns + j] = Values[IndexOf(row, j)];
            }
        }
        return rows;
    }

    /// <summary>A zeroed matrix shaped for <c>Wᵀ</c> (see <see cref="TransposeInto"/>).</summary>
    public PackedMatrix CreateTransposed() => new(Columns, RowWidth, 1, Lanes);

    /// <summary>
    /// Writes <c>Wᵀ</c>: the packed gate row (block, gate, lane) becomes the broadcast column and K the lanes,
    /// so <c>Wᵀ·d</c> over a packed gate row d is the same column-broadcast product as the forward step.
    /// </summary>
    public void TransposeInto(PackedMatrix transposed)
    {
        int v = Lanes;
        int width = RowWidth;
        for (int b = 0; b < Blocks; b++)
        {
            for (int j = 0; j < Columns; j++)
            {
                // Column j's G·V packed values are contiguous; they land V apart in the transposed block.
                (int jBlock, int jLane) = Math.DivRem(j, v);
                ReadOnlySpan<float> column = Values.AsSpan((b * Columns + j) * Gates * v, Gates * v);
                Span<float> target = transposed.Values.AsSpan((jBlock * width + b * Gates * v) * v + jLane);
                for (int r = 0; r < column.Length; r++)
                {
                    target[r * v] = column[r];
                }
            }
        }
    }
}
