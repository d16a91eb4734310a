namespace Rnn.Fast.Internals;

/// <summary>
/// The reduced-precision product role: <c>y = W·x</c> for many rows with W in bfloat16 or int8
/// (<see cref="ReducedMatrix"/>), the only place a reduced model's weights are read. The recurrence uses it for the
/// input projection of a chunk, for <c>W_hh·h</c> of every stream at every step, and for the head; the cells then run
/// in float32 on the pre-activations.
/// </summary>
/// <remarks>
/// <para><b>bf16:</b> each weight is widened to float32 (a shift or a mask of its 32-bit pair slot) and multiplied
/// into float32 accumulators: the product of the dequantized matrix, rounded like any float32 dot product.</para>
/// <para><b>int8:</b> each x row is quantized to int16 with one scale, <c>s_x = m / 32767</c> with <c>m = max_j |x_j|</c>
/// and <c>q_j = round-half-even(x_j · (32767 / m))</c>; the dot products of q with the int8 weights are exact in int32
/// over runs of <see cref="PairsPerRun"/> column pairs (2 · 127 · 32767 · 256 &lt; 2³¹), the runs are summed in float32,
/// and the sum is scaled per output row as <c>(sum · s_w) · s_x</c> (in that order: <c>s_w · s_x</c> alone can overflow
/// where the product is finite). The int16 rounding adds at most
/// <c>(m / 65534) · Σ_j |W_rj|</c> to the error of a float32 product of the dequantized matrix. A row whose m is
/// not finite (NaN or ±Inf in x) gives NaN in every output of the row: a wrong answer is never silent.</para>
/// </remarks>
internal abstract class ReducedProductKernel
{
    /// <summary>Column pairs summed in int32 before a conversion to float32 (keeps every int32 sum exact).</summary>
    public const int PairsPerRun = 256;

    /// <summary>The int16 magnitude the largest |x| of a row maps to.</summary>
    public const float ActivationRange = 32767f;

    /// <summary>Hidden units per block (floats per register); matches the model's packing.</summary>
    public abstract int Lanes { get; }

    /// <summary>int16 values of scratch <see cref="MultiplyRows"/> needs for <paramref name="rows"/> rows of a K-column product.</summary>
    public static int ScratchLength(int rows, int columns) => checked(rows * ((columns + 1) / 2 * 2));

    /// <summary>
    /// <c>y[r] = (accumulate ? y[r] : 0) + bias + W·x[r]</c> for every row, in the packed gate layout
    /// <c>[nb, G, V]</c> of <paramref name="w"/> (padding lanes get bias + 0).
    /// </summary>
    public abstract void MultiplyRows(
        ReadOnlySpan<float> x,      // [rows, xStride], first w.Columns used
        int rows,
        int xStride,
        ReducedMatrix w,            // [nb, Pairs, G, V, 2]
        ReadOnlySpan<float> bias,   // [RowWidth], or empty for none
        bool accumulate,
        Span<float> y,              // [rows, RowWidth]
        Span<short> scratch);       // [ScratchLength(rows, w.Columns)] (int8 only; may be empty for bf16)

    /// <summary>
    /// Quantizes one x row to int16 as the int8 product defines it (see the remarks); writes <c>2·Pairs</c> values (a
    /// zero past K) and returns s_x, or NaN when the row holds a NaN or an infinity.
    /// </summary>
    public static float QuantizeActivations(ReadOnlySpan<float> x /* [K] */, Span<short> q /* [2·Pairs] */)
    {
        float max = 0f;
        for (int j = 0; j < x.Length; j++)
        {
            max = MathF.Max(max, MathF.Abs(x[j])); // MathF.Max propagates NaN
        }
        q.Clear();
        if (!float.IsFinite(max))
        {
            return float.NaN;
        }
        if (max == 0f)
        {
            return 0f;
        }
        float inverse = ActivationRange / max;
        for (int j = 0; j < x.Length; j++)
        {
            q[j] = (short)Math.Clamp(MathF.Round(x[j] * inverse, MidpointRounding.ToEven), -ActivationRange, ActivationRange);
        }
        return max / ActivationRange;
    }
}
