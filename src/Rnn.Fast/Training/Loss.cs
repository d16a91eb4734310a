using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Rnn.Fast.Training;

/// <summary>The loss functions of training, each returning L and writing dL/dy for <see cref="TrainableModel.Backward"/>.</summary>
/// <remarks>
/// Outputs are <c>[T, B, O]</c>. The mask is <c>[T, B]</c> of non-negative weights (empty = every step counts):
/// a mask that is 1 only at t = T−1 expresses "only the last step counts". With M = Σ mask, the losses are
/// means over the counted elements as PyTorch's <c>reduction='mean'</c>; if M = 0 the loss and gradient are 0.
/// Sums are accumulated in double. Gradient elements below 2^-63 in magnitude are written as zero (README, "Flush to
/// zero"): a confident classifier's softmax puts subnormal probabilities into dL/dy, and every x86 multiply of one in
/// the backward pass would be a microcode assist.
/// </remarks>
public static class Loss
{
    /// <summary>L = Σ_{t,b} mask[t,b] Σ_o (y − target)² / (M·O).</summary>
    /// <param name="outputs"><c>[T, B, O]</c>.</param>
    /// <param name="targets"><c>[T, B, O]</c>.</param>
    /// <param name="mask"><c>[T, B]</c> weights, or empty for all ones.</param>
    /// <param name="outputSize">O.</param>
    /// <param name="outputGradient"><c>[T, B, O]</c>: receives dL/dy.</param>
    /// <exception cref="ArgumentException">Lengths that do not match, or a negative/non-finite mask weight.</exception>
    public static float MeanSquaredError(ReadOnlySpan<float> outputs, ReadOnlySpan<float> targets, ReadOnlySpan<float> mask,
        int outputSize, Span<float> outputGradient)
    {
        int rows = CheckShapes(outputs, mask, outputSize, outputGradient);
        Internals.Guard.Length(targets.Length, outputs.Length, $"targets [rows {rows}, output size {outputSize}]", nameof(targets));
        double weightSum = MaskSum(mask, rows);
        outputGradient.Clear();
        if (weightSum == 0)
        {
            return 0f;
        }
        double scale = 1.0 / (weightSum * outputSize);
        double sum = 0;
        for (int r = 0; r < rows; r++)
        {
            float w = mask.IsEmpty ? 1f : mask[r];
            if (w == 0f)
            {
                continue;
            }
            int start = r * outputSize;
            sum += SquaredErrors(outputs.Slice(start, outputSize), targets.Slice(start, outputSize), w, scale, outputGradient.Slice(start, outputSize));
        }
        return (float)(sum * scale);
    }

    // Σ_o w·diff² of one row, and dL/dy = (float)(2w·diff·scale) per element, diff = y − target in double. Four doubles
    // per register and two sums: the element-by-element loop ran at about 7 ns per element (a serial chain of double
    // adds and three bounds-checked spans), up to 40 % of a small model's training step. The gradient is computed in
    // the same order as before, so it is bit for bit the same; the sum's order changes (double, then rounded to float).
    private static double SquaredErrors(ReadOnlySpan<float> y, ReadOnlySpan<float> target, float w, double scale, Span<float> gradient)
    {
        int n = y.Length;
        double factor = 2 * w;   // 2w is exact in float, as the scalar expression's first product was
        double sum = 0;
        int o = 0;
        if (Vector256.IsHardwareAccelerated && n >= 8)
        {
            ref float yRef = ref MemoryMarshal.GetReference(y);
            ref float tRef = ref MemoryMarshal.GetReference(target);
            ref float gRef = ref MemoryMarshal.GetReference(gradient);
            Vector256<double> weight = Vector256.Create((double)w), f = Vector256.Create(factor), sc = Vector256.Create(scale);
            Vector256<double> sumLow = Vector256<double>.Zero, sumHigh = Vector256<double>.Zero;
            for (; o + 8 <= n; o += 8)
            {
                Vector256<float> yv = Vector256.LoadUnsafe(ref yRef, (nuint)o), tv = Vector256.LoadUnsafe(ref tRef, (nuint)o);
                Vector256<double> low = Vector256.WidenLower(yv) - Vector256.WidenLower(tv);
                Vector256<double> high = Vector256.WidenUpper(yv) - Vector256.WidenUpper(tv);
                sumLow += weight * low * low;
                sumHigh += weight * high * high;
                Vector256<float> g = Vector256.Narrow(f * low * sc, f * high * sc);
                Vector256.ConditionalSelect(Vector256.LessThan(Vector256.Abs(g), Vector256.Create(Internals.SimdMath.FlushBelow)), Vector256<float>.Zero, g)
                    .StoreUnsafe(ref gRef, (nuint)o);
            }
            sum = Vector256.Sum(sumLow + sumHigh);
        }
        for (; o < n; o++)
        {
            double diff = (double)y[o] - target[o];
            sum += w * diff * diff;
            gradient[o] = Flush((float)(factor * diff * scale));
        }
        return sum;
    }

