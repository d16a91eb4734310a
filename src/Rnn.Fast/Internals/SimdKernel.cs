using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Rnn.Fast.Internals;

/// <summary>
/// The kernels, written once and specialised by the JIT for each width through <typeparamref name="TOps"/>.
/// Shapes are validated by the public API before anything here runs; these loops use unchecked refs.
/// </summary>
internal abstract class SimdKernel<TOps, TV> : RnnKernel where TOps : struct, ISimdOps<TV> where TV : struct
{
    public sealed override int Lanes => TOps.Lanes;

    public sealed override void LstmStep(ReadOnlySpan<float> init, ReadOnlySpan<float> wx, ReadOnlySpan<float> x,
        ReadOnlySpan<float> wh, ReadOnlySpan<float> hPrev, Span<float> c, Span<float> hNext)
    {
        int v = TOps.Lanes;
        int blocks = c.Length / v;
        int inputs = wx.IsEmpty ? 0 : x.Length;
        int hidden = hPrev.Length;
        ref float initRef = ref MemoryMarshal.GetReference(init);
        ref float wxRef = ref MemoryMarshal.GetReference(wx);
        ref float xRef = ref MemoryMarshal.GetReference(x);
        ref float whRef = ref MemoryMarshal.GetReference(wh);
        ref float hRef = ref MemoryMarshal.GetReference(hPrev);
        ref float cRef = ref MemoryMarshal.GetReference(c);
        ref float outRef = ref MemoryMarshal.GetReference(hNext);

        for (int b = 0; b < blocks; b++)
        {
            ref float gateInit = ref Unsafe.Add(ref initRef, b * 4 * v);
            TV ai = TOps.Load(in gateInit);
            TV af = TOps.Load(in Unsafe.Add(ref gateInit, v));
            TV ag = TOps.Load(in Unsafe.Add(ref gateInit, 2 * v));
            TV ao = TOps.Load(in Unsafe.Add(ref gateInit, 3 * v));

            // Two sets of four accumulators (even/odd columns) keep eight FMA chains in flight, enough
            // to cover FMA latency with two FMA ports; they are added once at the end of the block.
            TV bi = TOps.Zero, bf = TOps.Zero, bg = TOps.Zero, bo = TOps.Zero;
            AccumulateGates(ref Unsafe.Add(ref wxRef, b * inputs * 4 * v), ref xRef, inputs, ref ai, ref af, ref ag, ref ao, ref bi, ref bf, ref bg, ref bo);
            AccumulateGates(ref Unsafe.Add(ref whRef, b * hidden * 4 * v), ref hRef, hidden, ref ai, ref af, ref ag, ref ao, ref bi, ref bf, ref bg, ref bo);

            TV i = SimdMath.Sigmoid<TOps, TV>(TOps.Add(ai, bi));
            TV f = SimdMath.Sigmoid<TOps, TV>(TOps.Add(af, bf));
            TV g = SimdMath.Tanh<TOps, TV>(TOps.Add(ag, bg));
            TV o = SimdMath.Sigmoid<TOps, TV>(TOps.Add(ao, bo));

            ref float cBlock = ref Unsafe.Add(ref cRef, b * v);
            TV cNew = TOps.MultiplyAdd(f, TOps.Load(in cBlock), TOps.Multiply(i, g));
            TOps.Store(cNew, ref cBlock);
            TOps.Store(TOps.Multiply(o, SimdMath.Tanh<TOps, TV>(cNew)), ref Unsafe.Add(ref outRef, b * v));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AccumulateGates(ref float w /* [k, 4, V] */, ref float x /* [k] */, int k,
        ref TV ai, ref TV af, ref TV ag, ref TV ao, ref TV bi, ref TV bf, ref TV bg, ref TV bo)
    {
        int v = TOps.Lanes;
        int j = 0;
        for (; j + 1 < k; j += 2)
        {
            TV x0 = TOps.Broadcast(Unsafe.Add(ref x, j));
            TV x1 = TOps.Broadcast(Unsafe.Add(ref x, j + 1));
            ref float w0 = ref Unsafe.Add(ref w, j * 4 * v);
            ai = TOps.MultiplyAdd(TOps.Load(in w0), x0, ai);
            af = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w0, v)), x0, af);
            ag = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w0, 2 * v)), x0, ag);
            ao = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w0, 3 * v)), x0, ao);
            bi = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w0, 4 * v)), x1, bi);
            bf = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w0, 5 * v)), x1, bf);
            bg = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w0, 6 * v)), x1, bg);
            bo = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w0, 7 * v)), x1, bo);
        }
        if (j < k)
        {
            TV x0 = TOps.Broadcast(Unsafe.Add(ref x, j));
            ref float w0 = ref Unsafe.Add(ref w, j * 4 * v);
            ai = TOps.MultiplyAdd(TOps.Load(in w0), x0, ai);
            af = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w0, v)), x0, af);
            ag = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w0, 2 * v)), x0, ag);
            ao = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w0, 3 * v)), x0, ao);
        }
    }

    public sealed override void GruStep(ReadOnlySpan<float> init, ReadOnlySpan<float> biasHn, ReadOnlySpan<float> wx,
        ReadOnlySpan<float> x, ReadOnlySpan<float> wh, ReadOnlySpan<float> hPrev, int hidden, Span<float> hNext)
    {
        int v = TOps.Lanes;
        int blocks = hNext.Length / v;
        int inputs = wx.IsEmpty ? 0 : x.Length;
        ref float initRef = ref MemoryMarshal.GetReference(init);
        ref float bhnRef = ref MemoryMarshal.GetReference(biasHn);
        ref float wxRef = ref MemoryMarshal.GetReference(wx);
        ref float xRef = ref MemoryMarshal.GetReference(x);
        ref float whRef = ref MemoryMarshal.GetReference(wh);
        ref float hRef = ref MemoryMarshal.GetReference(hPrev);
        ref float outRef = ref MemoryMarshal.GetReference(hNext);

        for (int b = 0; b < blocks; b++)
        {
            ref float gateInit = ref Unsafe.Add(ref initRef, b * 3 * v);
            TV ar = TOps.Load(in gateInit);
            TV az = TOps.Load(in Unsafe.Add(ref gateInit, v));
            TV anx = TOps.Load(in Unsafe.Add(ref gateInit, 2 * v));
            TV anh = TOps.Load(in Unsafe.Add(ref bhnRef, b * v));

            // n needs its x part and its h part apart (r multiplies only the h part), so the x columns
            // feed (r, z, nx) and the h columns feed (r, z, nh); the second set of three accumulators
            // takes the odd columns, as in the LSTM, to keep enough FMA chains in flight.
            TV br = TOps.Zero, bz = TOps.Zero, bnx = TOps.Zero, bnh = TOps.Zero;
            AccumulateThree(ref Unsafe.Add(ref wxRef, b * inputs * 3 * v), ref xRef, inputs, ref ar, ref az, ref anx, ref br, ref bz, ref bnx);
            AccumulateThree(ref Unsafe.Add(ref whRef, b * hidden * 3 * v), ref hRef, hidden, ref ar, ref az, ref anh, ref br, ref bz, ref bnh);

            TV r = SimdMath.Sigmoid<TOps, TV>(TOps.Add(ar, br));
            TV z = SimdMath.Sigmoid<TOps, TV>(TOps.Add(az, bz));
            TV n = SimdMath.Tanh<TOps, TV>(TOps.MultiplyAdd(r, TOps.Add(anh, bnh), TOps.Add(anx, bnx)));
            // (1 − z) n + z h = n + z (h − n): one FMA.
            TV h = TOps.Load(in Unsafe.Add(ref hRef, b * v));
            TOps.Store(TOps.MultiplyAdd(z, TOps.Subtract(h, n), n), ref Unsafe.Add(ref outRef, b * v));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AccumulateThree(ref float w /* [k, 3, V] */, ref float x /* [k] */, int k,
        ref TV a0, ref TV a1, ref TV a2, ref TV b0, ref TV b1, ref TV b2)
    {
        int v = TOps.Lanes;
        int j = 0;
        for (; j + 1 < k; j += 2)
        {
            TV x0 = TOps.Broadcast(Unsafe.Add(ref x, j));
            TV x1 = TOps.Broadcast(Unsafe.Add(ref x, j + 1));
            ref float w0 = ref Unsafe.Add(ref w, j * 3 * v);
            a0 = TOps.MultiplyAdd(TOps.Load(in w0), x0, a0);
            a1 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w0, v)), x0, a1);
            a2 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w0, 2 * v)), x0, a2);
            b0 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w0, 3 * v)), x1, b0);
            b1 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w0, 4 * v)), x1, b1);
            b2 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w0, 5 * v)), x1, b2);
        }
        if (j < k)
        {
            TV x0 = TOps.Broadcast(Unsafe.Add(ref x, j));
            ref float w0 = ref Unsafe.Add(ref w, j * 3 * v);
            a0 = TOps.MultiplyAdd(TOps.Load(in w0), x0, a0);
            a1 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w0, v)), x0, a1);
            a2 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w0, 2 * v)), x0, a2);
        }
    }

    public sealed override void ElmanStep(Activation nonlinearity, ReadOnlySpan<float> init, ReadOnlySpan<float> wx,
        ReadOnlySpan<float> x, ReadOnlySpan<float> wh, ReadOnlySpan<float> hPrev, Span<float> hNext)
    {
        switch (nonlinearity)
        {
            case Activation.Tanh: ElmanStep<TanhOperator>(init, wx, x, wh, hPrev, hNext); break;
            case Activation.Relu: ElmanStep<ReluOperator>(init, wx, x, wh, hPrev, hNext); break;
            case Activation.Sigmoid: ElmanStep<SigmoidOperator>(init, wx, x, wh, hPrev, hNext); break;
            case Activation.Identity: ElmanStep<IdentityOperator>(init, wx, x, wh, hPrev, hNext); break;
            default: throw new ArgumentOutOfRangeException(nameof(nonlinearity), nonlinearity, "Not a recurrent nonlinearity.");
        }
    }

    private static void ElmanStep<TAct>(ReadOnlySpan<float> init, ReadOnlySpan<float> wx, ReadOnlySpan<float> x,
        ReadOnlySpan<float> wh, ReadOnlySpan<float> hPrev, Span<float> hNext) where TAct : struct, IActivationOperator
    {
        int v = TOps.Lanes;
        int blocks = hNext.Length / v;
        int inputs = wx.IsEmpty ? 0 : x.Length;
        int hidden = hPrev.Length;
        ref float initRef = ref MemoryMarshal.GetReference(init);
        ref float wxRef = ref MemoryMarshal.GetReference(wx);
        ref float xRef = ref MemoryMarshal.GetReference(x);
        ref float whRef = ref MemoryMarshal.GetReference(wh);
        ref float hRef = ref MemoryMarshal.GetReference(hPrev);
        ref float outRef = ref MemoryMarshal.GetReference(hNext);

        for (int b = 0; b < blocks; b++)
        {
            // One gate per unit, so four accumulators over columns j, j+1, j+2, j+3 provide the
            // independent FMA chains the LSTM gets from its four gates.
            TV a0 = TOps.Load(in Unsafe.Add(ref initRef, b * v));
            TV a1 = TOps.Zero, a2 = TOps.Zero, a3 = TOps.Zero;
            AccumulateSingle(ref Unsafe.Add(ref wxRef, b * inputs * v), ref xRef, inputs, ref a0, ref a1, ref a2, ref a3);
            AccumulateSingle(ref Unsafe.Add(ref whRef, b * hidden * v), ref hRef, hidden, ref a0, ref a1, ref a2, ref a3);
            TV sum = TOps.Add(TOps.Add(a0, a1), TOps.Add(a2, a3));
            TOps.Store(TAct.Invoke<TOps, TV>(sum), ref Unsafe.Add(ref outRef, b * v));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AccumulateSingle(ref float w /* [k, V] */, ref float x /* [k] */, int k, ref TV a0, ref TV a1, ref TV a2, ref TV a3)
    {
        int v = TOps.Lanes;
        int j = 0;
        for (; j + 3 < k; j += 4)
        {
            ref float w0 = ref Unsafe.Add(ref w, j * v);
            a0 = TOps.MultiplyAdd(TOps.Load(in w0), TOps.Broadcast(Unsafe.Add(ref x, j)), a0);
            a1 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w0, v)), TOps.Broadcast(Unsafe.Add(ref x, j + 1)), a1);
            a2 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w0, 2 * v)), TOps.Broadcast(Unsafe.Add(ref x, j + 2)), a2);
            a3 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w0, 3 * v)), TOps.Broadcast(Unsafe.Add(ref x, j + 3)), a3);
        }
        for (; j < k; j++)
        {
            a0 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w, j * v)), TOps.Broadcast(Unsafe.Add(ref x, j)), a0);
        }
    }

    public sealed override void ProjectInputs(ReadOnlySpan<float> x, int rows, int k, int xStride,
        ReadOnlySpan<float> packed, ReadOnlySpan<float> bias, int gates, Span<float> output)
    {
        int v = TOps.Lanes;
        int columns = bias.Length / v;        // nb * G register columns
        int width = columns * v;              // floats per output row
        int blockStride = k * gates * v;      // floats per block of the packed matrix
        int columnStride = gates * v;         // floats between column j and j+1 of one register column
        ref float xRef = ref MemoryMarshal.GetReference(x);
        ref float pRef = ref MemoryMarshal.GetReference(packed);
        ref float bRef = ref MemoryMarshal.GetReference(bias);
        ref float oRef = ref MemoryMarshal.GetReference(output);

        // Register column q = (block, gate) reads packed[block][j][gate] for j = 0..k-1. Each weight
        // vector loaded is reused for four rows held in registers (4 rows x 2 columns = 8 accumulators),
        // so weights stream from cache once per four steps instead of once per step.
        for (int q = 0; q < columns; q += 2)
        {
            bool pair = q + 1 < columns;
            ref float w0 = ref Unsafe.Add(ref pRef, (q / gates) * blockStride + (q % gates) * v);
            ref float w1 = ref pair ? ref Unsafe.Add(ref pRef, ((q + 1) / gates) * blockStride + ((q + 1) % gates) * v) : ref w0;
            TV bias0 = TOps.Load(in Unsafe.Add(ref bRef, q * v));
            TV bias1 = pair ? TOps.Load(in Unsafe.Add(ref bRef, (q + 1) * v)) : TOps.Zero;

            int r = 0;
            for (; r + 3 < rows; r += 4)
            {
                ref float x0 = ref Unsafe.Add(ref xRef, r * xStride);
                ref float x1 = ref Unsafe.Add(ref x0, xStride);
                ref float x2 = ref Unsafe.Add(ref x1, xStride);
                ref float x3 = ref Unsafe.Add(ref x2, xStride);
                TV s00 = bias0, s10 = bias0, s20 = bias0, s30 = bias0;
                TV s01 = bias1, s11 = bias1, s21 = bias1, s31 = bias1;
                for (int j = 0; j < k; j++)
                {
                    TV wa = TOps.Load(in Unsafe.Add(ref w0, j * columnStride));
                    TV wb = TOps.Load(in Unsafe.Add(ref w1, j * columnStride));
                    TV b0 = TOps.Broadcast(Unsafe.Add(ref x0, j));
                    TV b1 = TOps.Broadcast(Unsafe.Add(ref x1, j));
                    TV b2 = TOps.Broadcast(Unsafe.Add(ref x2, j));
                    TV b3 = TOps.Broadcast(Unsafe.Add(ref x3, j));
                    s00 = TOps.MultiplyAdd(wa, b0, s00); s01 = TOps.MultiplyAdd(wb, b0, s01);
                    s10 = TOps.MultiplyAdd(wa, b1, s10); s11 = TOps.MultiplyAdd(wb, b1, s11);
                    s20 = TOps.MultiplyAdd(wa, b2, s20); s21 = TOps.MultiplyAdd(wb, b2, s21);
                    s30 = TOps.MultiplyAdd(wa, b3, s30); s31 = TOps.MultiplyAdd(wb, b3, s31);
                }
                ref float o0 = ref Unsafe.Add(ref oRef, r * width + q * v);
                TOps.Store(s00, ref o0);
                TOps.Store(s10, ref Unsafe.Add(ref o0, width));
                TOps.Store(s20, ref Unsafe.Add(ref o0, 2 * width));
                TOps.Store(s30, ref Unsafe.Add(ref o0, 3 * width));
                if (pair)
                {
                    TOps.Store(s01, ref Unsafe.Add(ref o0, v));
                    TOps.Store(s11, ref Unsafe.Add(ref o0, width + v));
                    TOps.Store(s21, ref Unsafe.Add(ref o0, 2 * width + v));
                    TOps.Store(s31, ref Unsafe.Add(ref o0, 3 * width + v));
                }
            }
            for (; r < rows; r++)
            {
                ref float x0 = ref Unsafe.Add(ref xRef, r * xStride);
                TV s0 = bias0, s1 = bias1;
                for (int j = 0; j < k; j++)
                {
                    TV b0 = TOps.Broadcast(Unsafe.Add(ref x0, j));
                    s0 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w0, j * columnStride)), b0, s0);
                    s1 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w1, j * columnStride)), b0, s1);
                }
                ref float o0 = ref Unsafe.Add(ref oRef, r * width + q * v);
                TOps.Store(s0, ref o0);
                if (pair)
                {
                    TOps.Store(s1, ref Unsafe.Add(ref o0, v));
                }
            }
        }
    }

    public sealed override void Dense(Activation activation, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        ReadOnlySpan<float> h, Span<float> y)
    {
        int v = TOps.Lanes;
        int width = h.Length;                 // a multiple of V: state buffers are padded
        ref float wRef = ref MemoryMarshal.GetReference(weight);
        ref float hRef = ref MemoryMarshal.GetReference(h);
        for (int o = 0; o < y.Length; o++)
        {
            // Two accumulators, then a fixed-order lane sum: deterministic for a given kernel.
            ref float row = ref Unsafe.Add(ref wRef, o * width);
            TV s0 = TOps.Zero, s1 = TOps.Zero;
            int j = 0;
            for (; j + 2 * v <= width; j += 2 * v)
            {
                s0 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref row, j)), TOps.Load(in Unsafe.Add(ref hRef, j)), s0);
                s1 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref row, j + v)), TOps.Load(in Unsafe.Add(ref hRef, j + v)), s1);
            }
            if (j < width)
            {
                s0 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref row, j)), TOps.Load(in Unsafe.Add(ref hRef, j)), s0);
            }
            y[o] = TOps.Sum(TOps.Add(s0, s1)) + bias[o];
        }
        Activate(activation, y);
    }

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
        int v = TOps.Lanes;
        ref float r = ref MemoryMarshal.GetReference(values);
        int i = 0;
        for (; i + v <= values.Length; i += v)
        {
            TOps.Store(SimdMath.Exp<TOps, TV>(TOps.Load(in Unsafe.Add(ref r, i))), ref Unsafe.Add(ref r, i));
        }
        for (; i < values.Length; i++)
        {
            Unsafe.Add(ref r, i) = SimdMath.Exp<ScalarOps, float>(Unsafe.Add(ref r, i));
        }
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
}
