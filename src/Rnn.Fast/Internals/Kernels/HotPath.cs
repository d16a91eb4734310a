using System.Runtime.CompilerServices;

namespace Rnn.Fast.Internals;

/// <summary>
/// Warm from the first sample: compiles the streaming step's whole call chain (<c>RnnModel.Step</c>,
/// <c>Network.Step</c> and the kernel's latency family) when a model is created on a kernel, so the first
/// <c>Step</c> on an audio thread neither waits for the JIT nor runs tier-0 code. The methods carry
/// <c>AggressiveOptimization</c>, so what is compiled here is their final code (no later tier-up either).
/// </summary>
internal static class HotPath
{
    private static bool s_preparedEngine;

    public static void Prepare(RnnKernel kernel)
    {
        kernel.Latency?.Prepare();
        if (!s_preparedEngine)
        {
            RuntimeHelpers.PrepareMethod(typeof(Network).GetMethod(nameof(Network.Step))!.MethodHandle);
            RuntimeHelpers.PrepareMethod(typeof(RnnModel).GetMethod(nameof(RnnModel.Step))!.MethodHandle);
            RuntimeHelpers.PrepareMethod(typeof(TinyInputs).GetMethod(nameof(TinyInputs.AnyTiny))!.MethodHandle);
            RuntimeHelpers.PrepareMethod(typeof(TinyInputs).GetMethod(nameof(TinyInputs.Copy))!.MethodHandle);
            s_preparedEngine = true;
        }
    }
}
