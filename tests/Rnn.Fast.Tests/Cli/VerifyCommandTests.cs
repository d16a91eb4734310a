using Rnn.Fast.Reference;

namespace Rnn.Fast.Tests.Cli;

/// <summary>What <c>rnnfast verify</c> checks: its random cases cover every model family, and every family passes.</summary>
public sealed class VerifyCommandTests
{
    [Fact]
    public void RandomCases_CoverGruStacksBidirectionalModelsAndHeads()
    {
        IReadOnlyList<VerificationCase> cases = KernelVerifier.RandomCases(200, seed: 1);
        Assert.Contains(cases, c => c.Layers.All(l => l.Cell == CellType.Gru) && !c.Bidirectional);
        Assert.Contains(cases, c => c.Layers.Count > 1 && !c.Bidirectional);
        Assert.Contains(cases, c => c.Bidirectional && c.Layers.Count > 1);
        Assert.Contains(cases, c => c.Bidirectional && c.HeadSize > 0);
        Assert.Contains(cases, c => c.Layers.Select(l => l.Cell).Distinct().Count() > 1);
        Assert.All(cases, c => Assert.Contains(c.Family, KernelVerifier.FamilyOrder));
    }

    [Theory]
    [InlineData(WeightPrecision.Float32)]
    [InlineData(WeightPrecision.BFloat16)]
    [InlineData(WeightPrecision.Int8)]
    public void SubnormalCheck_EveryKernel_EveryPathStaysOutOfTheSubnormalsAndEndsAtZero(WeightPrecision precision)
    {
        IReadOnlyList<SubnormalCheckResult> results = SubnormalCheck.Run(RnnKernels.Available, precision);
        Assert.Equal(RnnKernels.Available.Count * 24, results.Count);
        Assert.All(results, r => Assert.True(r.Passed, $"{r.Kernel}: {r.Case}: {r.SubnormalValues} subnormal values, ended at 0: {r.EndedAtZero}"));
    }

    [Fact]
    public void Verify_EveryKernel_PassesEveryFamily()
    {
        VerificationReport report = KernelVerifier.Verify(RnnKernels.Available, cases: 15, seed: 2);
        Assert.True(report.Passed, string.Join("; ", report.Kernels.Where(k => !k.Passed).Select(k => k.Worst?.ToString())));
        Assert.Equal(15, report.Families.Sum(f => f.Cases));
        Assert.All(report.Families, f => Assert.Equal(RnnKernels.Available.Count, f.MaxScaledError.Count));
        Assert.Contains(report.Families, f => f.Family.Contains("bidirectional", StringComparison.Ordinal));
        Assert.Contains(report.Families, f => f.Family.StartsWith("GRU", StringComparison.Ordinal));
    }
}
