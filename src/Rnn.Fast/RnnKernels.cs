using Rnn.Fast.Internals;

namespace Rnn.Fast;

/// <summary>Which compute kernels exist and which one models use by default.</summary>
/// <remarks>
/// Kernels are named for their ISA: <c>Avx512</c>, <c>Avx2Fma</c>, <c>Vector128</c> (SSE or NEON) and
/// <c>Scalar</c>. The default is the first available in that order, unless the environment variable
/// <c>RNNFAST_KERNEL</c> names another. Pass a name to <see cref="RnnModel"/> factories to choose per model.
/// </remarks>
public static class RnnKernels
{
    /// <summary>Names of the kernels this machine can run, fastest first; always ends with <c>Scalar</c>.</summary>
    public static IReadOnlyList<string> Available { get; } = [.. KernelRegistry.Available.Select(k => k.Name)];

    /// <summary>Name of the kernel models use when none is given.</summary>
    /// <exception cref="ArgumentException"><c>RNNFAST_KERNEL</c> names an unknown or unsupported kernel.</exception>
    public static string Default => KernelRegistry.Default.Name;

    /// <summary>Every kernel name the library knows, whether or not it can run here.</summary>
    public static IReadOnlyList<string> All => KernelRegistry.AllNames;
}
