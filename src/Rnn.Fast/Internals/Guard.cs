using System.Runtime.CompilerServices;

namespace Rnn.Fast.Internals;

/// <summary>Argument checks with messages that name the argument and the expected shape.</summary>
internal static class Guard
{
    /// <summary>
    /// Throws unless <paramref name="actual"/> equals <paramref name="expected"/>. The shape text is an
    /// interpolated string that is only formatted when the check fails, so hot paths can call this
    /// on every step without allocating.
    /// </summary>
    public static void Length(int actual, int expected,
        [InterpolatedStringHandlerArgument(nameof(actual), nameof(expected))] ref ShapeText shape, string paramName)
    {
        if (actual != expected)
        {
            throw new ArgumentException($"Expected length {expected} ({shape.ToStringAndClear()}), got {actual}.", paramName);
        }
    }

    public static void Finite(ReadOnlySpan<float> values, string shape, string paramName)
    {
        for (int i = 0; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]))
            {
                throw new ArgumentException($"Element {i} of {shape} is {values[i]}; weights must be finite.", paramName);
            }
        }
    }

    public static void Positive(int value, string paramName)
    {
        if (value < 1)
        {
            throw new ArgumentOutOfRangeException(paramName, value, "Must be at least 1.");
        }
    }

    public static void NonNegative(int value, string paramName)
    {
        if (value < 0)
        {
            throw new ArgumentOutOfRangeException(paramName, value, "Must not be negative.");
        }
    }

    /// <summary>Formats the shape description only when the lengths differ (like Debug.Assert's handler).</summary>
    [InterpolatedStringHandler]
    public ref struct ShapeText
    {
        private DefaultInterpolatedStringHandler _inner;

        public ShapeText(int literalLength, int formattedCount, int actual, int expected, out bool shouldAppend)
        {
            shouldAppend = actual != expected;
            _inner = shouldAppend ? new DefaultInterpolatedStringHandler(literalLength, formattedCount) : default;
        }

        public void AppendLiteral(string value) => _inner.AppendLiteral(value);

        public void AppendFormatted<T>(T value) => _inner.AppendFormatted(value);

        public string ToStringAndClear() => _inner.ToStringAndClear();
    }
}
