using System.Runtime.Intrinsics.X86;
using Rnn.Fast.Internals;
using Xunit.Abstractions;

namespace Rnn.Fast.Tests.Internals;

/// <summary>
/// <c>RnnKernels.RunsBelowHardware</c>: CPUID against what the process enables. CI re-runs these (Category Kernel) with
/// each <c>DOTNET_Enable*=0</c> knob, so the knob cases are checked on every machine that has the instruction sets.
/// </summary>
[Trait("Category", "Kernel")]
public sealed class CpuFeaturesTests(ITestOutputHelper output)
{
    [Fact]
    public void CpuFeatures_WhatTheRuntimeEnables_TheCpuHas()
    {
        output.WriteLine($"CPUID read {CpuFeatures.CpuIdRead}: AVX2+FMA {CpuFeatures.CpuHasAvx2Fma}, AVX-512 {CpuFeatures.CpuHasAvx512}; " +
            $"available {string.Join(", ", RnnKernels.Available)}; disabled [{string.Join(", ", RnnKernels.DisabledOnThisProcess)}]; note: {RnnKernels.BelowHardwareNote}");
        if (Avx2.IsSupported && Fma.IsSupported)
        {
            Assert.True(CpuFeatures.CpuHasAvx2Fma);
        }
        if (Avx512F.IsSupported && Avx512BW.IsSupported)
        {
            Assert.True(CpuFeatures.CpuHasAvx512);
        }
    }

    [Fact]
    public void DisabledOnThisProcess_NeverAvailable_AndExplained()
    {
        Assert.All(RnnKernels.DisabledOnThisProcess, name => Assert.DoesNotContain(name, RnnKernels.Available));
        Assert.Equal(RnnKernels.DisabledOnThisProcess.Count > 0, RnnKernels.RunsBelowHardware);
        Assert.Equal(RnnKernels.RunsBelowHardware, RnnKernels.BelowHardwareNote is not null);
        Assert.All(RnnKernels.DisabledOnThisProcess, name => Assert.Contains(name, RnnKernels.BelowHardwareNote!, StringComparison.Ordinal));
    }

    [Fact]
    public void DisabledOnThisProcess_KnobsTurnedOff_NamedWithTheKnob()
    {
        bool avx512Off = Environment.GetEnvironmentVariable("DOTNET_EnableAVX512") == "0";
        bool avx2Off = Environment.GetEnvironmentVariable("DOTNET_EnableAVX2") == "0";
        bool allOff = Environment.GetEnvironmentVariable("DOTNET_EnableHWIntrinsic") == "0";
        if (CpuFeatures.CpuHasAvx512 && (avx512Off || avx2Off || allOff))
        {
            Assert.Contains("Avx512", RnnKernels.DisabledOnThisProcess);
        }
        if (CpuFeatures.CpuHasAvx2Fma && (avx2Off || allOff))
        {
            Assert.Contains("Avx2Fma", RnnKernels.DisabledOnThisProcess);
        }
        if (allOff && CpuFeatures.CpuIdRead)
        {
            Assert.Contains("Vector128", RnnKernels.DisabledOnThisProcess);
        }
        if (avx512Off || avx2Off || allOff)
        {
            Assert.True(!RnnKernels.RunsBelowHardware || RnnKernels.BelowHardwareNote!.Contains("DOTNET_Enable", StringComparison.Ordinal), RnnKernels.BelowHardwareNote);
        }
        else if (Environment.GetEnvironmentVariable("DOTNET_PreferredVectorBitWidth") is null)
        {
            // A plain JIT process uses everything, except where the runtime itself prefers 256-bit vectors.
            Assert.True(RnnKernels.DisabledOnThisProcess.Count == 0 || RnnKernels.DisabledOnThisProcess is ["Avx512"], RnnKernels.BelowHardwareNote);
        }
    }
}
