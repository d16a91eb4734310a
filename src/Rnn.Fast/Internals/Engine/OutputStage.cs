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
        Span<float> y,              // [rows, O]
        ReducedScratch? reduced = null)
    {
        int outputs = y.Length / Math.Max(rows, 1);
        if (head is { UsesReducedProducts: true, Reduced: { } weight })
        {
            WriteReduced(kernel, head, weight, skip, h, hStride, x, inputSize, rows, y, outputs, reduced!);
            return;
        }
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

    // A bf16 or int8 head: the reduced product writes padded rows into the scratch, a block of rows at a time.
    private static void WriteReduced(RnnKernel kernel, PackedHead head, ReducedMatrix weight, int skip, ReadOnlySpan<float> h, int hStride,
        ReadOnlySpan<float> x, int inputSize, int rows, Span<float> y, int outputs, ReducedScratch scratch)
    {
        int width = weight.RowWidth;
        for (int r0 = 0; r0 < rows; r0 += scratch.HeadRows)
        {
            int count = Math.Min(scratch.HeadRows, rows - r0);
            Span<float> padded = scratch.Head.AsSpan(0, count * width);
            kernel.Reduced.MultiplyRows(h[(r0 * hStride)..], count, hStride, weight, head.ReducedBias, accumulate: false, padded, scratch.Quantized);
            for (int r = 0; r < count; r++)
            {
                Span<float> yRow = y.Slice((r0 + r) * outputs, outputs);
                padded.Slice(r * width, outputs).CopyTo(yRow);
                kernel.Elementwise.Activate(head.Activation, yRow);
                for (int j = 0; j < skip; j++)
                {
                    yRow[j] += x[(r0 + r) * inputSize + j];
                }
            }
        }
    }
}
