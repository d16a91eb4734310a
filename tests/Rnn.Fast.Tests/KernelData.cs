using Rnn.Fast.Internals;

namespace Rnn.Fast.Tests;

/// <summary>Test data: every kernel this machine can run, so one test run checks every ISA path here.</summary>
public static class KernelData
{
    public static TheoryData<string> Available
    {
        get
        {
            var data = new TheoryData<string>();
            foreach (RnnKernel kernel in KernelRegistry.Available)
            {
                data.Add(kernel.Name);
            }
            return data;
        }
    }
}
