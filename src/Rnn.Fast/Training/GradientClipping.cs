using System.Numerics;

namespace Rnn.Fast.Training;

/// <summary>Gradient clipping against exploding gradients, with PyTorch's semantics.</summary>
public static class GradientClipping
{
    /// <summary>The L2 norm of all gradients together (accumulated in double).</summary>
    public static float GlobalNorm(IReadOnlyList<Parameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        double sum = 0;
        for (int p = 0; p < parameters.Count; p++)
        {
            sum += SumOfSquares(parameters[p].Gradients);
        }
        return (float)Math.Sqrt(sum);
    }

    // Σ g², widened to double lane-wise (every training step calls this, once per parameter element, so
    // the serial scalar loop it replaces cost as much as a forward pass at batch 1).
    private static double SumOfSquares(ReadOnlySpan<float> values)
    {
        Vector<double> low = Vector<double>.Zero, high = Vector<double>.Zero;
        int i = 0;
        for (; i + Vector<float>.Count <= values.Length; i += Vector<float>.Count)
        {
            Vector.Widen(new Vector<float>(values[i..]), out Vector<double> a, out Vector<double> b);
            low += a * a;
            high += b * b;
        }
        double sum = Vector.Sum(low + high);
        for (; i < values.Length; i++)
        {
            sum += (double)values[i] * values[i];
        }
        return sum;
    }

    /// <summary>
    /// <c>torch.nn.utils.clip_grad_norm_</c>: total = ‖all gradients‖₂; coef = maxNorm / (total + 1e−6); if
    /// coef &lt; 1 every gradient is multiplied by coef. Returns the total norm before clipping.
    /// </summary>
    /// <param name="parameters">The parameters whose gradients are clipped together.</param>
    /// <param name="maxNorm">The largest norm allowed; positive.</param>
    /// <param name="errorIfNonFinite">As PyTorch's <c>error_if_nonfinite</c>: throw when the norm is NaN or ∞
    /// (gradients untouched). When false (PyTorch's default) a non-finite norm is returned and the gradients
    /// are scaled as the formula says (by 0 for ∞, NaN for NaN), so callers must check the returned norm.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxNorm"/> is not positive and finite.</exception>
    /// <exception cref="ArithmeticException">The norm is not finite and <paramref name="errorIfNonFinite"/> is true.</exception>
    public static float ClipByGlobalNorm(IReadOnlyList<Parameter> parameters, float maxNorm, bool errorIfNonFinite = false)
    {
        if (!(maxNorm > 0) || float.IsInfinity(maxNorm))
        {
            throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, "Must be positive and finite.");
        }
        float total = GlobalNorm(parameters);
        if (!float.IsFinite(total) && errorIfNonFinite)
        {
            throw new ArithmeticException($"The total gradient norm is {total}; the gradients were left unchanged.");
        }
        float coefficient = maxNorm / (total + 1e-6f);
        if (coefficient < 1f || float.IsNaN(coefficient))
        {
            for (int p = 0; p < parameters.Count; p++)
            {
                foreach (ref float g in parameters[p].PackedGradients)
                {
                    g *= coefficient;
                }
            }
        }
        return total;
    }

    /// <summary><c>torch.nn.utils.clip_grad_value_</c>: clamps every gradient to [−clipValue, clipValue] (NaN stays NaN).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="clipValue"/> is negative or not finite.</exception>
    public static void ClipByValue(IReadOnlyList<Parameter> parameters, float clipValue)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!(clipValue >= 0) || float.IsInfinity(clipValue))
        {
            throw new ArgumentOutOfRangeException(nameof(clipValue), clipValue, "Must be non-negative and finite.");
        }
        for (int p = 0; p < parameters.Count; p++)
        {
            foreach (ref float g in parameters[p].PackedGradients)
            {
                g = float.IsNaN(g) ? g : Math.Clamp(g, -clipValue, clipValue);
            }
        }
    }
}
