using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace Rnn.Fast.Internals;

/// <summary>
/// What the CPU itself reports (CPUID), as opposed to what this process may use (<c>Avx2.IsSupported</c> and friends,
/// which a NativeAOT build for an older instruction set or a <c>DOTNET_Enable*=0</c> knob turn off).
/// </summary>
/// <remarks>
/// OS support for the wide register state (XGETBV) is not checked: .NET has no intrinsic for it, and every OS .NET 10
/// runs on enables AVX and AVX-512 state where the CPU has them.
/// </remarks>
internal static class CpuFeatures
{
    /// <summary>The CPU reports AVX2 and FMA3 (what the <c>Avx2Fma</c> kernel needs).</summary>
    public static bool CpuHasAvx2Fma { get; }

    /// <summary>The CPU reports AVX-512 F, BW, CD, DQ and VL (what .NET 10 requires before it enables any of them).</summary>
    public static bool CpuHasAvx512 { get; }

    /// <summary>The CPU's vendor string from CPUID leaf 0 ("GenuineIntel", "AuthenticAMD", ...); empty if not read.</summary>
    public static string Vendor { get; } = "";

    /// <summary>
    /// The CPU runs 512-bit operations as two 256-bit halves (AMD Zen 4, family 0x19 with AVX-512), so a 512-bit
    /// register padded half-empty costs as much as a full one at twice a 256-bit one's price. Intel's AVX-512 cores
    /// (and Zen 5) have 512-bit datapaths.
    /// </summary>
    public static bool Splits512 { get; }

    /// <summary>The process is x86/x64 and CPUID could be read.</summary>
    public static bool CpuIdRead { get; }

    static CpuFeatures()
    {
        if (RuntimeInformation.ProcessArchitecture is not (Architecture.X64 or Architecture.X86))
        {
            return;
        }
        try
        {
            // X86Base.CpuId is a plain call into the runtime, available even when DOTNET_EnableHWIntrinsic=0 turns the
            // intrinsics (and X86Base.IsSupported) off.
            (int maxLeaf, int ebx0, int ecx0, int edx0) = X86Base.CpuId(0, 0);
            Vendor = string.Create(12, (ebx0, edx0, ecx0), static (chars, regs) =>
            {
                // The vendor string is EBX, EDX, ECX as little-endian ASCII.
                int[] words = [regs.ebx0, regs.edx0, regs.ecx0];
                for (int i = 0; i < 12; i++)
                {
                    chars[i] = (char)((words[i / 4] >> (8 * (i % 4))) & 0xFF);
                }
            });
            (int eax1, _, int ecx1, _) = X86Base.CpuId(1, 0);
            // The display family: the base family, plus the extended family when the base is 0xF (every AMD since K8).
            int family = (eax1 >> 8) & 0xF;
            family += family == 0xF ? (eax1 >> 20) & 0xFF : 0;
            int ebx7 = maxLeaf >= 7 ? X86Base.CpuId(7, 0).Ebx : 0;
            bool fma = Bit(ecx1, 12), avx = Bit(ecx1, 28), osxsave = Bit(ecx1, 27);
            CpuHasAvx2Fma = avx && osxsave && fma && Bit(ebx7, 5);
            CpuHasAvx512 = CpuHasAvx2Fma && Bit(ebx7, 16) && Bit(ebx7, 17) && Bit(ebx7, 28) && Bit(ebx7, 30) && Bit(ebx7, 31);
            Splits512 = CpuHasAvx512 && Vendor == "AuthenticAMD" && family == 0x19;
            CpuIdRead = true;
        }
        catch (PlatformNotSupportedException)
        {
            // Nothing known beyond what the runtime enables.
        }
    }

    /// <summary>Why this process enables less than the CPU has, as far as can be told; null if it does not.</summary>
    public static string? Reason(IReadOnlyList<string> lost)
    {
        if (lost.Count == 0)
        {
            return null;
        }
        var causes = new List<string>();
        foreach (string knob in (string[])["EnableHWIntrinsic", "EnableAVX2", "EnableAVX512", "EnableAVX", "PreferredVectorBitWidth", "MaxVectorTBitWidth"])
        {
            if (Environment.GetEnvironmentVariable("DOTNET_" + knob) is { } value)
            {
                causes.Add($"DOTNET_{knob}={value}");
            }
        }
        if (!RuntimeFeature.IsDynamicCodeSupported)
        {
            causes.Add(lost.Contains("Avx2Fma")
                ? "a NativeAOT build for the baseline instruction set (publish with <IlcInstructionSet>x86-64-v3</IlcInstructionSet> for Avx2Fma, x86-64-v4 or native for Avx512)"
                : "a NativeAOT build without AVX-512 (publish with <IlcInstructionSet>x86-64-v4</IlcInstructionSet> or native)");
        }
        if (causes.Count == 0 && lost.Count == 1 && lost[0] == "Avx512" && Avx512F.IsSupported)
        {
            causes.Add("the runtime prefers 256-bit vectors on this CPU (Vector512.IsHardwareAccelerated is false; DOTNET_PreferredVectorBitWidth=512 overrides)");
        }
        return causes.Count == 0 ? "the runtime does not enable them" : string.Join("; ", causes);
    }

    private static bool Bit(int register, int bit) => (register & (1 << bit)) != 0;
}
