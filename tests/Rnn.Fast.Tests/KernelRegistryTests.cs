using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Rnn.Fast.Internals;
using Xunit.Abstractions;

namespace Rnn.Fast.Tests;

/// <summary>The registry, and a guard that the ISA knobs CI uses really switch paths off.</summary>
[Trait("Category", "Kernel")]
public sealed class KernelRegistryTests(ITestOutputHelper output)
{
    [Fact]
    public void Available_OrderedFastestFirst_EndsWithScalar()
    {
        IReadOnlyList<string> names = RnnKernels.Available;
        Assert.Equal("Scalar", names[^1]);
        int[] order = [.. names.Select(n => RnnKernels.All.ToList().IndexOf(n))];
        Assert.Equal(order.Order(), order);
        output.WriteLine($"available: {string.Join(", ", names)}; default: {RnnKernels.Default}");
    }

    // DOTNET_EnableAVX512=0 must remove Avx512, DOTNET_EnableAVX2=0 must remove Avx2Fma (and Avx512),
    // DOTNET_EnableHWIntrinsic=0 must leave only Scalar. A knob name that the runtime ignores (such as the
    // pre-.NET 10 EnableAVX512F) would make the CI's re-runs test nothing new; this test fails then.
    [Fact]
    public void IsaKnobs_FromEnvironment_RemoveTheirKernels()
    {
        output.WriteLine($"Vector512 {Vector512.IsHardwareAccelerated}, Avx512F {Avx512F.IsSupported}, Avx2 {Avx2.IsSupported}, " +
            $"Fma {Fma.IsSupported}, Vector256 {Vector256.IsHardwareAccelerated}, Vector128 {Vector128.IsHardwareAccelerated}");
        static bool Off(string knob) => Environment.GetEnvironmentVariable("DOTNET_" + knob) == "0";
        IReadOnlyList<string> names = RnnKernels.Available;
        if (Off("EnableAVX512"))
        {
            Assert.DoesNotContain("Avx512", names);
        }
        if (Off("EnableAVX2"))
        {
            Assert.DoesNotContain("Avx2Fma", names);
            Assert.DoesNotContain("Avx512", names);
        }
        if (Off("EnableHWIntrinsic"))
        {
            Assert.Equal(["Scalar"], names);
        }
    }

    [Fact]
    public void Get_KnownButUnsupported_SaysNotSupported()
    {
        string? missing = RnnKernels.All.FirstOrDefault(n => !RnnKernels.Available.Contains(n));
        if (missing is null)
        {
            return; // every kernel runs on this machine
        }
        var ex = Assert.Throws<ArgumentException>(() => KernelRegistry.Get(missing));
        Assert.Contains("not supported on this machine", ex.Message);
    }

    [Theory]
    [MemberData(nameof(KernelData.Available), MemberType = typeof(KernelData))]
    public void WithKernel_SameWeights_ReportsKernel(string kernel)
    {
        RnnModel model = RnnModel.CreateLstm(2, 3, seed: 1).WithKernel(kernel);
        Assert.Equal(kernel, model.Kernel);
        Assert.Equal(KernelRegistry.Get(kernel).Lanes, model.KernelImplementation.Lanes);
    }

    [Fact]
    public void Choose_EnvironmentValue_ForcesKernelOrFailsClearly()
    {
        Assert.Equal(KernelRegistry.Available[0], KernelRegistry.Choose(null));
        Assert.Equal(KernelRegistry.Available[0], KernelRegistry.Choose("  "));
        Assert.Equal("Scalar", KernelRegistry.Choose("scalar").Name);
        Assert.Equal("Scalar", KernelRegistry.Choose(" Scalar ").Name);
        var ex = Assert.Throws<ArgumentException>(() => KernelRegistry.Choose("Avx9000"));
        Assert.Contains("Unknown kernel 'Avx9000'", ex.Message);
    }

    [Fact]
    public void Default_FollowsEnvironmentVariable()
    {
        string? forced = Environment.GetEnvironmentVariable(KernelRegistry.EnvironmentVariable);
        Assert.Equal(KernelRegistry.Choose(forced).Name, RnnKernels.Default);
    }
}
