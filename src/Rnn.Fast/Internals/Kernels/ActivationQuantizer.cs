using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Rnn.Fast.Internals;

/// <summary>
/// <see cref="ReducedProductKernel.QuantizeActivations"/> on 128-bit registers (SSE4.1 or NEON; the scalar definition
/// where the runtime does not accelerate them), bit-identical to it. The scalar loop (a MathF.Round and a clamp per
/// value) was a measurable share of a batch-1 int8 product, which does only a few instructions per column.
/// </summary>
internal static class ActivationQuantizer
{
    /// <summary>Writes <c>2·Pairs</c> int16 values of <paramref name="x"/> (zero past K) and returns s_x, or NaN for a
    /// row holding a NaN or an infinity: exactly what <see cref="ReducedProductKernel.QuantizeActivations"/> returns and writes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Quantize(ReadOnlySpan<float> x /* [K] */, Span<short> q /* [2·Pairs] */)
    {
        if (!Vector128.IsHardwareAccelerated || x.Length < 8 || q.Length < x.Length)
        {
            return ReducedProductKernel.QuantizeActivations(x, q);
        }
        ref float xRef = ref MemoryMarshal.GetReference(x);
        int k = x.Length, j = 0;
        // max |x_j| as integer bits with the sign cleared: for non-negative floats the bit order is the value order,
        // and every NaN lies above +Inf, so one integer maximum finds the largest magnitude and any NaN or infinity.
        Vector128<int> magnitude = Vector128.Create(int.MaxValue);
        Vector128<int> m0 = Vector128<int>.Zero, m1 = Vector128<int>.Zero;
        for (; j + 8 <= k; j += 8)
        {
            m0 = Vector128.Max(m0, Vector128.LoadUnsafe(ref xRef, (nuint)j).AsInt32() & magnitude);
            m1 = Vector128.Max(m1, Vector128.LoadUnsafe(ref xRef, (nuint)(j + 4)).AsInt32() & magnitude);
        }
        // The last 8 values again (overlapping is harmless for a maximum).
        m0 = Vector128.Max(m0, Vector128.LoadUnsafe(ref xRef, (nuint)(k - 8)).AsInt32() & magnitude);
        m1 = Vector128.Max(m1, Vector128.LoadUnsafe(ref xRef, (nuint)(k - 4)).AsInt32() & magnitude);
        Vector128<int> m = Vector128.Max(m0, m1);
        int bits = Math.Max(Math.Max(m[0], m[1]), Math.Max(m[2], m[3]));
        float max = BitConverter.Int32BitsToSingle(bits);
        q.Clear();
        if (!float.IsFinite(max))
        {
            return float.NaN;
        }
        if (max == 0f)
        {
            return 0f;
        }
        // q_j = round-half-even(x_j · (32767 / m)): one float multiply as the definition does, the rounding of
        // Vector128.Round (to nearest even), then int16. |x_j · inverse| ≤ 32767 · (1 + 2u) < 32767.5, so the
        // definition's clamp never binds and the narrowing never wraps.
        float inverse = ReducedProductKernel.ActivationRange / max;
        if (!float.IsFinite(inverse))
        {
            // m below 32767 / float.MaxValue (about 1e-34): x · inverse is ±Inf or NaN, which the definition's clamp
            // and cast map to ±32767 or 0; the vector conversion would not. Rare enough to leave to the definition.
            return ReducedProductKernel.QuantizeActivations(x, q);
        }
        Vector128<float> scale = Vector128.Create(inverse);
        ref short qRef = ref MemoryMarshal.GetReference(q);
        for (j = 0; j + 8 <= k; j += 8)
        {
            Vector128<int> low = Vector128.ConvertToInt32(Vector128.Round(Vector128.LoadUnsafe(ref xRef, (nuint)j) * scale));
            Vector128<int> high = Vector128.ConvertToInt32(Vector128.Round(Vector128.LoadUnsafe(ref xRef, (nuint)(j + 4)) * scale));
            Vector128.Narrow(low, high).StoreUnsafe(ref qRef, (nuint)j);
        }
        for (; j < k; j++)
        {
            Unsafe.Add(ref qRef, j) = (short)MathF.Round(Unsafe.Add(ref xRef, j) * inverse, MidpointRounding.ToEven);
        }
        return max / ReducedProductKernel.ActivationRange;
    }
}
