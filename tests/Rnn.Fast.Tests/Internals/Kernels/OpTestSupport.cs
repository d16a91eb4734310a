using System.Runtime.CompilerServices;

namespace Rnn.Fast.Tests.Internals.Kernels;

/// <summary>
/// A float buffer with guard zones before and after its payload, to catch reads and writes past either end
/// (TensorPrimitives puts guard pages after its buffers; a managed array can only hold guard values).
/// </summary>
/// <remarks>
/// <para>Buffers the op only reads are guarded by <see cref="Sentinel"/>, a NaN with a recognisable payload: a kernel
/// that reads it and uses it produces NaN, which fails every tolerance check. Input padding the contract says is
/// ignored (x rows past their columns) holds it as well.</para>
/// <para>Buffers the op writes (<see cref="Output"/>, <see cref="InOut"/>) are guarded by <see cref="WriteMarker"/>, a
/// finite value: a stray write computed from the NaN guards of the inputs would carry the same NaN and go unseen, and
/// one computed by adding to a huge marker would be absorbed by it. A value of moderate size changes under any
/// arithmetic, and read back into a result it is far outside every tolerance.</para>
/// </remarks>
internal sealed class Guarded
{
    /// <summary>Guard floats on each side: four registers of 16 lanes, more than any tile stores past its end.</summary>
    public const int GuardLength = 64;

    public const int SentinelBits = 0x7FC0DEAD;
    public static readonly float Sentinel = BitConverter.Int32BitsToSingle(SentinelBits);

    public const float WriteMarker = -1234.5f;

    private readonly float[] _array;
    private readonly float _guard;

    /// <summary>A read-only input of <paramref name="length"/> zeros, guarded by <see cref="Sentinel"/>.</summary>
    public Guarded(int length)
        : this(length, Sentinel)
    {
    }

    /// <summary>A read-only input holding a copy of <paramref name="values"/>, guarded by <see cref="Sentinel"/>.</summary>
    public Guarded(ReadOnlySpan<float> values)
        : this(values.Length, Sentinel) => values.CopyTo(Span);

    private Guarded(int length, float guard)
    {
        Length = length;
        _guard = guard;
        _array = new float[length + 2 * GuardLength];
        _array.AsSpan(0, GuardLength).Fill(guard);
        _array.AsSpan(GuardLength + length).Fill(guard);
    }

    /// <summary>An output: guarded by <see cref="WriteMarker"/>, its payload NaN so an element the op fails to write is caught.</summary>
    public static Guarded Output(int length)
    {
        var buffer = new Guarded(length, WriteMarker);
        buffer.Span.Fill(Sentinel);
        return buffer;
    }

    /// <summary>A buffer the op reads and writes (accumulates into, or transforms in place), guarded by <see cref="WriteMarker"/>.</summary>
    public static Guarded InOut(ReadOnlySpan<float> values)
    {
        var buffer = new Guarded(values.Length, WriteMarker);
        values.CopyTo(buffer.Span);
        return buffer;
    }

    public int Length { get; }

    public Span<float> Span => _array.AsSpan(GuardLength, Length);

    public float this[int index]
    {
        get => Span[index];
        set => Span[index] = value;
    }

    public float[] ToArray() => Span.ToArray();

    public void AssertGuardsIntact(string what, string replay)
    {
        for (int i = 0; i < GuardLength; i++)
        {
            if (!IsGuard(_array[i]))
            {
                Assert.Fail($"{what}: guard [{i - GuardLength}] before the buffer was overwritten (found {_array[i]:R}); {replay}");
            }
            float after = _array[GuardLength + Length + i];
            if (!IsGuard(after))
            {
                Assert.Fail($"{what}: guard [{Length + i}] after the end (length {Length}) was overwritten (found {after:R}); {replay}");
            }
        }
    }

    private bool IsGuard(float value) => BitConverter.SingleToInt32Bits(value) == BitConverter.SingleToInt32Bits(_guard);
}

/// <summary>Fixed seeds, sizes and the replay line every failure message carries.</summary>
internal static class OpCases
{
    /// <summary>The base of every seed: change it to draw other values; a failure prints the seed it used.</summary>
    public const int BaseSeed = 20261126;

