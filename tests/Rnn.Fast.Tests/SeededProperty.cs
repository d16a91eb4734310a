using System.Globalization;
using FsCheck;
using FsCheck.Fluent;
using Microsoft.FSharp.Core;

namespace Rnn.Fast.Tests;

/// <summary>
/// Runs every FsCheck property of this project from fixed seeds, so CI and a fresh clone see the same
/// cases on every run, and prints the replay seed of a failure.
/// </summary>
/// <remarks>
/// <para>FsCheck draws a new random seed per run by default, so a property could fail on one run and pass on
/// the next. Here every property runs its cases from each seed in <see cref="FixedSeeds"/> (the cases
/// are split between them), plus any regression seeds the property names: seeds of failures found
/// earlier, replayed in full.</para>
/// <para>Two environment variables change that, for local runs only (CI sets neither):</para>
/// <list type="bullet">
/// <item><c>RNNFAST_RANDOM_SEEDS=1</c>: a fresh random seed per property, to search for new failures.</item>
/// <item><c>RNNFAST_REPLAY=seed,gamma</c>: only that seed (as printed by a failure), to reproduce it.</item>
/// </list>
/// </remarks>
public static class SeededProperty
{
    /// <summary>Set to 1 to draw random seeds instead of the fixed ones.</summary>
    public const string RandomSeedsVariable = "RNNFAST_RANDOM_SEEDS";

    /// <summary>Set to <c>seed,gamma</c> to replay one seed.</summary>
    public const string ReplayVariable = "RNNFAST_REPLAY";

    // FsCheck's own "golden" gamma (any odd number works); the seeds are arbitrary but fixed forever.
    private const ulong Gamma = 0x9E3779B97F4A7C15UL;

    /// <summary>The seeds every property runs from in CI.</summary>
    public static IReadOnlyList<Rnd> FixedSeeds { get; } = [new(0x5EED_0001UL, Gamma), new(0x5EED_0002UL, Gamma)];

    /// <summary>
    /// Checks <paramref name="property"/> on <paramref name="maxTest"/> cases in all, split over the fixed seeds,
    /// then on <paramref name="maxTest"/> cases from each regression seed; throws with the replay seed on a failure.
    /// </summary>
    public static void CheckSeeded(this Property property, int maxTest = 100, params (ulong Seed, ulong Gamma)[] regressions)
    {
        ArgumentNullException.ThrowIfNull(property);
        ArgumentNullException.ThrowIfNull(regressions);
        foreach ((Rnd seed, int tests, string origin) in Runs(maxTest, regressions))
        {
            Config config = Config.QuickThrowOnFailure
                .WithMaxTest(tests)
                .WithReplay(FSharpOption<Replay>.Some(new Replay(seed, FSharpOption<int>.None)));
            try
            {
                property.Check(config);
            }
            catch (Exception e)
            {
                // FsCheck's message has the case; this adds where it came from and how to replay it.
                string replay = string.Create(CultureInfo.InvariantCulture, $"{seed.Seed},{seed.Gamma}");
                throw new Xunit.Sdk.XunitException(
                    $"Property failed from {origin} seed ({replay}), {tests} cases. Reproduce: {ReplayVariable}={replay} dotnet test --filter <this test>.{Environment.NewLine}{e.Message}");
            }
        }
    }

    private static IEnumerable<(Rnd Seed, int Tests, string Origin)> Runs(int maxTest, (ulong Seed, ulong Gamma)[] regressions)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxTest, 1);
        string? replay = Environment.GetEnvironmentVariable(ReplayVariable);
        if (!string.IsNullOrWhiteSpace(replay))
        {
            yield return (ParseReplay(replay), maxTest, "the replayed");
            yield break;
        }
        if (Environment.GetEnvironmentVariable(RandomSeedsVariable) == "1")
        {
            yield return (new Rnd((ulong)Random.Shared.NextInt64(), Gamma), maxTest, "a random");
            yield break;
        }
        int perSeed = Math.Max(1, maxTest / FixedSeeds.Count);
        foreach (Rnd seed in FixedSeeds)
        {
            yield return (seed, perSeed, "the fixed");
        }
        foreach ((ulong seed, ulong gamma) in regressions)
        {
            yield return (new Rnd(seed, gamma), maxTest, "the regression");
        }
    }

    /// <summary>Reads <c>seed,gamma</c>, with or without FsCheck's parentheses.</summary>
    private static Rnd ParseReplay(string text)
    {
        string[] parts = text.Trim().Trim('(', ')').Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length != 2
            || !ulong.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out ulong seed)
            || !ulong.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out ulong gamma))
        {
            throw new ArgumentException($"{ReplayVariable} must be 'seed,gamma' (two unsigned integers), not '{text}'.");
        }
        return new Rnd(seed, gamma);
    }
}
