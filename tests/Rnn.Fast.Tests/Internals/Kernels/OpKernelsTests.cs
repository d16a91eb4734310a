using Rnn.Fast.Internals;
using Xunit.Abstractions;

namespace Rnn.Fast.Tests.Internals.Kernels;

/// <summary>The op tests' data source covers every width on every machine, plus what the registry hands out.</summary>
[Trait("Category", "Kernel")]
public sealed class OpKernelsTests(ITestOutputHelper output)
{
    [Fact]
    public void All_EveryWidthAndEveryRegistryKernel_Listed()
    {
        var names = OpKernels.Kernels.Select(k => k.Name).ToList();
        foreach (string name in names)
        {
            output.WriteLine($"{OpKernels.Get(name)}: {OpKernels.Get(name).Lanes} lanes");
        }
        Assert.Equal([16, 8, 4, 1], names.Take(4).Select(n => OpKernels.Get(n).Lanes));
        Assert.Equal(KernelRegistry.Available.Select(k => "Registry." + k.Name), names.Skip(4).Where(n => !n.EndsWith(".StreamCells", StringComparison.Ordinal)));
        foreach (RnnKernel kernel in KernelRegistry.Available)
        {
            Assert.Equal(kernel.Lanes, OpKernels.Get("Registry." + kernel.Name).Lanes);
        }
    }
}