    /// <summary>Lengths 0–70 (every tail of every width, several blocks of 16), then 127–129 and 255–257.</summary>
    public static readonly int[] Lengths = [.. Enumerable.Range(0, 71), 127, 128, 129, 255, 256, 257];

    /// <summary>Row counts crossing the 4-row register tile of the products, and the latency path below it.</summary>
    public static readonly int[] Rows = [0, 1, 2, 3, 4, 5, 7, 8, 9];

    /// <summary>A seed fixed by the op and its sizes (FNV-1a, stable across runs and runtimes, unlike string.GetHashCode).</summary>
    public static int Seed(string op, params int[] sizes)
    {
        uint hash = 2166136261;
        foreach (char c in op)
        {
            hash = (hash ^ c) * 16777619;
        }
        foreach (int size in sizes)
        {
            hash = (hash ^ (uint)size) * 16777619;
        }
        return (int)(hash ^ BaseSeed) & int.MaxValue;
    }

    public static string Replay(KernelUnderTest kernel, string op, int seed, string sizes) =>
        $"replay: op={op} kernel={kernel} lanes={kernel.Lanes} seed={seed} {sizes}";

    /// <summary>Uniform in [−scale, scale).</summary>
    public static float Uniform(Random random, double scale) => (float)((2 * random.NextDouble() - 1) * scale);

    public static float[] Uniform(Random random, int length, double scale)
    {
        var values = new float[length];
        for (int i = 0; i < length; i++)
        {
            values[i] = Uniform(random, scale);
        }
        return values;
    }

    /// <summary>Asserts |actual − expected| within the bound of <see cref="ErrorBound"/>, with the replay line on failure.</summary>
    public static void AssertWithin(float actual, Approx expected,
        [InterpolatedStringHandlerArgument(nameof(actual), nameof(expected))] ref FailureMessage what, string replay)
    {
        if (what.Failed)
        {
            Assert.Fail($"{what.ToStringAndClear()}: {actual:R} vs reference {expected} (error {Math.Abs(actual - expected.Value):G3}, " +
                $"allowed {ErrorBound.Allowed(expected):G3}); {replay}");
        }
    }

    /// <summary>Asserts bitwise equality (±0 equal): a padding unit the contract fixes, an exact sum, or the same computation done twice.</summary>
    public static void AssertExactly(float expected, float actual,
        [InterpolatedStringHandlerArgument(nameof(expected), nameof(actual))] ref FailureMessage what, string replay)
    {
        if (what.Failed)
        {
            Assert.Fail($"{what.ToStringAndClear()}: expected exactly {expected:R}, found {actual:R}; {replay}");
        }
    }

    public static bool Same(float expected, float actual) =>
        BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(actual) || (expected == 0 && actual == 0);
}

/// <summary>
/// The description of a checked element, formatted only when the check fails (as <c>Debug.Assert</c>'s handler
/// does): the op tests check millions of elements, and formatting each one's name would dominate their run time.
/// </summary>
[InterpolatedStringHandler]
internal ref struct FailureMessage
{
    private DefaultInterpolatedStringHandler _text;

    /// <summary>For <see cref="OpCases.AssertWithin"/>.</summary>
    public FailureMessage(int literalLength, int formattedCount, float actual, Approx expected, out bool shouldAppend)
    {
        Failed = !ErrorBound.Within(actual, expected);
        _text = new DefaultInterpolatedStringHandler(Failed ? literalLength : 0, Failed ? formattedCount : 0);
        shouldAppend = Failed;
    }

    /// <summary>For <see cref="OpCases.AssertExactly"/>.</summary>
    public FailureMessage(int literalLength, int formattedCount, float expected, float actual, out bool shouldAppend)
    {
        Failed = !OpCases.Same(expected, actual);
        _text = new DefaultInterpolatedStringHandler(Failed ? literalLength : 0, Failed ? formattedCount : 0);
        shouldAppend = Failed;
    }

    public bool Failed { get; }

    public void AppendLiteral(string value) => _text.AppendLiteral(value);

    public void AppendFormatted<T>(T value) => _text.AppendFormatted(value);

    public void AppendFormatted<T>(T value, string? format) => _text.AppendFormatted(value, format);

    public string ToStringAndClear() => _text.ToStringAndClear();
}
