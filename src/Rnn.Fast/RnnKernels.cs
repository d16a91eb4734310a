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

    /// <summary>
    /// Kernels the CPU supports (by CPUID) that this process cannot run, fastest first; empty when the process uses
    /// everything the CPU offers (and on non-x86 hardware).
    /// </summary>
    /// <remarks>
    /// <para>The usual cause is NativeAOT: an AOT executable can use only the instruction sets it was compiled for, and the
    /// default keeps <c>Vector128</c> and <c>Scalar</c> only. Set <c>IlcInstructionSet</c> when publishing:</para>
    /// <list type="bullet">
    /// <item><c>x86-64-v3</c> (AVX2, FMA; Haswell, Zen 1 and later): keeps <c>Avx2Fma</c>.</item>
    /// <item><c>x86-64-v4</c> (AVX-512 F/BW/CD/DQ/VL; Skylake-X, Ice Lake, Zen 4 and later), or <c>native</c> (the build
    /// machine's CPU): keeps <c>Avx512</c> as well.</item>
    /// </list>
    /// <para>The executable then refuses to start on a CPU without those instruction sets. Other causes: the knobs
    /// <c>DOTNET_EnableAVX512=0</c>, <c>DOTNET_EnableAVX2=0</c> (also removes FMA and AVX-512),
    /// <c>DOTNET_EnableHWIntrinsic=0</c>, or a runtime that prefers 256-bit vectors on a CPU that slows down with 512-bit ones.</para>
    /// </remarks>
    public static IReadOnlyList<string> DisabledOnThisProcess { get; } = FindDisabled();

    /// <summary>True when the CPU supports a faster kernel than this process can run (see <see cref="DisabledOnThisProcess"/>).</summary>
    public static bool RunsBelowHardware => DisabledOnThisProcess.Count > 0;

    /// <summary>
    /// One line for logs and tools, null when <see cref="RunsBelowHardware"/> is false: which kernels the CPU supports but
    /// this process cannot run, and the likely cause (a NativeAOT instruction set, a <c>DOTNET_Enable*</c> knob).
    /// </summary>
    public static string? BelowHardwareNote { get; } = DisabledOnThisProcess.Count == 0 ? null
        : $"The CPU supports {Join(DisabledOnThisProcess)} but this process cannot run {(DisabledOnThisProcess.Count == 1 ? "it" : "them")}: " +
          CpuFeatures.Reason(DisabledOnThisProcess) + ".";

    private static string Join(IReadOnlyList<string> names) =>
        names.Count == 1 ? names[0] : $"{string.Join(", ", names.Take(names.Count - 1))} and {names[^1]}";

    // By kernel name (the names RNNFAST_KERNEL takes), compared with what the registry found runnable.
    private static string[] FindDisabled()
    {
        IReadOnlyList<string> available = Available;
        var disabled = new List<string>();
        if (CpuFeatures.CpuHasAvx512 && !available.Contains("Avx512"))
        {
            disabled.Add("Avx512");
        }
        if (CpuFeatures.CpuHasAvx2Fma && !available.Contains("Avx2Fma"))
        {
            disabled.Add("Avx2Fma");
        }
        if (CpuFeatures.CpuIdRead && !available.Contains("Vector128"))
        {
            disabled.Add("Vector128");   // every x64 CPU has SSE2
        }
        return [.. disabled];
    }
}
