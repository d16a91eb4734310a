using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Rnn.Fast.Internals;

/// <summary>
/// The element-wise role: activations and their derivatives (as operator structs applied in registers), axpy and
/// row sums. Every op takes any length: whole vectors first, then a scalar remainder with the same math, so an
/// element's result never depends on its index.
/// </summary>
internal abstract class ElementwiseKernel
{
    /// <summary>Applies an activation in place (softmax over the whole span).</summary>
    public abstract void Activate(Activation activation, Span<float> values);

    /// <summary>dx = dy ⊙ g'(z) with g' taken from the output y = g(z); for softmax dx_i = y_i (dy_i − Σ_j dy_j y_j).</summary>
    public abstract void ActivationBackward(
        Activation activation,
        ReadOnlySpan<float> y,      // [n]
        ReadOnlySpan<float> dy,     // [n]
        Span<float> dx);            // [n]

    /// <summary>y += a·x (axpy).</summary>
    public abstract void MultiplyAdd(float a, ReadOnlySpan<float> x /* [n] */, Span<float> y /* [n] */);

    /// <summary>sum[j] += Σ_r d[r][j] (bias gradients).</summary>
    public abstract void AccumulateRowSum(
        ReadOnlySpan<float> d,      // [rows, width]
        int rows,
        Span<float> sum);           // [width]

    /// <summary>e^x in place, the same exp the activations use (exposed for verification).</summary>
    public abstract void Exp(Span<float> values);
}

/// <summary>The element-wise role for one width; see <see cref="ElementwiseKernel"/>.</summary>
internal abstract class ElementwiseKernel<TOps, TV> : ElementwiseKernel where TOps : struct, ISimdOps<TV> where TV : struct
{
    public sealed override void Activate(Activation activation, Span<float> values)
    {
        switch (activation)
        {
            case Activation.Identity: break;
            case Activation.Tanh: Map<TanhOperator>(values); break;
            case Activation.Relu: Map<ReluOperator>(values); break;
            case Activation.Sigmoid: Map<SigmoidOperator>(values); break;
            case Activation.Softmax: Softmax(values); break;
            default: throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation.");
        }
    }

    public sealed override void Exp(Span<float> values) => Map<ExpOperator>(values);

    public sealed override void ActivationBackward(Activation activation, ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx)
    {
        switch (activation)
        {
            case Activation.Identity: dy.CopyTo(dx); break;
            case Activation.Tanh: MultiplyByDerivative<TanhDerivative>(y, dy, dx); break;
            case Activation.Relu: MultiplyByDerivative<ReluDerivative>(y, dy, dx); break;
            case Activation.Sigmoid: MultiplyByDerivative<SigmoidDerivative>(y, dy, dx); break;
            case Activation.Softmax: SoftmaxBackward(y, dy, dx); break;
            default: throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation.");
        }
    }

    public sealed override void MultiplyAdd(float a, ReadOnlySpan<float> x, Span<float> y)
    {
        int v = TOps.Lanes;
        TV factor = TOps.Broadcast(a);
        ref float xRef = ref MemoryMarshal.GetReference(x);
        ref float yRef = ref MemoryMarshal.GetReference(y);
        int j = 0;
        for (; j + v <= y.Length; j += v)
        {
            TOps.Store(TOps.MultiplyAdd(factor, TOps.Load(in Unsafe.Add(ref xRef, j)), TOps.Load(in Unsafe.Add(ref yRef, j))), ref Unsafe.Add(ref yRef, j));
        }
        for (; j < y.Length; j++)
        {
            Unsafe.Add(ref yRef, j) = float.MultiplyAddEstimate(a, Unsafe.Add(ref xRef, j), Unsafe.Add(ref yRef, j));
        }
    }

