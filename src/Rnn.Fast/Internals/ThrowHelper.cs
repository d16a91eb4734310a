using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Runtime.CompilerServices;

namespace Rnn.Fast.Internals;

/// <summary>
/// Out-of-line throws for the hot entry points: the messages are built here, so <c>Step</c> and <c>Run</c> compare
/// integers and nothing else (no interpolated-string handler in their frames, no stack to zero per call).
/// </summary>
internal static class ThrowHelper
{
    /// <summary>A span of the wrong length; the shape text names the dimensions ("[batch 2, input size 3]").</summary>
    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void WrongLength(string paramName, long expected, int actual, string shape) =>
        throw new ArgumentException(
            string.Create(CultureInfo.InvariantCulture, $"Expected length {expected} ({paramName} {shape}), got {actual}."), paramName);

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void WrongLength(string paramName, long expected, int actual, string dimension0, long size0, string dimension1, long size1) =>
        WrongLength(paramName, expected, actual, string.Create(CultureInfo.InvariantCulture, $"[{dimension0} {size0}, {dimension1} {size1}]"));

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void WrongLength(string paramName, long expected, int actual, string dimension0, long size0, string dimension1, long size1,
        string dimension2, long size2) =>
        WrongLength(paramName, expected, actual,
            string.Create(CultureInfo.InvariantCulture, $"[{dimension0} {size0}, {dimension1} {size1}, {dimension2} {size2}]"));

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ForeignState(string paramName) =>
        throw new ArgumentException("This state was created by a different model; create one with this model's CreateState.", paramName);

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void StateInUse() =>
        throw new InvalidOperationException(
            "This RnnState is being stepped by another call at the same time (two threads sharing one state). Give each thread its own state.");

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void StepOnBidirectional() =>
        throw new InvalidOperationException("A bidirectional model needs the whole sequence: use Run.");

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Negative(string paramName, int value) =>
        throw new ArgumentOutOfRangeException(paramName, value, "Must not be negative.");
}
