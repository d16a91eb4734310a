namespace Rnn.Fast.Reference;

/// <summary>A training loss over outputs <c>y [T, B, O]</c>, weighted per step and stream by a mask <c>[T, B]</c>.</summary>
public enum LossKind
{
    /// <summary>
    /// Targets <c>[T, B, O]</c>; <c>L = Σ_{t,b} m[t,b] Σ_o (y[t,b,o] − target[t,b,o])² / (M·O)</c>, M = Σ m.
    /// </summary>
    MeanSquaredError,

    /// <summary>
    /// Targets <c>[T, B]</c>, class indices 0..O−1 stored as floats; y are logits (identity head, or no head);
    /// <c>L = Σ_{t,b} m[t,b] · (−log softmax(y[t,b])[target[t,b]]) / M</c>.
    /// </summary>
    SoftmaxCrossEntropy,
}

/// <summary>The losses of <see cref="LossKind"/> and their gradients dL/dy, in double precision, straight from the formulas.</summary>
public static class ReferenceLoss
{
    /// <summary>Checks the shapes of targets and mask (and the class indices where the mask is non-zero); returns M = Σ mask.</summary>
    /// <exception cref="ArgumentException">A length does not match, a mask entry is negative or not finite, or a weighted class index is not an integer in 0..O−1.</exception>
    public static double Validate(LossKind loss, int steps, int batch, int outputSize, ReadOnlySpan<float> targets, ReadOnlySpan<float> mask)
    {
        int rows = steps * batch;
        if (mask.Length != rows)
        {
            throw new ArgumentException($"The mask must be [T, B] = {rows} values, not {mask.Length}.", nameof(mask));
        }
        int expectedTargets = loss switch
        {
            LossKind.MeanSquaredError => rows * outputSize,
            LossKind.SoftmaxCrossEntropy => rows,
            _ => throw new ArgumentOutOfRangeException(nameof(loss), loss, "Unknown loss."),
        };
        if (targets.Length != expectedTargets)
        {
            throw new ArgumentException($"{loss} needs {expectedTargets} targets, not {targets.Length}.", nameof(targets));
        }
        double total = 0;
        for (int row = 0; row < rows; row++)
        {
            if (!(mask[row] >= 0) || float.IsPositiveInfinity(mask[row]))
            {
                throw new ArgumentException($"Mask entry {row} is {mask[row]}; weights must be finite and non-negative.", nameof(mask));
            }
            // Class indices only matter where they are weighted: padded steps may hold anything.
            if (loss == LossKind.SoftmaxCrossEntropy && mask[row] != 0)
            {
                _ = ClassOf(targets[row], outputSize);
            }
            total += mask[row];
        }
        return total;
    }

    /// <summary>L for outputs <c>y [T, B, O]</c>. Returns 0 when M = 0.</summary>
    public static double Value(LossKind loss, ReadOnlySpan<double> outputs, int steps, int batch, int outputSize,
        ReadOnlySpan<float> targets, ReadOnlySpan<float> mask)
    {
        double total = Validate(loss, steps, batch, outputSize, targets, mask);
        if (total == 0)
        {
            return 0;
        }
        double sum = 0;
        for (int row = 0; row < steps * batch; row++)
        {
            if (mask[row] == 0)
            {
                continue;
            }
            ReadOnlySpan<double> y = outputs.Slice(row * outputSize, outputSize);
            if (loss == LossKind.MeanSquaredError)
            {
                double squares = 0;
                for (int o = 0; o < outputSize; o++)
                {
                    double error = y[o] - targets[row * outputSize + o];
                    squares += error * error;
                }
                sum += mask[row] * squares;
            }
            else
            {
                // −log softmax(y)[k] = logsumexp(y) − y[k], with the max taken out so exp cannot overflow.
                int k = ClassOf(targets[row], outputSize);
                sum += mask[row] * (LogSumExp(y) - y[k]);
            }
        }
        return loss == LossKind.MeanSquaredError ? sum / (total * outputSize) : sum / total;
    }

    /// <summary>dL/dy <c>[T, B, O]</c> for outputs <c>y [T, B, O]</c>; all zeros when M = 0.</summary>
    public static double[] Gradient(LossKind loss, ReadOnlySpan<double> outputs, int steps, int batch, int outputSize,
        ReadOnlySpan<float> targets, ReadOnlySpan<float> mask)
    {
        double total = Validate(loss, steps, batch, outputSize, targets, mask);
        var gradient = new double[steps * batch * outputSize];
        if (total == 0)
        {
            return gradient;
        }
        for (int row = 0; row < steps * batch; row++)
        {
            if (mask[row] == 0)
            {
                continue;
            }
            ReadOnlySpan<double> y = outputs.Slice(row * outputSize, outputSize);
            Span<double> dy = gradient.AsSpan(row * outputSize, outputSize);
            if (loss == LossKind.MeanSquaredError)
            {
                // d/dy of m (y − t)² / (M·O) = 2 m (y − t) / (M·O).
                for (int o = 0; o < outputSize; o++)
                {
                    dy[o] = 2 * mask[row] * (y[o] - targets[row * outputSize + o]) / (total * outputSize);
                }
            }
            else
            {
                // d/dy_o of m (logsumexp(y) − y_k) / M = m (softmax(y)_o − [o = k]) / M.
                int k = ClassOf(targets[row], outputSize);
                double logSum = LogSumExp(y);
                for (int o = 0; o < outputSize; o++)
                {
                    double probability = Math.Exp(y[o] - logSum);
                    dy[o] = mask[row] * (probability - (o == k ? 1 : 0)) / total;
                }
            }
        }
        return gradient;
    }

    /// <summary>log Σ_o e^{y_o}, computed as max + log Σ_o e^{y_o − max}.</summary>
    public static double LogSumExp(ReadOnlySpan<double> y)
    {
        double max = double.NegativeInfinity;
        foreach (double v in y)
        {
            max = Math.Max(max, v);
        }
        double sum = 0;
        foreach (double v in y)
        {
            sum += Math.Exp(v - max);
        }
        return max + Math.Log(sum);
    }

    private static int ClassOf(float target, int outputSize)
    {
        if (!(target >= 0 && target < outputSize && target == MathF.Floor(target)))
        {
            throw new ArgumentException($"A cross-entropy target must be a class index 0..{outputSize - 1}, not {target}.", "targets");
        }
        return (int)target;
    }
}
