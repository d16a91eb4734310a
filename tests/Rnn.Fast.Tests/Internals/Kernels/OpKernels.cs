using System.Runtime.Intrinsics;
using Rnn.Fast.Internals;

namespace Rnn.Fast.Tests.Internals.Kernels;

/// <summary>
/// The data source of the op tests: which implementations of the three kernel roles run, by name.
/// </summary>
/// <remarks>
/// <para><b>Every width, on every machine</b> (<c>Vector512</c>, <c>Vector256</c>, <c>Vector128</c>, <c>Scalar</c>):
/// the generic role classes (<see cref="GateInterleavedCells{TOps, TV}"/>, <see cref="BlockedProducts{TOps, TV}"/>,
/// <see cref="ElementwiseKernel{TOps, TV}"/>) instantiated directly for each ops struct, whether or not this CPU and
/// runtime accelerate that width. .NET runs <c>Vector512&lt;T&gt;</c> (and the others) in software where
/// <c>IsHardwareAccelerated</c> is false, so the 16-lane block layout, tiles and tails are checked on an AVX2-only
/// machine and under every <c>DOTNET_Enable…=0</c> knob too (Sep's <c>createUnaccelerated</c> idea).</para>
/// <para><b>The registry's kernels</b> (<c>Registry.Avx512</c>, …): what <see cref="KernelRegistry.Available"/>
/// hands to models on this machine with the current knobs, so the wiring of names to role classes is checked as
/// well; a kernel whose multi-stream cells (<see cref="RnnKernel.StreamCells"/>) are a family of their own adds
/// <c>Registry.Name.StreamCells</c>.</para>
/// </remarks>
public static class OpKernels
{
    private static readonly KernelUnderTest[] s_kernels = Create();

    /// <summary>Every name in <see cref="Get"/>: the four widths, then the registry's available kernels.</summary>
    public static TheoryData<string> All
    {
        get
        {
            var data = new TheoryData<string>();
            foreach (KernelUnderTest kernel in s_kernels)
            {
                data.Add(kernel.Name);
            }
            return data;
        }
    }

    /// <summary>The same list, in order.</summary>
    internal static IReadOnlyList<KernelUnderTest> Kernels => s_kernels;

    internal static KernelUnderTest Get(string name) => s_kernels.Single(k => k.Name == name);

    private static KernelUnderTest[] Create() =>
    [
        Width<Vector512Ops, Vector512<float>>("Vector512", Vector512.IsHardwareAccelerated),
        Width<Vector256Ops, Vector256<float>>("Vector256", Vector256.IsHardwareAccelerated),
        Width<Vector128Ops, Vector128<float>>("Vector128", Vector128.IsHardwareAccelerated),
        Width<ScalarOps, float>("Scalar", accelerated: true),
        .. KernelRegistry.Available.SelectMany(Registered),
    ];

    // A registry kernel, and its multi-stream cell family too where it has its own (RnnKernel.StreamCells).
    private static IEnumerable<KernelUnderTest> Registered(RnnKernel kernel)
    {
        yield return new KernelUnderTest("Registry." + kernel.Name, kernel.Cells, kernel.Products, kernel.Elementwise, Accelerated: true);
        if (!ReferenceEquals(kernel.StreamCells, kernel.Cells))
        {
            yield return new KernelUnderTest("Registry." + kernel.Name + ".StreamCells", kernel.StreamCells, kernel.Products, kernel.Elementwise, Accelerated: true);
        }
    }

    private static KernelUnderTest Width<TOps, TV>(string name, bool accelerated) where TOps : struct, ISimdOps<TV> where TV : struct =>
        new(name, new Cells<TOps, TV>(), new Products<TOps, TV>(), new Elementwise<TOps, TV>(), accelerated);

    // The generic role classes are abstract (the library seals one subclass per ISA); these test-only subclasses
    // instantiate them for any ops struct without going through the registry's hardware checks.
    private sealed class Cells<TOps, TV> : GateInterleavedCells<TOps, TV> where TOps : struct, ISimdOps<TV> where TV : struct;

    private sealed class Products<TOps, TV> : BlockedProducts<TOps, TV> where TOps : struct, ISimdOps<TV> where TV : struct;

    private sealed class Elementwise<TOps, TV> : ElementwiseKernel<TOps, TV> where TOps : struct, ISimdOps<TV> where TV : struct;
}

/// <summary>One implementation of the three roles; <see cref="Accelerated"/> is false where the runtime emulates the width.</summary>
internal sealed record KernelUnderTest(string Name, CellKernel Cells, ProductKernel Products, ElementwiseKernel Elementwise, bool Accelerated)
{
    public int Lanes => Cells.Lanes;

    public override string ToString() => Accelerated ? Name : Name + " (software)";
}
