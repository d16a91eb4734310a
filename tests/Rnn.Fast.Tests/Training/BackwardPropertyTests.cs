using FsCheck;
using FsCheck.Fluent;
using Rnn.Fast.Reference;
using Rnn.Fast.Training;

namespace Rnn.Fast.Tests.Training;

/// <summary>
/// The fast backward pass (every kernel) against the double-precision reference BPTT: loss, every
/// parameter gradient, dL/dx, dL/dh0 and dL/dc0, over random cells, sizes, stacks, heads, losses and masks.
/// </summary>
[Trait("Category", "Kernel")]
public sealed class BackwardPropertyTests
{
    [Theory]
    [MemberData(nameof(KernelData.Available), MemberType = typeof(KernelData))]
    public void Backward_RandomNetworks_MatchesReferenceBptt(string kernel) =>
        Prop.ForAll(TrainingCase.Arbitrary(), c => Check(c, kernel)).CheckSeeded();

    // Sequences long enough for the forward pass to run in two and three chunks (as Run does: 256 rows of these small
    // models, so 128 and 85 steps at batch 2 and 3): h, c and the gates kept across a chunk boundary must be the
    // ones backward needs. Fixed cases, every cell, one and two layers, with and without a head.
    [Theory]
    [MemberData(nameof(KernelData.Available), MemberType = typeof(KernelData))]
    public void Backward_SequencesOverSeveralForwardChunks_MatchesReferenceBptt(string kernel)
    {
        foreach (CellType cell in (CellType[])[CellType.Lstm, CellType.Gru, CellType.Elman])
        {
            Check(new TrainingCase(cell, Activation.Tanh, 3, 5, 2, 2, Activation.Identity, false, Steps: 200, Batch: 3, MaskKind: 0, Seed: 11), kernel);
            Check(new TrainingCase(cell, Activation.Tanh, 2, 4, 1, 0, Activation.Identity, false, Steps: 131, Batch: 2, MaskKind: 1, Seed: 12), kernel);
        }
    }

    private static void Check(TrainingCase c, string kernel)
    {
        RnnModel model = c.Build(kernel);
        float[] inputs = c.Inputs(), targets = c.Targets(), mask = c.Mask();
        (double[][] h0, double[]?[] c0) = c.InitialState();

        var reference = ReferenceBptt.Compute(new ReferenceParameters(model.Layers, model.Head), inputs, c.Steps, c.Batch,
            h0, c0, c.ReferenceLoss, targets, mask);

        TrainableModel fast = TrainableModel.From(model);
        TrainingWorkspace ws = fast.CreateWorkspace(c.Steps + 2, c.Batch);
        for (int l = 0; l < c.Layers; l++)
        {
            for (int b = 0; b < c.Batch; b++)
            {
                Copy(h0[l].AsSpan(b * c.Hidden, c.Hidden), ws.InitialHidden(l, b));
                if (c0[l] is { } cell)
                {
                    Copy(cell.AsSpan(b * c.Hidden, c.Hidden), ws.InitialCell(l, b));
                }
            }
        }
        ReadOnlySpan<float> outputs = fast.Forward(inputs, c.Steps, ws);
        var dy = new float[outputs.Length];
        float loss = c.CrossEntropy
            ? Loss.SoftmaxCrossEntropy(outputs, targets, mask, c.OutputSize, dy)
            : Loss.MeanSquaredError(outputs, targets, mask, c.OutputSize, dy);
        fast.Backward(dy, ws);

        string where = $"{kernel} {c}";
        AssertClose("loss", [reference.Loss], [loss], where);
        foreach (((string name, double[] expected), Parameter parameter) in reference.Tensors().Zip(fast.Parameters))
        {
            Assert.Equal(name, parameter.Name);
            var actual = new float[parameter.Count];
            parameter.CopyGradientsTo(actual);
            AssertClose(name, expected, actual, where);
        }
        AssertClose("dL/dx", reference.Inputs, ws.InputGradients.ToArray(), where);
        for (int l = 0; l < c.Layers; l++)
        {
            for (int b = 0; b < c.Batch; b++)
            {
                AssertClose($"dL/dh0[{l}][{b}]", reference.InitialHidden[l].AsSpan(b * c.Hidden, c.Hidden).ToArray(), ws.InitialHiddenGradient(l, b).ToArray(), where);
                if (reference.InitialCell[l] is { } dc0)
                {
                    AssertClose($"dL/dc0[{l}][{b}]", dc0.AsSpan(b * c.Hidden, c.Hidden).ToArray(), ws.InitialCellGradient(l, b).ToArray(), where);
                }
            }
        }
    }

    private static void Copy(ReadOnlySpan<double> source, Span<float> destination)
    {
        for (int i = 0; i < source.Length; i++)
        {
            destination[i] = (float)source[i];
        }
    }

    /// <summary>
    /// Float against double, sums over steps, streams and gate rows in a different order: the bound is
    /// relative to the largest gradient of the tensor (small entries are sums of cancelling terms).
    /// </summary>
    private static void AssertClose(string what, double[] expected, float[] actual, string where)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = expected.Length == 0 ? 0 : expected.Max(Math.Abs);
        double tolerance = 2e-4 * scale + 1e-6;
        for (int i = 0; i < expected.Length; i++)
        {
            double error = Math.Abs(actual[i] - expected[i]);
            if (!(error <= tolerance))
            {
                Assert.Fail($"{what}[{i}]: fast {actual[i]:R}, reference {expected[i]:R}, error {error:E2} > {tolerance:E2} ({where})");
            }
        }
    }
}
