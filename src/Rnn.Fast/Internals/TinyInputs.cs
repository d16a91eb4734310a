using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Rnn.Fast.Internals;

/// <summary>
/// The flush-to-zero of <see cref="SimdMath.FlushTiny{TOps, TV}"/> for what callers pass in: inputs of magnitude below
/// 2^-63 (a fading signal through the host's filters reaches the subnormals) are read as 0, so W_ih·x never multiplies
/// a subnormal. Measured on Emerald Rapids before this: a 1×16 LSTM Step on subnormal input took 2× its normal time,
/// and a B = 64 Run 3×. Inputs without such values (the common case) are used in place after one vectorised scan,
/// a few nanoseconds per step of a small model; only a span that has one is copied, flushed, into scratch.
/// </summary>
internal static class TinyInputs
{
    /// <summary><paramref name="values"/> itself if no value needs flushing, else its flushed copy in the front of
    /// <paramref name="scratch"/> (at least as long).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ReadOnlySpan<float> Flushed(ReadOnlySpan<float> values, Span<float> scratch)
    {
        if (!AnyTiny(values))
        {
            return values;
        }
        Span<float> copy = scratch[..values.Length];
        Copy(values, copy);
        return copy;
    }

    /// <summary>Whether a value of <paramref name="values"/> is nonzero with magnitude below 2^-63.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // on Step's path: compiled once, fully, by HotPath.Prepare
    public static bool AnyTiny(ReadOnlySpan<float> values)
    {
        ref float r = ref MemoryMarshal.GetReference(values);
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var below = new Vector<float>(SimdMath.FlushBelow);
            Vector<int> found = Vector<int>.Zero;
            for (; i + Vector<float>.Count <= values.Length; i += Vector<float>.Count)
            {
                Vector<float> v = Vector.LoadUnsafe(ref r, (nuint)i);
                found |= Vector.LessThan(Vector.Abs(v), below) & ~Vector.Equals(v, Vector<float>.Zero);
            }
            if (found != Vector<int>.Zero)
            {
                return true;
            }
        }
        for (; i < values.Length; i++)
        {
            if (IsTiny(Unsafe.Add(ref r, i)))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>destination = source with every value of magnitude below 2^-63 set to zero of its sign.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Copy(ReadOnlySpan<float> source, Span<float> destination)
    {
        for (int i = 0; i < source.Length; i++)
        {
            destination[i] = SimdMath.FlushTiny<ScalarOps, float>(source[i]);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsTiny(float value) => value != 0 && MathF.Abs(value) < SimdMath.FlushBelow;
}
