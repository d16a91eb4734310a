using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Rnn.Fast.Internals;

// One sealed class per ISA so names show up in stack traces, profiles and test output.

/// <summary>512-bit registers, 16 hidden units per block (AVX-512F).</summary>
internal sealed class Avx512Kernel : SimdKernel<Vector512Ops, Vector512<float>>
{
    public override string Name => "Avx512";
    public static bool IsSupported => Vector512.IsHardwareAccelerated && Avx512F.IsSupported;
}

/// <summary>256-bit registers with fused multiply-add, 8 hidden units per block (AVX2 + FMA3).</summary>
internal sealed class Avx2FmaKernel : SimdKernel<Vector256Ops, Vector256<float>>
{
    public override string Name => "Avx2Fma";
    public static bool IsSupported => Vector256.IsHardwareAccelerated && Avx2.IsSupported && Fma.IsSupported;
}

/// <summary>128-bit registers, 4 hidden units per block: SSE on x64, NEON (with FMA) on ARM64.</summary>
internal sealed class Vector128Kernel : SimdKernel<Vector128Ops, Vector128<float>>
{
    public override string Name => "Vector128";
    public static bool IsSupported => Vector128.IsHardwareAccelerated;
}

/// <summary>One float at a time, the same algorithms: runs on any hardware.</summary>
internal sealed class ScalarKernel : SimdKernel<ScalarOps, float>
{
    public override string Name => "Scalar";
}