    public sealed override void AccumulateRowSum(ReadOnlySpan<float> d, int rows, Span<float> sum)
    {
        int v = TOps.Lanes;
        int width = sum.Length;
        ref float dRef = ref MemoryMarshal.GetReference(d);
        ref float sRef = ref MemoryMarshal.GetReference(sum);
        // Row-major: four rows at a time are added into the sum, which stays in L1, while d streams through once
        // in memory order. (Walking down one column block over all rows strides by the row width, which for gate
        // rows of 4·Hp floats is a multiple of 4 KiB: every load then maps to the same L1 set.)
        int r = 0;
        for (; r + 3 < rows; r += 4)
        {
            ref float r0 = ref Unsafe.Add(ref dRef, r * width);
            ref float r1 = ref Unsafe.Add(ref r0, width);
            ref float r2 = ref Unsafe.Add(ref r1, width);
            ref float r3 = ref Unsafe.Add(ref r2, width);
            int j = 0;
            for (; j + v <= width; j += v)
            {
                TV a = TOps.Add(TOps.Load(in Unsafe.Add(ref r0, j)), TOps.Load(in Unsafe.Add(ref r1, j)));
                TV b = TOps.Add(TOps.Load(in Unsafe.Add(ref r2, j)), TOps.Load(in Unsafe.Add(ref r3, j)));
                ref float s = ref Unsafe.Add(ref sRef, j);
                TOps.Store(TOps.Add(TOps.Load(in s), TOps.Add(a, b)), ref s);
            }
            for (; j < width; j++)
            {
                Unsafe.Add(ref sRef, j) += (Unsafe.Add(ref r0, j) + Unsafe.Add(ref r1, j)) + (Unsafe.Add(ref r2, j) + Unsafe.Add(ref r3, j));
            }
        }
        for (; r < rows; r++)
        {
            ref float row = ref Unsafe.Add(ref dRef, r * width);
            int j = 0;
            for (; j + v <= width; j += v)
            {
                ref float s = ref Unsafe.Add(ref sRef, j);
                TOps.Store(TOps.Add(TOps.Load(in s), TOps.Load(in Unsafe.Add(ref row, j))), ref s);
            }
            for (; j < width; j++)
            {
                Unsafe.Add(ref sRef, j) += Unsafe.Add(ref row, j);
            }
        }
    }

    /// <summary>dx = dy ⊙ f'(y) element-wise, with the derivative written in terms of the output; with
    /// <paramref name="flush"/>, values below 2^-63 stored as zero (<see cref="SimdMath.FlushTiny{TOps, TV}"/>: a recurrent
    /// gradient carried back through time).</summary>
    internal static void MultiplyByDerivative<TDerivative>(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx, bool flush = false)
        where TDerivative : struct, IDerivativeOperator
    {
        int v = TOps.Lanes;
        ref float yRef = ref MemoryMarshal.GetReference(y);
        ref float dyRef = ref MemoryMarshal.GetReference(dy);
        ref float dxRef = ref MemoryMarshal.GetReference(dx);
        int j = 0;
        for (; j + v <= dx.Length; j += v)
        {
            TV derivative = TDerivative.FromOutput<TOps, TV>(TOps.Load(in Unsafe.Add(ref yRef, j)));
            TV product = TOps.Multiply(TOps.Load(in Unsafe.Add(ref dyRef, j)), derivative);
            TOps.Store(flush ? SimdMath.FlushTiny<TOps, TV>(product) : product, ref Unsafe.Add(ref dxRef, j));
        }
        for (; j < dx.Length; j++)
        {
            float product = Unsafe.Add(ref dyRef, j) * TDerivative.FromOutput<ScalarOps, float>(Unsafe.Add(ref yRef, j));
            Unsafe.Add(ref dxRef, j) = flush ? SimdMath.FlushTiny<ScalarOps, float>(product) : product;
        }
    }

    private static void Map<TAct>(Span<float> values) where TAct : struct, IActivationOperator
    {
        int v = TOps.Lanes;
        ref float r = ref MemoryMarshal.GetReference(values);
        int j = 0;
        for (; j + v <= values.Length; j += v)
        {
            TOps.Store(TAct.Invoke<TOps, TV>(TOps.Load(in Unsafe.Add(ref r, j))), ref Unsafe.Add(ref r, j));
        }
        // Scalar remainder with the same math, so the result of an element does not depend on its index.
        for (; j < values.Length; j++)
        {
            Unsafe.Add(ref r, j) = TAct.Invoke<ScalarOps, float>(Unsafe.Add(ref r, j));
        }
    }

    private static void Softmax(Span<float> values)
    {
        if (values.IsEmpty)
        {
            return;
        }
        // Subtracting the max keeps exp in range (the largest term is exactly 1), as PyTorch does.
        float max = float.NegativeInfinity;
        foreach (float value in values)
        {
            max = float.IsNaN(value) || value > max ? value : max;
        }
        for (int j = 0; j < values.Length; j++)
        {
            values[j] -= max;
        }
        Map<ExpOperator>(values);
        float sum = 0f;
        foreach (float value in values)
        {
            sum += value;
        }
        float inverse = 1f / sum;
        for (int j = 0; j < values.Length; j++)
        {
            values[j] *= inverse;
        }
    }

    private static void SoftmaxBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx)
    {
        float dot = 0f;
        for (int j = 0; j < y.Length; j++)
        {
            dot += dy[j] * y[j];
        }
        for (int j = 0; j < y.Length; j++)
        {
            dx[j] = y[j] * (dy[j] - dot);
        }
    }
}
