namespace Rnn.Fast.Internals;

/// <summary>
/// The product role: matrix products on the packed layout (<see cref="PackedMatrix"/>), for many rows at once.
/// Forward uses them for the input projection of a chunk and the dense head; backward for <c>Wᵀ·d</c> (on the
/// transposed packing) and for the weight gradients.
/// </summary>
/// <remarks>
/// A product row is the packed gate row of one (step, stream): <c>RowWidth = nb·G·V</c> floats, register column
/// q = (block, gate) of lanes V. x rows are read up to <c>W.Columns</c>; their stride may be larger (padded rows).
/// </remarks>
internal abstract class ProductKernel
{
    /// <summary>y[r] = bias + W·x[r] for every row: the input projection W_ih·x + b of a chunk.</summary>
    public abstract void MultiplyRows(
        ReadOnlySpan<float> x,      // [rows, xStride], first W.Columns used
        int rows,
        int xStride,
        PackedMatrix w,             // [nb, K, G, V]
        ReadOnlySpan<float> bias,   // [RowWidth]
        Span<float> y);             // [rows, RowWidth]

    /// <summary>y[r] += W·x[r] for every row (backward's Wᵀ·d on the transposed packing, added to what y holds).</summary>
    public abstract void MultiplyRowsAccumulate(
        ReadOnlySpan<float> x,      // [rows, xStride], first W.Columns used
        int rows,
        int xStride,
        PackedMatrix w,             // [nb, K, G, V]
        Span<float> y);             // [rows, RowWidth], accumulated

    /// <summary>
    /// The weight gradient: gradient[block][j][gate] += Σ_r d[r][(block, gate)] · x[r][j], summed over the rows
    /// (steps × streams) in the packed layout of <paramref name="shape"/>.
    /// </summary>
    public abstract void AccumulateOuter(
        ReadOnlySpan<float> d,      // [rows, RowWidth]
        ReadOnlySpan<float> x,      // [rows, xStride], first shape.Columns used
        int rows,
        int xStride,
        PackedMatrix shape,         // the layout of the weight whose gradient this is
        Span<float> gradient);      // [nb, K, G, V], accumulated

    /// <summary>The dense head before its activation: y = W·h + b, W's rows zero-padded to the state width.</summary>
    public abstract void Dense(
        ReadOnlySpan<float> h,      // [Hp]
        ReadOnlySpan<float> weight, // [O, Hp]
        ReadOnlySpan<float> bias,   // [O]
        Span<float> y);             // [O]
}
