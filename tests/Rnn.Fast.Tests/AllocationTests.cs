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

    private static RnnModel Build(string kernel, CellType cell) => cell switch
    {
        CellType.Lstm => RnnModel.CreateLstm(13, 37, layers: 2, outputSize: 5, headActivation: Activation.Softmax, seed: 1, kernel: kernel),
        CellType.Gru => RnnModel.CreateGru(13, 37, layers: 2, outputSize: 5, headActivation: Activation.Sigmoid, seed: 1, kernel: kernel),
        _ => RnnModel.CreateElman(13, 37, Activation.Relu, layers: 2, outputSize: 5, headActivation: Activation.Tanh, seed: 1, kernel: kernel),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Build_EachCell_BuildsThatCell(string kernel, CellType cell, int batch)
    {
        _ = batch;
        Assert.All(Build(kernel, cell).Layers, l => Assert.Equal(cell, l.Cell));
    }

    // A real-time thread must not allocate on its first call either: the state is made on one thread, and the
    // first Step and Run (batch-first too, and with inputs that need flushing) happen on a new one, with nothing warmed there.
    [Theory]
    [MemberData(nameof(Cases))]
    public void StepAndRun_FirstCallsOnAFreshThread_AllocateNothing(string kernel, CellType cell, int batch)
    {
        RnnModel model = Build(kernel, cell);
        // Warm the JIT (code, not data) on this thread with another state, so the fresh thread measures the
        // library's allocations, not the runtime's one-off method preparation.
        RnnState warm = model.CreateState(batch);
        const int steps = 100;
        var x = new float[steps * batch * model.InputSize];
        var y = new float[steps * batch * model.OutputSize];
        model.Step(x.AsSpan(0, batch * model.InputSize), warm, y.AsSpan(0, batch * model.OutputSize));
        model.Run(x, steps, warm, y);
        model.Run(x, steps, warm, y, SequenceLayout.BatchFirst);
        // Inputs below 2^-63 take the other branch of the input scan: a flushed copy into the state's scratch.
        float[] tiny = [.. x.Select((_, i) => i % 3 == 0 ? 1e-40f : 0.5f)];
        model.Step(tiny.AsSpan(0, batch * model.InputSize), warm, y.AsSpan(0, batch * model.OutputSize));
        model.Run(tiny, steps, warm, y);

        RnnState state = model.CreateState(batch);
        long allocated = -1;
        var thread = new Thread(() =>
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            model.Step(x.AsSpan(0, batch * model.InputSize), state, y.AsSpan(0, batch * model.OutputSize));
            model.Run(x, steps, state, y);
            model.Run(x, steps, state, y, SequenceLayout.BatchFirst);
            model.Step(tiny.AsSpan(0, batch * model.InputSize), state, y.AsSpan(0, batch * model.OutputSize));
            model.Run(tiny, steps, state, y);
            model.Run(tiny, steps, state, y, SequenceLayout.BatchFirst);
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        });
        thread.Start();
        thread.Join();
        Assert.Equal(0, allocated);
    }

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
        // 300 steps: more than one chunk (at most 256 rows), so the chunk loop is exercised too.
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

    // The latency family (Step of one stream or of up to eight): the audio shape, mono, stereo and eight channels,
    // first call on a fresh thread that never saw this model, with no warm-up on any thread for this state.
    [Theory]
    [MemberData(nameof(AudioCases))]
    public void Step_AudioShapeFirstCallOnAFreshThread_AllocatesNothing(string kernel, CellType cell, int batch)
    {
        RnnModel model = cell switch
        {
            CellType.Lstm => RnnModel.CreateLstm(1, 16, outputSize: 1, seed: 2, kernel: kernel),
            CellType.Gru => RnnModel.CreateGru(1, 16, outputSize: 1, seed: 2, kernel: kernel),
            _ => RnnModel.CreateElman(1, 16, Activation.Tanh, outputSize: 1, seed: 2, kernel: kernel),
        };
        RnnState state = model.CreateState(batch);
        var x = new float[batch];
        var y = new float[batch];
        long allocated = -1;
        var thread = new Thread(() =>
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int t = 0; t < 10; t++)
            {
                model.Step(x, state, y);
            }
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        });
        thread.Start();
        thread.Join();
        Assert.Equal(0, allocated);
    }

    public static TheoryData<string, CellType, int> AudioCases()
    {
        var data = new TheoryData<string, CellType, int>();
        foreach (string kernel in RnnKernels.Available)
        {
            foreach (CellType cell in Enum.GetValues<CellType>())
            {
                foreach (int batch in (int[])[1, 2, 8])
                {
                    data.Add(kernel, cell, batch);
                }
            }
        }
        return data;
    }
}
