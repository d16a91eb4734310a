namespace Rnn.Fast.Tests;

/// <summary>One shared model, many threads, each with its own state: same bits as one thread, every run.</summary>
[Trait("Category", "Kernel")]
public sealed class ConcurrencyTests
{
    private const int Streams = 8;
    private const int Steps = 400;

    private static float[][] RunStreams(RnnModel model, bool parallel)
    {
        var results = new float[Streams][];
        void RunOne(int s)
        {
            var random = new Random(100 + s);
            RnnState state = model.CreateState();
            var x = new float[model.InputSize];
            var y = new float[model.OutputSize];
            var trace = new float[Steps * model.OutputSize];
            for (int t = 0; t < Steps; t++)
            {
                for (int i = 0; i < x.Length; i++)
                {
                    x[i] = (float)(random.NextDouble() * 2 - 1);
                }
                model.Step(x, state, y);
                y.CopyTo(trace, t * y.Length);
            }
            results[s] = trace;
        }
        if (parallel)
        {
            var threads = Enumerable.Range(0, Streams).Select(s => new Thread(() => RunOne(s))).ToArray();
            foreach (var thread in threads)
            {
                thread.Start();
            }
            foreach (var thread in threads)
            {
                thread.Join();
            }
        }
        else
        {
            for (int s = 0; s < Streams; s++)
            {
                RunOne(s);
            }
        }
        return results;
    }

    [Theory]
    [MemberData(nameof(KernelData.Available), MemberType = typeof(KernelData))]
    public void Step_SharedModelManyThreads_BitwiseEqualToOneThread(string kernel)
    {
        RnnModel model = RnnModel.CreateLstm(7, 33, layers: 2, outputSize: 3, seed: 3, kernel: kernel);
        float[][] serial = RunStreams(model, parallel: false);
        float[][] parallel = RunStreams(model, parallel: true);
        for (int s = 0; s < Streams; s++)
        {
            Assert.Equal(serial[s], parallel[s]);
        }
    }

    [Theory]
    [MemberData(nameof(KernelData.Available), MemberType = typeof(KernelData))]
    public void Run_SameInput_DeterministicAcrossRuns(string kernel)
    {
        RnnModel model = RnnModel.CreateElman(9, 21, Activation.Tanh, outputSize: 4, headActivation: Activation.Softmax, seed: 5, kernel: kernel);
        var x = NetworkCase.Uniform(new Random(2), 50 * 3 * 9, 1f);
        float[] first = new float[50 * 3 * 4], second = new float[50 * 3 * 4];
        model.Run(x, 50, model.CreateState(3), first);
        model.Run(x, 50, model.CreateState(3), second);
        Assert.Equal(first, second);
    }

    [Fact]
    public void Step_WhileAnotherThreadRunsTheSameState_IsRefusedAndChangesNothing()
    {
        // Thread A runs a long sequence on the state; thread B keeps stepping the same state meanwhile. Every call of
        // B that overlaps A's Run must be refused (B gets CPU time during A's half-second call even on a busy machine),
        // and a refused call must not touch the state: A's result equals a run on a private state.
        RnnModel model = RnnModel.CreateLstm(4, 64, seed: 1);
        const int steps = 300_000;
        float[] x = NetworkCase.Uniform(new Random(2), steps * 4, 1f);
        var expected = new float[steps * 64];
        model.Run(x, steps, model.CreateState(), expected);

        RnnState shared = model.CreateState();
        var actual = new float[steps * 64];
        int refused = 0, succeeded = 0;
        bool done = false;
        var runner = new Thread(() =>
        {
            model.Run(x, steps, shared, actual);
            Volatile.Write(ref done, true);
        });
        var stepper = new Thread(() =>
        {
            var y = new float[64];
            while (!Volatile.Read(ref done))
            {
                try
                {
                    model.Step(new float[4], shared, y);
                    succeeded++;
                }
                catch (InvalidOperationException)
                {
                    refused++;
                    Thread.Sleep(1);
                }
            }
        });
        runner.Start();
        while (!runner.IsAlive && !Volatile.Read(ref done))
        {
            Thread.Yield();
        }
        stepper.Start();
        runner.Join();
        stepper.Join();
        Assert.True(refused > 0, "a Step on a state another thread was running was not refused");
        // A step that got in before Run started (or after it ended) is legitimate and changes the result;
        // when none did, the refused ones must have left A's run exactly as on a private state.
        if (succeeded == 0)
        {
            Assert.Equal(expected[^64..], actual[^64..]);
        }
    }
}
