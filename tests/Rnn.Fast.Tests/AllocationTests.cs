namespace Rnn.Fast.Tests;

/// <summary>Hot paths allocate nothing once warm, for every kernel: measured, not assumed.</summary>
[Trait("Category", "Kernel")]
public sealed class AllocationTests
{
    public static TheoryData<string, CellType, int> Cases()
    {
        var data = new TheoryData<string, CellType, int>();
        foreach (string kernel in RnnKernels.Available)
        {
            foreach (CellType cell in Enum.GetValues<CellType>())
            {
                data.Add(kernel, cell, 1);
                data.Add(kernel, cell, 3);
            }
        }
        return data;
    }

    private static RnnModel Build(string kernel, CellType cell) =>
        cell == CellType.Lstm
            ? RnnModel.CreateLstm(13, 37, layers: 2, outputSize: 5, headActivation: Activation.Softmax, seed: 1, kernel: kernel)
            : RnnModel.CreateElman(13, 37, Activation.Relu, layers: 2, outputSize: 5, headActivation: Activation.Tanh, seed: 1, kernel: kernel);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Step_Warm_AllocatesNothing(string kernel, CellType cell, int batch)
    {
        RnnModel model = Build(kernel, cell);
        RnnState state = model.CreateState(batch);
        var x = new float[batch * model.InputSize];
        var y = new float[batch * model.OutputSize];
        x.AsSpan().Fill(0.25f);
        for (int i = 0; i < 100; i++)
        {
            model.Step(x, state, y);
        }

        Assert.Equal(0, AllocationMeter.MinBytesPerWindow(() => model.Step(x, state, y), calls: 1000));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Run_Warm_AllocatesNothing(string kernel, CellType cell, int batch)
    {
        RnnModel model = Build(kernel, cell);
        RnnState state = model.CreateState(batch);
        // 300 steps: more than one 256-row chunk, so the chunk loop is exercised too.
        const int steps = 300;
        var x = new float[steps * batch * model.InputSize];
        var y = new float[steps * batch * model.OutputSize];
        x.AsSpan().Fill(-0.5f);
        for (int i = 0; i < 3; i++)
        {
            model.Run(x, steps, state, y);
        }

        Assert.Equal(0, AllocationMeter.MinBytesPerWindow(() => model.Run(x, steps, state, y), calls: 10));
    }

    [Fact]
    public void AllocationMeter_PathThatAllocates_IsCaught()
    {
        // The meter itself must be able to fail: one small array per call shows in every window.
        Assert.True(AllocationMeter.MinBytesPerWindow(() => GC.KeepAlive(new byte[16]), calls: 100) >= 100 * 16);
    }
}
