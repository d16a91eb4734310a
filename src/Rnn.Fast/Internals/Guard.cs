namespace Rnn.Fast.Internals;

/// <summary>Argument checks with messages that name the argument and the expected shape.</summary>
internal static class Guard
{
    public static void Length(int actual, int expected, string shape, string paramName)
    {
        if (actual != expected)
        {
            throw new ArgumentException($"Expected length {expected} ({shape}), got {actual}.", paramName);
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
}
