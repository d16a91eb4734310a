using Rnn.Fast.Baselines;

namespace Rnn.Fast.Benchmarks;

/// <summary>
/// The implementations every benchmark class compares, as one <c>[ParamsSource]</c> so the baselines run
/// once per size rather than once per kernel: the naive scalar loops, the TensorPrimitives cell, ONNX
/// Runtime (per-call IoBinding, see <see cref="OnnxRnnRunner"/>), then Rnn.Fast on each kernel this machine
/// can run (<c>RnnFast-Avx2Fma</c>, ...). Ratios between rows are worked out in perf-results/README.md.
/// </summary>
internal static class Implementations
{
    public const string Naive = "Naive";
    public const string TensorPrimitives = "TensorPrimitives";
    public const string OnnxRuntime = "OnnxRuntime";
    public const string RnnFastPrefix = "RnnFast-";

    public static IEnumerable<string> All => [Naive, TensorPrimitives, OnnxRuntime, .. RnnFast];

    /// <summary>Everything but the naive loops (for sequences with batches, where it would take minutes per call).</summary>
    public static IEnumerable<string> AllButNaive => [TensorPrimitives, OnnxRuntime, .. RnnFast];

    public static IEnumerable<string> RnnFast => RnnKernels.Available.Select(k => RnnFastPrefix + k);

    /// <summary>The Rnn.Fast kernel named by an implementation, or null for a baseline.</summary>
    public static string? KernelOf(string implementation) =>
        implementation.StartsWith(RnnFastPrefix, StringComparison.Ordinal) ? implementation[RnnFastPrefix.Length..] : null;
}
