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
        ReadOnlySpan<float> wh, ReadOnlySpan<float> hPrev, Span<float> c, Span<float> hNext, Span<float> activations)
    {
        bool keep = !activations.IsEmpty;
        ref float actRef = ref MemoryMarshal.GetReference(activations);
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

            FinishLstmBlock(TOps.Add(ai, bi), TOps.Add(af, bf), TOps.Add(ag, bg), TOps.Add(ao, bo),
                ref Unsafe.Add(ref cRef, b * v), ref Unsafe.Add(ref outRef, b * v), keep, ref Unsafe.Add(ref actRef, b * 4 * v));
        }
    }

    // Gate activations, the cell update and h' for one block, in registers; optionally keeps i, f, g, o.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FinishLstmBlock(TV preI, TV preF, TV preG, TV preO, ref float cBlock, ref float hBlock, bool keep, ref float act)
    {
        int v = TOps.Lanes;
        TV i = SimdMath.Sigmoid<TOps, TV>(preI);
        TV f = SimdMath.Sigmoid<TOps, TV>(preF);
        TV g = SimdMath.Tanh<TOps, TV>(preG);
        TV o = SimdMath.Sigmoid<TOps, TV>(preO);
        if (keep)
        {
            TOps.Store(i, ref act);
            TOps.Store(f, ref Unsafe.Add(ref act, v));
            TOps.Store(g, ref Unsafe.Add(ref act, 2 * v));
            TOps.Store(o, ref Unsafe.Add(ref act, 3 * v));
        }
        TV cNew = TOps.MultiplyAdd(f, TOps.Load(in cBlock), TOps.Multiply(i, g));
        TOps.Store(cNew, ref cBlock);
        TOps.Store(TOps.Multiply(o, SimdMath.Tanh<TOps, TV>(cNew)), ref hBlock);
    }

    public sealed override void LstmStepPair(ReadOnlySpan<float> init0, ReadOnlySpan<float> init1, ReadOnlySpan<float> wh,
        ReadOnlySpan<float> hPrev0, ReadOnlySpan<float> hPrev1, Span<float> c0, Span<float> c1, Span<float> hNext0, Span<float> hNext1,
        Span<float> activations0, Span<float> activations1)
    {
        bool keep = !activations0.IsEmpty;
        int v = TOps.Lanes;
        int blocks = c0.Length / v;
        int hidden = hPrev0.Length;
        ref float whRef = ref MemoryMarshal.GetReference(wh);
        ref float i0Ref = ref MemoryMarshal.GetReference(init0);
        ref float i1Ref = ref MemoryMarshal.GetReference(init1);
        ref float h0Ref = ref MemoryMarshal.GetReference(hPrev0);
        ref float h1Ref = ref MemoryMarshal.GetReference(hPrev1);
        for (int b = 0; b < blocks; b++)
        {
            ref float g0 = ref Unsafe.Add(ref i0Ref, b * 4 * v);
            ref float g1 = ref Unsafe.Add(ref i1Ref, b * 4 * v);
            TV ai = TOps.Load(in g0), af = TOps.Load(in Unsafe.Add(ref g0, v));
            TV ag = TOps.Load(in Unsafe.Add(ref g0, 2 * v)), ao = TOps.Load(in Unsafe.Add(ref g0, 3 * v));
            TV bi = TOps.Load(in g1), bf = TOps.Load(in Unsafe.Add(ref g1, v));
            TV bg = TOps.Load(in Unsafe.Add(ref g1, 2 * v)), bo = TOps.Load(in Unsafe.Add(ref g1, 3 * v));
            // The two streams share every weight load: four loads and two broadcasts feed eight FMAs
            // (the single-stream step needs four loads and one broadcast per four), which halves the
            // weight traffic per stream where the recurrence is bandwidth-bound.
            ref float w = ref Unsafe.Add(ref whRef, b * hidden * 4 * v);
            for (int j = 0; j < hidden; j++)
            {
                ref float wj = ref Unsafe.Add(ref w, j * 4 * v);
                TV wi = TOps.Load(in wj), wf = TOps.Load(in Unsafe.Add(ref wj, v));
                TV wg = TOps.Load(in Unsafe.Add(ref wj, 2 * v)), wo = TOps.Load(in Unsafe.Add(ref wj, 3 * v));
                TV x0 = TOps.Broadcast(Unsafe.Add(ref h0Ref, j));
                TV x1 = TOps.Broadcast(Unsafe.Add(ref h1Ref, j));
                ai = TOps.MultiplyAdd(wi, x0, ai); bi = TOps.MultiplyAdd(wi, x1, bi);
                af = TOps.MultiplyAdd(wf, x0, af); bf = TOps.MultiplyAdd(wf, x1, bf);
                ag = TOps.MultiplyAdd(wg, x0, ag); bg = TOps.MultiplyAdd(wg, x1, bg);
                ao = TOps.MultiplyAdd(wo, x0, ao); bo = TOps.MultiplyAdd(wo, x1, bo);
            }
            FinishLstmBlock(ai, af, ag, ao, ref Unsafe.Add(ref MemoryMarshal.GetReference(c0), b * v),
                ref Unsafe.Add(ref MemoryMarshal.GetReference(hNext0), b * v), keep, ref Unsafe.Add(ref MemoryMarshal.GetReference(activations0), b * 4 * v));
            FinishLstmBlock(bi, bf, bg, bo, ref Unsafe.Add(ref MemoryMarshal.GetReference(c1), b * v),
                ref Unsafe.Add(ref MemoryMarshal.GetReference(hNext1), b * v), keep, ref Unsafe.Add(ref MemoryMarshal.GetReference(activations1), b * 4 * v));
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
        ReadOnlySpan<float> x, ReadOnlySpan<float> wh, ReadOnlySpan<float> hPrev, int hidden, Span<float> hNext, Span<float> activations)
    {
        bool keep = !activations.IsEmpty;
        ref float actRef = ref MemoryMarshal.GetReference(activations);
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
            TV hn = TOps.Add(anh, bnh);
            TV n = SimdMath.Tanh<TOps, TV>(TOps.MultiplyAdd(r, hn, TOps.Add(anx, bnx)));
            if (keep)
            {
                ref float act = ref Unsafe.Add(ref actRef, b * 4 * v);
                TOps.Store(r, ref act);
                TOps.Store(z, ref Unsafe.Add(ref act, v));
                TOps.Store(n, ref Unsafe.Add(ref act, 2 * v));
                TOps.Store(hn, ref Unsafe.Add(ref act, 3 * v));
            }
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
            // One gate per unit, so eight accumulators over columns j..j+7 provide the independent FMA
            // chains the LSTM gets from its gates: two FMA pipes × four cycles of latency.
            TV a0 = TOps.Load(in Unsafe.Add(ref initRef, b * v));
            TV a1 = TOps.Zero, a2 = TOps.Zero, a3 = TOps.Zero, a4 = TOps.Zero, a5 = TOps.Zero, a6 = TOps.Zero, a7 = TOps.Zero;
            AccumulateSingle(ref Unsafe.Add(ref wxRef, b * inputs * v), ref xRef, inputs, ref a0, ref a1, ref a2, ref a3, ref a4, ref a5, ref a6, ref a7);
            AccumulateSingle(ref Unsafe.Add(ref whRef, b * hidden * v), ref hRef, hidden, ref a0, ref a1, ref a2, ref a3, ref a4, ref a5, ref a6, ref a7);
            TV sum = TOps.Add(TOps.Add(TOps.Add(a0, a1), TOps.Add(a2, a3)), TOps.Add(TOps.Add(a4, a5), TOps.Add(a6, a7)));
            TOps.Store(TAct.Invoke<TOps, TV>(sum), ref Unsafe.Add(ref outRef, b * v));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AccumulateSingle(ref float w /* [k, V] */, ref float x /* [k] */, int k,
        ref TV a0, ref TV a1, ref TV a2, ref TV a3, ref TV a4, ref TV a5, ref TV a6, ref TV a7)
    {
        int v = TOps.Lanes;
        int j = 0;
        for (; j + 7 < k; j += 8)
        {
            ref float w0 = ref Unsafe.Add(ref w, j * v);
            ref float x0 = ref Unsafe.Add(ref x, j);
            a0 = TOps.MultiplyAdd(TOps.Load(in w0), TOps.Broadcast(x0), a0);
            a1 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w0, v)), TOps.Broadcast(Unsafe.Add(ref x0, 1)), a1);
            a2 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w0, 2 * v)), TOps.Broadcast(Unsafe.Add(ref x0, 2)), a2);
            a3 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w0, 3 * v)), TOps.Broadcast(Unsafe.Add(ref x0, 3)), a3);
            a4 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w0, 4 * v)), TOps.Broadcast(Unsafe.Add(ref x0, 4)), a4);
            a5 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w0, 5 * v)), TOps.Broadcast(Unsafe.Add(ref x0, 5)), a5);
            a6 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w0, 6 * v)), TOps.Broadcast(Unsafe.Add(ref x0, 6)), a6);
            a7 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w0, 7 * v)), TOps.Broadcast(Unsafe.Add(ref x0, 7)), a7);
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

    public sealed override void LstmBackward(ReadOnlySpan<float> dh, ReadOnlySpan<float> activations, ReadOnlySpan<float> c,
        ReadOnlySpan<float> cPrev, Span<float> dc, Span<float> dPre)
    {
        int v = TOps.Lanes;
        int blocks = dh.Length / v;
        ref float dhRef = ref MemoryMarshal.GetReference(dh);
        ref float actRef = ref MemoryMarshal.GetReference(activations);
        ref float cRef = ref MemoryMarshal.GetReference(c);
        ref float cPrevRef = ref MemoryMarshal.GetReference(cPrev);
        ref float dcRef = ref MemoryMarshal.GetReference(dc);
        ref float dPreRef = ref MemoryMarshal.GetReference(dPre);
        TV one = TOps.Broadcast(1f);
        for (int b = 0; b < blocks; b++)
        {
            ref float act = ref Unsafe.Add(ref actRef, b * 4 * v);
            TV i = TOps.Load(in act), f = TOps.Load(in Unsafe.Add(ref act, v));
            TV g = TOps.Load(in Unsafe.Add(ref act, 2 * v)), o = TOps.Load(in Unsafe.Add(ref act, 3 * v));
            TV gradH = TOps.Load(in Unsafe.Add(ref dhRef, b * v));
            ref float dcBlock = ref Unsafe.Add(ref dcRef, b * v);
            // tanh(c) is recomputed rather than cached: one more activation per unit, one less
            // [T, B, H] buffer to write and read back.
            TV tc = SimdMath.Tanh<TOps, TV>(TOps.Load(in Unsafe.Add(ref cRef, b * v)));
            // h = o tanh(c): dc(t) gets the path through h plus the path from c(t+1).
            TV gradC = TOps.MultiplyAdd(TOps.Multiply(gradH, o), TOps.Subtract(one, TOps.Multiply(tc, tc)), TOps.Load(in dcBlock));
            TV gradO = TOps.Multiply(gradH, tc);
            TV gradI = TOps.Multiply(gradC, g);
            TV gradG = TOps.Multiply(gradC, i);
            TV gradF = TOps.Multiply(gradC, TOps.Load(in Unsafe.Add(ref cPrevRef, b * v)));
            TOps.Store(TOps.Multiply(gradC, f), ref dcBlock);
            // Through the gate nonlinearities: σ' = s(1 − s), tanh' = 1 − t².
            ref float d = ref Unsafe.Add(ref dPreRef, b * 4 * v);
            TOps.Store(TOps.Multiply(gradI, TOps.Multiply(i, TOps.Subtract(one, i))), ref d);
            TOps.Store(TOps.Multiply(gradF, TOps.Multiply(f, TOps.Subtract(one, f))), ref Unsafe.Add(ref d, v));
            TOps.Store(TOps.Multiply(gradG, TOps.Subtract(one, TOps.Multiply(g, g))), ref Unsafe.Add(ref d, 2 * v));
            TOps.Store(TOps.Multiply(gradO, TOps.Multiply(o, TOps.Subtract(one, o))), ref Unsafe.Add(ref d, 3 * v));
        }
    }

    public sealed override void GruBackward(ReadOnlySpan<float> dh, ReadOnlySpan<float> activations, ReadOnlySpan<float> hPrev,
        ReadOnlySpan<float> dhBelow, Span<float> dPreInput, Span<float> dPreHidden, Span<float> dhBase)
    {
        int v = TOps.Lanes;
        int blocks = dh.Length / v;
        bool below = !dhBelow.IsEmpty;
        ref float dhRef = ref MemoryMarshal.GetReference(dh);
        ref float actRef = ref MemoryMarshal.GetReference(activations);
        ref float hRef = ref MemoryMarshal.GetReference(hPrev);
        ref float belowRef = ref MemoryMarshal.GetReference(dhBelow);
        ref float dxRef = ref MemoryMarshal.GetReference(dPreInput);
        ref float dhhRef = ref MemoryMarshal.GetReference(dPreHidden);
        ref float baseRef = ref MemoryMarshal.GetReference(dhBase);
        TV one = TOps.Broadcast(1f);
        for (int b = 0; b < blocks; b++)
        {
            ref float act = ref Unsafe.Add(ref actRef, b * 4 * v);
            TV r = TOps.Load(in act), z = TOps.Load(in Unsafe.Add(ref act, v));
            TV n = TOps.Load(in Unsafe.Add(ref act, 2 * v)), hn = TOps.Load(in Unsafe.Add(ref act, 3 * v));
            TV gradH = TOps.Load(in Unsafe.Add(ref dhRef, b * v));
            TV h = TOps.Load(in Unsafe.Add(ref hRef, b * v));
            // h' = (1 − z) n + z h.
            TV gradN = TOps.Multiply(gradH, TOps.Subtract(one, z));
            TV gradZ = TOps.Multiply(gradH, TOps.Subtract(h, n));
            TV direct = TOps.Multiply(gradH, z);
            TOps.Store(below ? TOps.Add(direct, TOps.Load(in Unsafe.Add(ref belowRef, b * v))) : direct, ref Unsafe.Add(ref baseRef, b * v));
            // n = tanh(xn + r hn).
            TV preN = TOps.Multiply(gradN, TOps.Subtract(one, TOps.Multiply(n, n)));
            TV gradR = TOps.Multiply(preN, hn);
            TV preR = TOps.Multiply(gradR, TOps.Multiply(r, TOps.Subtract(one, r)));
            TV preZ = TOps.Multiply(gradZ, TOps.Multiply(z, TOps.Subtract(one, z)));
            ref float dx = ref Unsafe.Add(ref dxRef, b * 3 * v);
            ref float dhh = ref Unsafe.Add(ref dhhRef, b * 3 * v);
            TOps.Store(preR, ref dx);
            TOps.Store(preZ, ref Unsafe.Add(ref dx, v));
            TOps.Store(preN, ref Unsafe.Add(ref dx, 2 * v));
            TOps.Store(preR, ref dhh);
            TOps.Store(preZ, ref Unsafe.Add(ref dhh, v));
            TOps.Store(TOps.Multiply(preN, r), ref Unsafe.Add(ref dhh, 2 * v));
        }
    }

    public sealed override void ActivationBackward(Activation activation, ReadOnlySpan<float> output, ReadOnlySpan<float> dOutput, Span<float> dInput)
    {
        if (activation == Activation.Softmax)
        {
            // dz_i = y_i (dy_i − Σ_j dy_j y_j).
            float dot = 0f;
            for (int j = 0; j < output.Length; j++)
            {
                dot += dOutput[j] * output[j];
            }
            for (int j = 0; j < output.Length; j++)
            {
                dInput[j] = output[j] * (dOutput[j] - dot);
            }
            return;
        }
        for (int j = 0; j < output.Length; j++)
        {
            float y = output[j];
            float derivative = activation switch
            {
                Activation.Identity => 1f,
                Activation.Tanh => 1f - y * y,
                Activation.Sigmoid => y * (1f - y),
                Activation.Relu => y > 0f ? 1f : 0f,
                _ => throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation."),
            };
            dInput[j] = dOutput[j] * derivative;
        }
    }

    public sealed override void AccumulateOuter(ReadOnlySpan<float> d, ReadOnlySpan<float> x, int rows, int k, int xStride,
        int gates, Span<float> grad)
    {
        int v = TOps.Lanes;
        int width = d.Length / Math.Max(rows, 1);   // nb * G * V floats per row of d
        int columns = width / v;
        ref float dRef = ref MemoryMarshal.GetReference(d);
        ref float xRef = ref MemoryMarshal.GetReference(x);
        ref float gRef = ref MemoryMarshal.GetReference(grad);

        // The transpose of ProjectInputs: the time rows are the long, summed dimension. A tile holds
        // 2 register columns × 4 input columns (8 accumulators) in registers across a panel of rows, so
        // each gradient vector is read and written once per panel instead of once per row. A panel's
        // rows of d and x (about PanelBytes) stay in L2 while every tile sweeps them; sweeping all T·B
        // rows per tile fell out of L2 for long batched sequences (measured: LSTM H = 256, T·B = 1600 ran
        // at 14 GFLOP/s against 33 at 256 rows).
        int panelSize = Math.Clamp(PanelBytes / ((width + xStride) * sizeof(float)), 16, 4096);
        for (int panel = 0; panel < rows; panel += panelSize)
        {
            int panelRows = Math.Min(panelSize, rows - panel);
            AccumulateOuterPanel(ref Unsafe.Add(ref dRef, panel * width), ref Unsafe.Add(ref xRef, panel * xStride), panelRows,
                width, columns, k, xStride, gates, ref gRef);
        }
    }

    // Half of a 512 KiB L2 for the panel's d and x; the gradient tiles stream through the rest.
    private const int PanelBytes = 256 * 1024;

    private static void AccumulateOuterPanel(ref float dRef, ref float xRef, int rows, int width, int columns, int k, int xStride,
        int gates, ref float gRef)
    {
        int v = TOps.Lanes;
        int blockStride = k * gates * v;
        int columnStride = gates * v;
        for (int q = 0; q < columns; q += 2)
        {
            bool pair = q + 1 < columns;
            int q1 = pair ? q + 1 : q;
            ref float g0 = ref Unsafe.Add(ref gRef, (q / gates) * blockStride + (q % gates) * v);
            ref float g1 = ref Unsafe.Add(ref gRef, (q1 / gates) * blockStride + (q1 % gates) * v);
            int j = 0;
            for (; j + 3 < k; j += 4)
            {
                TV s00 = TOps.Zero, s01 = TOps.Zero, s02 = TOps.Zero, s03 = TOps.Zero;
                TV s10 = TOps.Zero, s11 = TOps.Zero, s12 = TOps.Zero, s13 = TOps.Zero;
                for (int r = 0; r < rows; r++)
                {
                    TV d0 = TOps.Load(in Unsafe.Add(ref dRef, r * width + q * v));
                    TV d1 = TOps.Load(in Unsafe.Add(ref dRef, r * width + q1 * v));
                    ref float xr = ref Unsafe.Add(ref xRef, r * xStride + j);
                    TV x0 = TOps.Broadcast(xr), x1 = TOps.Broadcast(Unsafe.Add(ref xr, 1));
                    TV x2 = TOps.Broadcast(Unsafe.Add(ref xr, 2)), x3 = TOps.Broadcast(Unsafe.Add(ref xr, 3));
                    s00 = TOps.MultiplyAdd(d0, x0, s00); s10 = TOps.MultiplyAdd(d1, x0, s10);
                    s01 = TOps.MultiplyAdd(d0, x1, s01); s11 = TOps.MultiplyAdd(d1, x1, s11);
                    s02 = TOps.MultiplyAdd(d0, x2, s02); s12 = TOps.MultiplyAdd(d1, x2, s12);
                    s03 = TOps.MultiplyAdd(d0, x3, s03); s13 = TOps.MultiplyAdd(d1, x3, s13);
                }
                AddTo(ref Unsafe.Add(ref g0, j * columnStride), s00);
                AddTo(ref Unsafe.Add(ref g0, (j + 1) * columnStride), s01);
                AddTo(ref Unsafe.Add(ref g0, (j + 2) * columnStride), s02);
                AddTo(ref Unsafe.Add(ref g0, (j + 3) * columnStride), s03);
                if (pair)
                {
                    AddTo(ref Unsafe.Add(ref g1, j * columnStride), s10);
                    AddTo(ref Unsafe.Add(ref g1, (j + 1) * columnStride), s11);
                    AddTo(ref Unsafe.Add(ref g1, (j + 2) * columnStride), s12);
                    AddTo(ref Unsafe.Add(ref g1, (j + 3) * columnStride), s13);
                }
            }
            for (; j < k; j++)
            {
                TV s0 = TOps.Zero, s1 = TOps.Zero;
                for (int r = 0; r < rows; r++)
                {
                    TV xj = TOps.Broadcast(Unsafe.Add(ref xRef, r * xStride + j));
                    s0 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref dRef, r * width + q * v)), xj, s0);
                    s1 = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref dRef, r * width + q1 * v)), xj, s1);
                }
                AddTo(ref Unsafe.Add(ref g0, j * columnStride), s0);
                if (pair)
                {
                    AddTo(ref Unsafe.Add(ref g1, j * columnStride), s1);
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddTo(ref float destination, TV value) => TOps.Store(TOps.Add(TOps.Load(in destination), value), ref destination);

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

    public sealed override void AccumulateRows(ReadOnlySpan<float> d, int rows, Span<float> sum)
    {
        int v = TOps.Lanes;
        int width = sum.Length;
        ref float dRef = ref MemoryMarshal.GetReference(d);
        ref float sRef = ref MemoryMarshal.GetReference(sum);
        for (int j = 0; j < width; j += v)
        {
            TV acc = TOps.Load(in Unsafe.Add(ref sRef, j));
            for (int r = 0; r < rows; r++)
            {
                acc = TOps.Add(acc, TOps.Load(in Unsafe.Add(ref dRef, r * width + j)));
            }
            TOps.Store(acc, ref Unsafe.Add(ref sRef, j));
        }
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
