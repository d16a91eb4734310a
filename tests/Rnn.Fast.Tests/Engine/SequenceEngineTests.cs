using Rnn.Fast.Reference;

namespace Rnn.Fast.Tests.Engine;

/// <summary>
/// The sequence engine across chunk boundaries (the property tests draw at most 12 steps, under one 64-row chunk),
/// bidirectional chunking from both ends, and the batch-first layout, on every available kernel.
/// </summary>
[Trait("Category", "Kernel")]
public sealed class SequenceEngineTests
{
    public static TheoryData<string, CellType, bool, int> Cases()
    {
        var data = new TheoryData<string, CellType, bool, int>();
        foreach (string kernel in RnnKernels.Available)
        {
            foreach (CellType cell in Enum.GetValues<CellType>())
            {
                foreach (bool bidirectional in new[] { false, true })
                {
                    data.Add(kernel, cell, bidirectional, 1);
                    data.Add(kernel, cell, bidirectional, 3);
                }
            }
        }
        return data;
    }

    private static RnnModel Build(string kernel, CellType cell, bool bidirectional) =>
        new NetworkCase(cell, Activation.Tanh, Input: 3, Hidden: 11, Layers: 2, Output: 2, HeadActivation: Activation.Tanh, Steps: 600,
            Batch: 1, WeightScale: 1f, Seed: 7, Bidirectional: bidirectional, SkipWanted: 1).Build(kernel);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Run_ManyChunks_MatchesReference(string kernel, CellType cell, bool bidirectional, int batch)
    {
        // 600 steps: three chunks at batch 1 (256 rows each for a model this small), eight at batch 3 (85 steps each),
        // the last one short.
        const int steps = 600;
        RnnModel model = Build(kernel, cell, bidirectional);
        float[] inputs = NetworkCase.Uniform(new Random(11), steps * batch * model.InputSize, 1f);
        var outputs = new float[steps * batch * model.OutputSize];
        RnnState state = model.CreateState(batch);
        model.Run(inputs, steps, state, outputs);

        var reference = new ReferenceModel(model);
        ReferenceState[] states = NetworkCase.ReferenceStates(model, batch);
        double[] expected = reference.Run(inputs, steps, states);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(outputs[i] - expected[i]) <= 2e-4, $"{kernel} {cell} bidirectional={bidirectional} batch {batch}: output {i} is {outputs[i]}, reference {expected[i]}");
        }
        for (int b = 0; b < batch; b++)
        {
            for (int l = 0; l < model.Layers.Count; l++)
            {
                AssertClose(states[b].H[l], state.Hidden(l, b), $"final h, layer {l}, stream {b}");
                if (bidirectional)
                {
                    AssertClose(states[b].ReverseH[l], state.Hidden(l, b, reverse: true), $"final reverse h, layer {l}, stream {b}");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Run_BatchFirst_IsTimeMajorTransposed(string kernel, CellType cell, bool bidirectional, int batch)
    {
        const int steps = 90;
        RnnModel model = Build(kernel, cell, bidirectional);
        int inputs = model.InputSize, outputs = model.OutputSize;
        float[] timeMajor = NetworkCase.Uniform(new Random(12), steps * batch * inputs, 1f);
        float[] batchFirst = Transpose(timeMajor, steps, batch, inputs);
        var expected = new float[steps * batch * outputs];
        var actual = new float[steps * batch * outputs];
        model.Run(timeMajor, steps, model.CreateState(batch), expected);
        model.Run(batchFirst, steps, model.CreateState(batch), actual, SequenceLayout.BatchFirst);

        // The same rows run through the same kernels in the same order: bit-identical.
        Assert.Equal(Transpose(expected, steps, batch, outputs), actual);
    }

    [Fact]
    public void Run_UnknownLayout_Throws()
    {
        RnnModel model = RnnModel.CreateLstm(2, 3);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => model.Run(new float[2], 1, model.CreateState(), new float[3], (SequenceLayout)7));
        Assert.Equal("layout", e.ParamName);
    }

    // [T, B, width] -> [B, T, width]
    private static float[] Transpose(float[] source, int steps, int batch, int width)
    {
        var result = new float[source.Length];
        for (int t = 0; t < steps; t++)
        {
            for (int b = 0; b < batch; b++)
            {
                source.AsSpan((t * batch + b) * width, width).CopyTo(result.AsSpan((b * steps + t) * width));
            }
        }
        return result;
    }

    private static void AssertClose(double[] expected, ReadOnlySpan<float> actual, string what)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(actual[i] - expected[i]) <= 2e-4, $"{what}: element {i} is {actual[i]}, reference {expected[i]}");
        }
    }
}
