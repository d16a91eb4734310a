using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using Rnn.Fast.Internals;

namespace Rnn.Fast.Tests.Internals.Kernels;

/// <summary>
/// The data source of the reduced-product op tests: every width of <see cref="PairWidenedProducts{TOps, TPairs, TF, TI}"/>
/// whether or not this machine accelerates it (the runtime emulates a width it does not, so the 16-lane layout is
/// checked on an AVX2-only machine and under every <c>DOTNET_Enable…=0</c> knob, as <see cref="OpKernels"/> does for
/// the float32 roles), the scalar definition at two block widths, and the registry's kernels as models get them.
/// </summary>
public static class ReducedKernels
{
    private static readonly ReducedKernelUnderTest[] s_kernels = Create();

    public static TheoryData<string> All
    {
        get
        {
            var data = new TheoryData<string>();
            foreach (ReducedKernelUnderTest kernel in s_kernels)
            {
                data.Add(kernel.Name);
            }
            return data;
        }
    }

    /// <summary>The names of <see cref="All"/>, in order.</summary>
    public static IReadOnlyList<string> Names => [.. s_kernels.Select(k => k.Name)];

    internal static ReducedKernelUnderTest Get(string name) => s_kernels.Single(k => k.Name == name);

    // bf16 equals the scalar definition bit for bit only where both fuse each multiply-add: the scalar uses
    // MathF.FusedMultiplyAdd, the vector kernels MultiplyAddEstimate (fused where the ISA has FMA).
    private static bool HardwareFma => Fma.IsSupported || AdvSimd.IsSupported;

    private static ReducedKernelUnderTest[] Create() =>
    [
        new("Vector512", new Products<Vector512Ops, Pair512Ops, Vector512<float>, Vector512<int>>(), Vector512.IsHardwareAccelerated && HardwareFma),
        new("Vector256", new Products<Vector256Ops, Pair256Ops, Vector256<float>, Vector256<int>>(), Vector256.IsHardwareAccelerated && HardwareFma),
        new("Vector128", new Products<Vector128Ops, Pair128Ops, Vector128<float>, Vector128<int>>(), Vector128.IsHardwareAccelerated && HardwareFma),
        new("Scalar.Lanes1", new ReducedProductsScalar(1), FusedLikeScalar: true),
        new("Scalar.Lanes8", new ReducedProductsScalar(8), FusedLikeScalar: true),
        .. KernelRegistry.Available.Select(k => new ReducedKernelUnderTest("Registry." + k.Name, k.Reduced,
            k.Reduced is ReducedProductsScalar || HardwareFma)),
    ];

    // The generic role class is abstract (the library seals one subclass per ISA); this instantiates it for any width.
    private sealed class Products<TOps, TPairs, TF, TI> : PairWidenedProducts<TOps, TPairs, TF, TI>
        where TOps : struct, ISimdOps<TF>
        where TPairs : struct, IPairOps<TF, TI>
        where TF : struct
        where TI : struct;
}

/// <summary>One reduced-product kernel; <see cref="FusedLikeScalar"/>: its bf16 results must equal the scalar definition's.</summary>
internal sealed record ReducedKernelUnderTest(string Name, ReducedProductKernel Kernel, bool FusedLikeScalar)
{
    public int Lanes => Kernel.Lanes;

    public override string ToString() => Name;
}
