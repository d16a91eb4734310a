using System.CommandLine;
using System.Globalization;

namespace Rnn.Fast.Cli;

/// <summary>
/// The hidden sizes the timing commands accept. An LSTM with I = H holds 4H·2H weights (32·H² bytes), so
/// a mistyped <c>--hidden 100000</c> would ask for 320 GB and time for hours: refuse it before allocating.
/// Shared, with the <c>--hidden</c> option, by <c>rnnfast bench</c> and bench/Rnn.Fast.Compare (compiled into both).
/// </summary>
internal static class BenchSizes
{
    /// <summary>The largest H <c>rnnfast bench</c> times: 128 MB of LSTM weights, seconds per kernel.</summary>
    public const int MaxHidden = 2048;

    /// <summary>The sizes timed when <c>--hidden</c> is not given.</summary>
    public static IReadOnlyList<int> DefaultHidden { get; } = [16, 64, 256];

    /// <summary>The <c>--hidden H...</c> option of both tools (checked by <see cref="Problem"/> when run).</summary>
    public static Option<int[]> HiddenOption(int maximum) => new("--hidden")
    {
        Description = string.Create(CultureInfo.InvariantCulture, $"Hidden sizes H (I = H), 1..{maximum}."),
        DefaultValueFactory = _ => [.. DefaultHidden],
        AllowMultipleArgumentsPerToken = true,
        HelpName = "H",
    };

    /// <summary>
    /// Null when every size is in 1..<paramref name="maximum"/>, else a message naming the option, the size
    /// and the limit (the caller prints it and exits with code 2).
    /// </summary>
    public static string? Problem(IReadOnlyList<int> hiddenSizes, int maximum)
    {
        ArgumentNullException.ThrowIfNull(hiddenSizes);
        if (hiddenSizes.Count == 0)
        {
            return "--hidden needs one or more sizes.";
        }
        foreach (int hidden in hiddenSizes)
        {
            if (hidden < 1)
            {
                return string.Create(CultureInfo.InvariantCulture, $"--hidden {hidden}: sizes must be at least 1.");
            }
            if (hidden > maximum)
            {
                double gigabytes = 32.0 * hidden * hidden / 1e9;
                return string.Create(CultureInfo.InvariantCulture,
                    $"--hidden {hidden} is too large: at most {maximum} (an LSTM with I = H = {hidden} has {gigabytes:0.##} GB of weights).");
            }
        }
        return null;
    }
}
