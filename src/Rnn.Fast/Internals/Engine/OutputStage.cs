namespace Rnn.Fast.Internals;

/// <summary>
/// The one place the output is made from the last layer's h: the dense head (or h itself), then the input
/// residual <c>y[j] += x[j]</c> for <c>j &lt; skip</c>. <c>Step</c>, <c>Run</c> and the training forward pass use it.
/// </summary>
internal static class OutputStage
{
    public static void Write(RnnKernel kernel, PackedHead? head, int skip,
        ReadOnlySpan<float> h,      // [rows, hStride], the last layer's h (padded rows)
        int hStride,
        ReadOnlySpan<float> x,      // [rows, I], the model's inputs (read only for the residual)
        int inputSize,
        int rows,
        Span<float> y)              // [rows, O]
    {
        int outputs = y.Length / Math.Max(rows, 1);
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<float> hRow = h.Slice(r * hStride, hStride);
            Span<float> yRow = y.Slice(r * outputs, outputs);
            if (head is null)
            {
                hRow[..outputs].CopyTo(yRow);
            }
            else
            {
                kernel.Products.Dense(hRow, head.Weight, head.Bias, yRow);
                kernel.Elementwise.Activate(head.Activation, yRow);
            }
            for (int j = 0; j < skip; j++)
            {
                yRow[j] += x[r * inputSize + j];
            }
        }
    }
}