    /// <summary>
    /// Softmax cross-entropy on logits: L = Σ_{t,b} mask[t,b] (−log softmax(y[t,b])[class]) / M. The head must
    /// output logits (identity activation); dL/dy = mask·(softmax(y) − onehot)/M.
    /// </summary>
    /// <param name="logits"><c>[T, B, O]</c>.</param>
    /// <param name="classes"><c>[T, B]</c> class indices 0..O−1 (as floats); ignored where the mask is 0.</param>
    /// <param name="mask"><c>[T, B]</c> weights, or empty for all ones.</param>
    /// <param name="outputSize">O (number of classes).</param>
    /// <param name="outputGradient"><c>[T, B, O]</c>: receives dL/dy.</param>
    /// <exception cref="ArgumentException">Lengths that do not match, a class outside 0..O−1, or a bad mask weight.</exception>
    public static float SoftmaxCrossEntropy(ReadOnlySpan<float> logits, ReadOnlySpan<float> classes, ReadOnlySpan<float> mask,
        int outputSize, Span<float> outputGradient)
    {
        int rows = CheckShapes(logits, mask, outputSize, outputGradient);
        Internals.Guard.Length(classes.Length, rows, $"classes [rows {rows}]", nameof(classes));
        double weightSum = MaskSum(mask, rows);
        outputGradient.Clear();
        if (weightSum == 0)
        {
            return 0f;
        }
        double sum = 0;
        for (int r = 0; r < rows; r++)
        {
            float w = mask.IsEmpty ? 1f : mask[r];
            if (w == 0f)
            {
                continue;
            }
            float target = classes[r];
            if (target < 0 || target >= outputSize || target != MathF.Floor(target))
            {
                throw new ArgumentException($"Class {target} at row {r} is not an integer in 0..{outputSize - 1}.", nameof(classes));
            }
            ReadOnlySpan<float> z = logits.Slice(r * outputSize, outputSize);
            double max = double.NegativeInfinity;
            foreach (float v in z)
            {
                max = Math.Max(max, v);
            }
            double denominator = 0;
            foreach (float v in z)
            {
                denominator += Math.Exp(v - max);
            }
            double logSumExp = max + Math.Log(denominator);
            sum += w * (logSumExp - z[(int)target]);
            for (int o = 0; o < outputSize; o++)
            {
                double softmax = Math.Exp(z[o] - logSumExp);
                outputGradient[r * outputSize + o] = Flush((float)(w * (softmax - (o == (int)target ? 1 : 0)) / weightSum));
            }
        }
        return (float)(sum / weightSum);
    }

    private static int CheckShapes(ReadOnlySpan<float> outputs, ReadOnlySpan<float> mask, int outputSize, Span<float> outputGradient)
    {
        Internals.Guard.Positive(outputSize, nameof(outputSize));
        if (outputs.Length % outputSize != 0)
        {
            throw new ArgumentException($"Expected a multiple of the output size {outputSize}, got {outputs.Length}.", nameof(outputs));
        }
        int rows = outputs.Length / outputSize;
        if (!mask.IsEmpty)
        {
            Internals.Guard.Length(mask.Length, rows, $"mask [rows {rows}] (or empty)", nameof(mask));
        }
        Internals.Guard.Length(outputGradient.Length, outputs.Length, $"outputGradient [rows {rows}, output size {outputSize}]", nameof(outputGradient));
        return rows;
    }

    private static double MaskSum(ReadOnlySpan<float> mask, int rows)
    {
        if (mask.IsEmpty)
        {
            return rows;
        }
        double sum = 0;
        for (int r = 0; r < mask.Length; r++)
        {
            if (!(mask[r] >= 0) || float.IsInfinity(mask[r]))
            {
                throw new ArgumentException($"Mask weight {mask[r]} at row {r} must be finite and non-negative.", nameof(mask));
            }
            sum += mask[r];
        }
        return sum;
    }

    // Below the engine's threshold (2^-63, SimdMath.FlushBelow): zero.
    private static float Flush(float x) => MathF.Abs(x) < Internals.SimdMath.FlushBelow ? 0f : x;
}
