using System.Runtime.InteropServices;
using System.Runtime.CompilerServices;

namespace Rnn.Fast.Internals;

internal abstract partial class GateInterleavedCells<TOps, TV>
{
    // Every gradient this role writes (dc, carried to the previous step, and the pre-activation gradients the products
    // consume) is flushed below 2^-63 (SimdMath.FlushTiny): vanishing gradients would otherwise decay through the
    // subnormals, where each x86 multiply is a microcode assist, in every product of the backward pass.
    public sealed override void LstmBackward(ReadOnlySpan<float> dh, ReadOnlySpan<float> gates, ReadOnlySpan<float> c,
        ReadOnlySpan<float> cPrev, Span<float> dc, Span<float> dPre)
    {
        int v = TOps.Lanes;
        int blocks = dh.Length / v;
        ref float dhRef = ref MemoryMarshal.GetReference(dh);
        ref float actRef = ref MemoryMarshal.GetReference(gates);
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
            // tanh(c) is recomputed rather than kept: one more activation per unit, one less [T, B, H] buffer to
            // write and read back.
            TV tc = SimdMath.Tanh<TOps, TV>(TOps.Load(in Unsafe.Add(ref cRef, b * v)));
            // h = o tanh(c): dc(t) gets the path through h plus the path from c(t+1).
            TV gradC = TOps.MultiplyAdd(TOps.Multiply(gradH, o), TOps.Subtract(one, TOps.Multiply(tc, tc)), TOps.Load(in dcBlock));
            TV gradO = TOps.Multiply(gradH, tc);
            TV gradI = TOps.Multiply(gradC, g);
            TV gradG = TOps.Multiply(gradC, i);
            TV gradF = TOps.Multiply(gradC, TOps.Load(in Unsafe.Add(ref cPrevRef, b * v)));
            TOps.Store(Flush(TOps.Multiply(gradC, f)), ref dcBlock);
            // Through the gate nonlinearities, from their outputs.
            ref float d = ref Unsafe.Add(ref dPreRef, b * 4 * v);
            TOps.Store(Flush(TOps.Multiply(gradI, SigmoidDerivative.FromOutput<TOps, TV>(i))), ref d);
            TOps.Store(Flush(TOps.Multiply(gradF, SigmoidDerivative.FromOutput<TOps, TV>(f))), ref Unsafe.Add(ref d, v));
            TOps.Store(Flush(TOps.Multiply(gradG, TanhDerivative.FromOutput<TOps, TV>(g))), ref Unsafe.Add(ref d, 2 * v));
            TOps.Store(Flush(TOps.Multiply(gradO, SigmoidDerivative.FromOutput<TOps, TV>(o))), ref Unsafe.Add(ref d, 3 * v));
        }
    }

    public sealed override void GruBackward(ReadOnlySpan<float> dh, ReadOnlySpan<float> gates, ReadOnlySpan<float> hPrev,
        ReadOnlySpan<float> dhBelow, Span<float> dPreInput, Span<float> dPreHidden, Span<float> dhBase)
    {
        int v = TOps.Lanes;
        int blocks = dh.Length / v;
        ref float dhRef = ref MemoryMarshal.GetReference(dh);
        ref float actRef = ref MemoryMarshal.GetReference(gates);
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
            TOps.Store(Flush(TOps.Add(direct, TOps.Load(in Unsafe.Add(ref belowRef, b * v)))), ref Unsafe.Add(ref baseRef, b * v));
            // n = tanh(xn + r hn).
            TV preN = Flush(TOps.Multiply(gradN, TanhDerivative.FromOutput<TOps, TV>(n)));
            TV preR = Flush(TOps.Multiply(TOps.Multiply(preN, hn), SigmoidDerivative.FromOutput<TOps, TV>(r)));
            TV preZ = Flush(TOps.Multiply(gradZ, SigmoidDerivative.FromOutput<TOps, TV>(z)));
            ref float dx = ref Unsafe.Add(ref dxRef, b * 3 * v);
            ref float dhh = ref Unsafe.Add(ref dhhRef, b * 3 * v);
            TOps.Store(preR, ref dx);
            TOps.Store(preZ, ref Unsafe.Add(ref dx, v));
            TOps.Store(preN, ref Unsafe.Add(ref dx, 2 * v));
            TOps.Store(preR, ref dhh);
            TOps.Store(preZ, ref Unsafe.Add(ref dhh, v));
            TOps.Store(Flush(TOps.Multiply(preN, r)), ref Unsafe.Add(ref dhh, 2 * v));
        }
    }

    public sealed override void ElmanBackward(Activation nonlinearity, ReadOnlySpan<float> h, ReadOnlySpan<float> dh, Span<float> dPre)
    {
        switch (nonlinearity)
        {
            // dPre = dh ⊙ f'(h), flushed as every gradient this role writes.
            case Activation.Tanh: ElementwiseKernel<TOps, TV>.MultiplyByDerivative<TanhDerivative>(h, dh, dPre, flush: true); break;
            case Activation.Relu: ElementwiseKernel<TOps, TV>.MultiplyByDerivative<ReluDerivative>(h, dh, dPre, flush: true); break;
            case Activation.Sigmoid: ElementwiseKernel<TOps, TV>.MultiplyByDerivative<SigmoidDerivative>(h, dh, dPre, flush: true); break;
            case Activation.Identity: ElementwiseKernel<TOps, TV>.MultiplyByDerivative<IdentityDerivative>(h, dh, dPre, flush: true); break;
            default: throw new ArgumentOutOfRangeException(nameof(nonlinearity), nonlinearity, "Not a recurrent nonlinearity.");
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV Flush(TV value) => SimdMath.FlushTiny<TOps, TV>(value);
}
