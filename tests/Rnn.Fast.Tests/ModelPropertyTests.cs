using FsCheck;
using FsCheck.Fluent;
using Rnn.Fast.Reference;

namespace Rnn.Fast.Tests;

/// <summary>
/// Fast kernels against the double-precision reference, for every kernel available here: random cells,
/// sizes, stacks, heads, sequence lengths and batches, from fixed seeds (<see cref="SeededProperty"/>, which
/// prints the replay seed of a failure). Whole sequences are held to the loose end-to-end
/// <see cref="NetworkCase.Tolerance"/>; <see cref="StepBoundTests"/> holds single steps to a rigorous bound.
/// </summary>
[Trait("Category", "Kernel")]
public sealed class ModelPropertyTests
{
    // Issue 9: a fresh clone failed with this random seed (59th case: Elman ReLU, 2 layers, bidirectional,
    // weight scale 3, error 6.45e-3 against 6.18e-3 on every kernel); the tolerance now covers the gain.
    private static readonly (ulong, ulong) s_bidirectionalReluSeed = (17582837747407783557, 16213632633019904191);

    [Theory]
    [MemberData(nameof(KernelData.Available), MemberType = typeof(KernelData))]
    public void Step_RandomNetworks_MatchesReference(string kernel) =>
        Prop.ForAll(NetworkCase.Arbitrary(withHead: false), c => CheckStreaming(c, kernel)).CheckSeeded();

    [Theory]
    [MemberData(nameof(KernelData.Available), MemberType = typeof(KernelData))]
    public void Step_RandomNetworksWithHead_MatchesReference(string kernel) =>
        Prop.ForAll(NetworkCase.Arbitrary(withHead: true), c => CheckStreaming(c, kernel)).CheckSeeded();

    [Theory]
    [MemberData(nameof(KernelData.Available), MemberType = typeof(KernelData))]
    public void Run_RandomSequences_MatchesReference(string kernel) =>
        Prop.ForAll(NetworkCase.Arbitrary(withHead: false), c => CheckSequence(c, kernel)).CheckSeeded();

    [Theory]
    [MemberData(nameof(KernelData.Available), MemberType = typeof(KernelData))]
    public void Run_RandomSequencesWithHead_MatchesReference(string kernel) =>
        Prop.ForAll(NetworkCase.Arbitrary(withHead: true), c => CheckSequence(c, kernel)).CheckSeeded();

    [Theory]
    [MemberData(nameof(KernelData.Available), MemberType = typeof(KernelData))]
    public void Run_RandomBidirectional_MatchesReference(string kernel) =>
        Prop.ForAll(NetworkCase.Arbitrary(withHead: false, bidirectional: true), c => CheckSequence(c, kernel)).CheckSeeded();

    [Theory]
    [MemberData(nameof(KernelData.Available), MemberType = typeof(KernelData))]
    public void Run_RandomBidirectionalWithHead_MatchesReference(string kernel) =>
        Prop.ForAll(NetworkCase.Arbitrary(withHead: true, bidirectional: true), c => CheckSequence(c, kernel))
            .CheckSeeded(regressions: s_bidirectionalReluSeed);

    private static void CheckStreaming(NetworkCase c, string kernel)
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
        AssertStatesClose(c, model, state, referenceStates, kernel);
    }

    private static void CheckSequence(NetworkCase c, string kernel)
    {
        RnnModel model = c.Build(kernel);
        var reference = new ReferenceModel(model);
        RnnState state = model.CreateState(c.Batch);
        ReferenceState[] referenceStates = NetworkCase.ReferenceStates(model, c.Batch);

        // A non-zero initial state, set through the public spans, must be honoured by both.
        var random = new Random(c.Seed);
        foreach (bool reverse in model.IsBidirectional ? new[] { false, true } : [false])
        {
            for (int b = 0; b < c.Batch; b++)
            {
                for (int l = 0; l < model.Layers.Count; l++)
                {
                    Randomize(random, state.Hidden(l, b, reverse), reverse ? referenceStates[b].ReverseH[l] : referenceStates[b].H[l]);
                    if (model.Layers[l].Cell == CellType.Lstm)
                    {
                        Randomize(random, state.Cell(l, b, reverse), reverse ? referenceStates[b].ReverseC[l]! : referenceStates[b].C[l]!);
                    }
                }
            }
        }

        float[] inputs = c.Inputs();
        var outputs = new float[c.Steps * c.Batch * model.OutputSize];
        model.Run(inputs, c.Steps, state, outputs);
        double[] expected = reference.Run(inputs, c.Steps, referenceStates);
        AssertClose(c, expected, outputs, $"{kernel} sequence");
        AssertStatesClose(c, model, state, referenceStates, kernel);
    }

    private static void Randomize(Random random, Span<float> fast, double[] reference)
    {
        for (int j = 0; j < fast.Length; j++)
        {
            fast[j] = (float)(random.NextDouble() - 0.5);
            reference[j] = fast[j];
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

    private static void AssertStatesClose(NetworkCase c, RnnModel model, RnnState state, ReferenceState[] expected, string kernel)
    {
        for (int b = 0; b < c.Batch; b++)
        {
            for (int l = 0; l < model.Layers.Count; l++)
            {
                AssertClose(c, expected[b].H[l], state.Hidden(l, b), $"{kernel} final h, layer {l}, stream {b}");
                if (model.Layers[l].Cell == CellType.Lstm)
                {
                    AssertClose(c, expected[b].C[l]!, state.Cell(l, b), $"{kernel} final c, layer {l}, stream {b}");
                }
                if (model.IsBidirectional)
                {
                    AssertClose(c, expected[b].ReverseH[l], state.Hidden(l, b, reverse: true), $"{kernel} final reverse h, layer {l}, stream {b}");
                }
            }
        }
    }
}
