using Rnn.Fast.Internals;

namespace Rnn.Fast.Tests;

/// <summary>
/// The lane width chosen per layer size when the caller names no kernel: a narrower vector layout where it packs
/// every layer into as many blocks as the default (H ≤ 8 on an AVX-512 machine), or, where 512-bit operations are split in
/// two (Zen 4), pads an LSTM less; a named kernel or
/// <c>RNNFAST_KERNEL</c> is always obeyed exactly.
/// </summary>
[Trait("Category", "Kernel")]
public sealed class KernelWidthPolicyTests
{
    private static bool Forced => !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(KernelRegistry.EnvironmentVariable));

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(8)]
    public void Create_SmallLayersAndNoKernel_PicksTheNarrowestVectorLayoutWithTheSameBlocks(int hidden)
    {
        RnnModel model = RnnModel.CreateLstm(1, hidden, outputSize: 1, seed: 1);
        bool narrower = !Forced && KernelRegistry.Default.Lanes > 8 && KernelRegistry.Available.Any(k => k.Lanes == 8);
        Assert.Equal(narrower ? KernelRegistry.Available.First(k => k.Lanes == 8).Name : RnnKernels.Default, model.Kernel);
    }

    [Theory]
    [InlineData(24)]
    [InlineData(40)]
    public void Create_LstmThatPadsLessInNarrowerBlocks_PicksThemWhere512BitSplits(int hidden)
    {
        // Only where a 512-bit operation costs two 256-bit ones (Zen 4); a 512-bit datapath keeps the 16-lane blocks.
        RnnModel model = RnnModel.CreateLstm(1, hidden, outputSize: 1, seed: 1);
        bool narrower = !Forced && CpuFeatures.Splits512 && KernelRegistry.Default.Lanes > 8 && KernelRegistry.Available.Any(k => k.Lanes == 8);
        Assert.Equal(narrower ? KernelRegistry.Available.First(k => k.Lanes == 8).Name : RnnKernels.Default, model.Kernel);
    }

    [Theory]
    [InlineData(16)]
    [InlineData(32)]
    public void Create_LstmWhoseBlocksAreFull_KeepsTheDefault(int hidden) =>
        Assert.Equal(RnnKernels.Default, RnnModel.CreateLstm(1, hidden, outputSize: 1, seed: 1).Kernel);

    [Theory]
    [InlineData(9)]
    [InlineData(16)]
    [InlineData(24)]
    [InlineData(40)]
    public void Create_LayersThatWouldNeedMoreBlocks_KeepTheDefault(int hidden) =>
        Assert.Equal(RnnKernels.Default, RnnModel.CreateGru(1, hidden, outputSize: 1, seed: 1).Kernel);

    [Fact]
    public void Splits512_OnlyOnZen4()
    {
        // Read independently of CpuFeatures: /proc/cpuinfo's vendor and family (Linux; elsewhere nothing to compare).
        if (!File.Exists("/proc/cpuinfo") || !CpuFeatures.CpuIdRead)
        {
            return;
        }
        string[] lines = File.ReadAllLines("/proc/cpuinfo");
        string vendor = lines.First(l => l.StartsWith("vendor_id", StringComparison.Ordinal)).Split(':')[1].Trim();
        int family = int.Parse(lines.First(l => l.StartsWith("cpu family", StringComparison.Ordinal)).Split(':')[1].Trim(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(vendor, CpuFeatures.Vendor);
        Assert.Equal(vendor == "AuthenticAMD" && family == 25 && CpuFeatures.CpuHasAvx512, CpuFeatures.Splits512);
    }

    [Fact]
    public void Create_OneWideLayerInTheStack_KeepsTheDefault() =>
        Assert.Equal(RnnKernels.Default, RnnModel.Create(
            [LayerWeights.Random(CellType.Lstm, 1, 8, new Random(1)), LayerWeights.Random(CellType.Lstm, 8, 32, new Random(2))]).Kernel);

    [Theory]
    [MemberData(nameof(KernelData.Available), MemberType = typeof(KernelData))]
    public void Create_NamedKernel_IsObeyedAtEverySize(string kernel)
    {
        foreach (int hidden in (int[])[1, 8, 24])
        {
            Assert.Equal(kernel, RnnModel.CreateLstm(1, hidden, outputSize: 1, seed: 1, kernel: kernel).Kernel);
        }
    }
}
