namespace Rnn.Fast;

/// <summary>
/// The exact reduced-precision schemes of <see cref="WeightPrecision"/>, in float32 arithmetic, so anyone can reproduce a
/// quantized model outside Rnn.Fast (NumPy: <c>s = np.abs(W).max(1) / np.float32(127)</c>,
/// <c>q = np.clip(np.rint(W / s[:, None]), -127, 127)</c>, all in float32; a zero row has scale 0 and q = 0).
/// </summary>
public static class WeightQuantization
{
    /// <summary>The largest int8 magnitude used: the scheme is symmetric, so −128 never occurs.</summary>
    public const int Int8Max = 127;

    /// <summary>float32 → bfloat16 bits, rounded to nearest, ties to even; NaN stays a (quiet) NaN, ±Inf stays ±Inf.</summary>
    public static ushort ToBFloat16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value))
        {
            return (ushort)((bits >> 16) | 0x0040); // keep the sign and payload top, force quiet
        }
        uint roundingBias = 0x7FFF + ((bits >> 16) & 1);
        return (ushort)((bits + roundingBias) >> 16);
    }

    /// <summary>bfloat16 bits → float32 (exact: the upper 16 bits of the float).</summary>
    public static float FromBFloat16(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    /// <summary>
    /// Quantizes a row-major <c>[rows, columns]</c> matrix to int8 with one scale per row:
    /// <c>scales[r] = max_j |W_rj| / 127</c> and <c>q_rj = round-half-even(W_rj / scales[r])</c> clamped to ±127, in
    /// float32 arithmetic. A row of zeros gets scale 0 and zeros.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative <paramref name="rows"/> or <paramref name="columns"/>.</exception>
    /// <exception cref="ArgumentException">Spans of the wrong length (named), or a weight that is NaN or infinite (it has no int8 value).</exception>
    public static void QuantizeInt8(ReadOnlySpan<float> weights, int rows, int columns, Span<sbyte> quantized, Span<float> scales)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(columns);
        long count = (long)rows * columns;
        if (weights.Length != count || quantized.Length != count || scales.Length != rows)
        {
            throw new ArgumentException(
                $"Expected weights and quantized of {rows}×{columns} = {count} values and scales of {rows}; got {weights.Length}, {quantized.Length} and {scales.Length}.",
                weights.Length != count ? nameof(weights) : quantized.Length != count ? nameof(quantized) : nameof(scales));
        }
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<float> row = weights.Slice(r * columns, columns);
            float max = 0f;
            for (int j = 0; j < row.Length; j++)
            {
                if (!float.IsFinite(row[j]))
                {
                    throw new ArgumentException($"Weight [{r}, {j}] is {row[j]}: only finite weights can be quantized to int8.", nameof(weights));
                }
                max = MathF.Max(max, MathF.Abs(row[j]));
            }
            float scale = max / Int8Max;
            scales[r] = scale;
            Span<sbyte> q = quantized.Slice(r * columns, columns);
            for (int j = 0; j < row.Length; j++)
            {
                q[j] = scale == 0f ? (sbyte)0 : (sbyte)Math.Clamp(MathF.Round(row[j] / scale, MidpointRounding.ToEven), -Int8Max, Int8Max);
            }
        }
    }

    /// <summary>
    /// The values a model of <paramref name="precision"/> computes with in place of <paramref name="weights"/>
    /// (row-major <c>[rows, columns]</c>): bfloat16 rounded and widened back, or <c>q · scale</c> per row; a copy for float32.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative <paramref name="rows"/> or <paramref name="columns"/>, or an undefined <paramref name="precision"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="weights"/> is not <c>rows × columns</c> long, or (int8) a weight is NaN or infinite.</exception>
    public static float[] Dequantized(ReadOnlySpan<float> weights, int rows, int columns, WeightPrecision precision)
    {
        // Checked here for every precision (int8 would check again): float32 and bf16 do not need the shape, but a wrong
        // one is a caller's mistake all the same.
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(columns);
        if (weights.Length != (long)rows * columns)
        {
            throw new ArgumentException($"Expected {rows}×{columns} = {(long)rows * columns} weights; got {weights.Length}.", nameof(weights));
        }
        var result = new float[weights.Length];
        switch (precision)
        {
            case WeightPrecision.Float32:
                weights.CopyTo(result);
                break;
            case WeightPrecision.BFloat16:
                for (int i = 0; i < weights.Length; i++)
                {
                    result[i] = FromBFloat16(ToBFloat16(weights[i]));
                }
                break;
            case WeightPrecision.Int8:
                var q = new sbyte[weights.Length];
                var scales = new float[rows];
                QuantizeInt8(weights, rows, columns, q, scales);
                for (int i = 0; i < q.Length; i++)
                {
                    result[i] = q[i] * scales[i / columns];
                }
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(precision), precision, "Expected Float32, BFloat16 or Int8.");
        }
        return result;
    }
}
