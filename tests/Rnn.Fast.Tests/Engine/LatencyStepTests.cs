using Rnn.Fast.Internals;
using Rnn.Fast.Reference;

namespace Rnn.Fast.Tests;

/// <summary>
/// The latency family (<c>Step</c> of one stream, or of up to eight streams in pairs) against the double-precision
/// reference, for every kernel width available here: every cell, sizes around each width (1, 7, 8, 9, 15, 16, 17,
/// 24, 33, 40, 64), one to three layers, no head, a fused one-output head, wider heads with activations, the
/// residual, initial states and batches 1 to 9 (odd batches end with a lone stream; 9 leaves the family). Cases are
/// drawn from fixed seeds.
/// </summary>
[Trait("Category", "Kernel")]
public sealed class LatencyStepTests
{
    private static readonly int[] s_hidden = [1, 7, 8, 9, 15, 16, 17, 24, 33, 40, 64];

    public static TheoryData<string, CellType, int> Cases()
    {
        var data = new TheoryData<string, CellType, int>();
        foreach (RnnKernel kernel in KernelRegistry.Available)
        {
            foreach (CellType cell in Enum.GetValues<CellType>())
            {
                foreach (int batch in (int[])[1, 2, 3, 8, 9])
                {
                    data.Add(kernel.Name, cell, batch);
                }
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Step_SizesAroundEveryWidth_MatchesReference(string kernel, CellType cell, int batch)
    {
        var random = new Random(1000 * (int)cell + batch);
        foreach (int hidden in s_hidden)
        {
            // Audio shape (I = 1, one linear output: the fused head), then a random stack, head and residual.
            Check(new NetworkCase(cell, Activation.Tanh, 1, hidden, 1, 1, Activation.Identity, Steps: 6, batch, 1f, Seed: hidden), kernel);
            int output = random.Next(3) switch { 0 => 0, 1 => 1, _ => random.Next(2, 7) };
            var c = new NetworkCase(cell, random.Next(3) switch { 0 => Activation.Tanh, 1 => Activation.Relu, _ => Activation.Sigmoid },
                Input: random.Next(0, 20), hidden, Layers: random.Next(1, 4), output,
                HeadActivation: random.Next(4) switch { 0 => Activation.Identity, 1 => Activation.Tanh, 2 => Activation.Sigmoid, _ => Activation.Softmax },
                Steps: 5, batch, WeightScale: random.Next(2) == 0 ? 1f : 3f, Seed: random.Next(),
                SkipWanted: random.Next(3), InitialState: random.Next(2) == 0);
            Check(c, kernel);
        }
    }

    [Theory]
    [MemberData(nameof(KernelData.Available), MemberType = typeof(KernelData))]
    public void Step_ManyStreams_EqualsStreamsSteppedAlone(string kernel)
    {
        // Each stream of a batch state must follow exactly its own trajectory: step 8 streams together and each
        // alone on batch-1 states, and compare (close, not bit-equal: pairs and single streams share the code of
        // the cell but the x and h sums may split differently).
        foreach (CellType cell in Enum.GetValues<CellType>())
        {
            var c = new NetworkCase(cell, Activation.Tanh, 3, 16, 2, 1, Activation.Identity, Steps: 8, Batch: 8, 1f, Seed: 7);
            RnnModel model = c.Build(kernel);
            RnnState together = model.CreateState(8);
            RnnState[] alone = [.. Enumerable.Range(0, 8).Select(_ => model.CreateState())];
            float[] inputs = c.Inputs();
            var y = new float[8];
            var y1 = new float[1];
            for (int t = 0; t < c.Steps; t++)
            {
                model.Step(inputs.AsSpan(t * 8 * 3, 8 * 3), together, y);
                for (int b = 0; b < 8; b++)
                {
                    model.Step(inputs.AsSpan((t * 8 + b) * 3, 3), alone[b], y1);
                    Assert.Equal(y1[0], y[b], 1e-5f);
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(KernelData.Available), MemberType = typeof(KernelData))]
    public void Step_BatchOfStreams_EqualsRunToRounding(string kernel)
    {
        // A small batch Step takes the latency family, a Run the stream-tiled family: the same sums in another order,
        // so stepping T times equals one Run of T steps to float rounding (a few ulp of the largest term), not bitwise.
        foreach (CellType cell in Enum.GetValues<CellType>())
        {
            foreach (int batch in (int[])[2, 3, 8])
            {
                foreach ((int input, int hidden) in ((int, int)[])[(1, 16), (5, 9), (17, 40)])
                {
                    var c = new NetworkCase(cell, Activation.Tanh, input, hidden, 2, 2, Activation.Identity, Steps: 4, batch, 1f, Seed: hidden + batch);
                    RnnModel model = c.Build(kernel);
                    RnnState stepped = model.CreateState(batch), run = model.CreateState(batch);
                    float[] inputs = c.Inputs();
                    var y = new float[4 * batch * 2];
                    model.Run(inputs, 4, run, y);
                    var yStep = new float[batch * 2];
                    for (int t = 0; t < 4; t++)
                    {
                        model.Step(inputs.AsSpan(t * batch * input, batch * input), stepped, yStep);
                        AssertRounding(y.AsSpan(t * batch * 2, batch * 2), yStep, $"{kernel} {cell} batch {batch} step {t}");
                    }
                    for (int b = 0; b < batch; b++)
                    {
                        AssertRounding(run.Hidden(1, b), stepped.Hidden(1, b), $"{kernel} {cell} batch {batch} final h, stream {b}");
                    }
                }
            }
        }
    }

    private static void AssertRounding(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 2e-6f * (1 + Math.Abs(expected[i])), $"{what}: element {i} is {actual[i]:R}, Run gave {expected[i]:R}");
        }
    }

    private static void Check(NetworkCase c, string kernel)
    {
        RnnModel model = c.Build(kernel);
        var reference = new ReferenceModel(model);
        RnnState state = model.CreateState(c.Batch);
        ReferenceState[] referenceStates = NetworkCase.ReferenceStates(model, c.Batch);
        float[] inputs = c.Inputs();
        var y = new float[c.Batch * model.OutputSize];
        int stepInputs = c.Batch * model.InputSize;
        for (int t = 0; t < c.Steps; t++)
        {
            model.Step(inputs.AsSpan(t * stepInputs, stepInputs), state, y);
            double[] expected = reference.Run(inputs.AsSpan(t * stepInputs, stepInputs), 1, referenceStates);
            AssertClose(c, expected, y, $"{kernel} step {t}");
        }
        for (int b = 0; b < c.Batch; b++)
        {
            for (int l = 0; l < model.Layers.Count; l++)
            {
                AssertClose(c, referenceStates[b].H[l], state.Hidden(l, b), $"{kernel} final h, layer {l}, stream {b}");
                if (model.Layers[l].Cell == CellType.Lstm)
                {
                    AssertClose(c, referenceStates[b].C[l]!, state.Cell(l, b), $"{kernel} final c, layer {l}, stream {b}");
                }
            }
        }
    }

    private static void AssertClose(NetworkCase c, double[] expected, ReadOnlySpan<float> actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double error = Math.Abs(actual[i] - expected[i]);
            if (!(error <= c.Tolerance(expected[i])))
            {
                Assert.Fail($"{what}: output {i} is {actual[i]:R}, reference {expected[i]:R}, error {error:E2} > tolerance {c.Tolerance(expected[i]):E2} for {c}");
            }
        }
    }
}
