using Rnn.Fast.Reference;
using Rnn.Fast.Training;

namespace Rnn.Fast.Tests.Training;

/// <summary>
/// Truncated BPTT: a window that covers the whole sequence is full BPTT exactly; shorter windows give the
/// reference BPTT of the window (from the carried state, loss only on the k1 new steps).
/// </summary>
public sealed class TruncatedBpttTests
{
    private static float[][] Gradients(TrainableModel model) =>
        [.. model.Parameters.Select(p => { var g = new float[p.Count]; p.CopyGradientsTo(g); return g; })];

    [Theory]
    [InlineData(CellType.Lstm)]
    [InlineData(CellType.Gru)]
    [InlineData(CellType.Elman)]
    public void Step_WindowCoversSequence_EqualsFullBpttExactly(CellType cell)
    {
        const int steps = 12, batch = 2;
        RnnModel model = new TrainingCase(cell, Activation.Tanh, 3, 7, 2, 2, Activation.Identity, false, steps, batch, 0, 11).Build(RnnKernels.Default);
        float[] x = NetworkCase.Uniform(new Random(1), steps * batch * 3, 1f), y = NetworkCase.Uniform(new Random(2), steps * batch * 2, 1f);

        TrainableModel full = TrainableModel.From(model);
        new Trainer(full, new Sgd(full, 1e-3f), LossFunction.MeanSquaredError, steps, batch).Step(x, steps, y);

        TrainableModel truncated = TrainableModel.From(model);
        var tbptt = new TruncatedBpttTrainer(truncated, new Sgd(truncated, 1e-3f), LossFunction.MeanSquaredError, k1: steps, k2: steps + 5, batch);
        tbptt.Step(x, y);

        Assert.Equal(Gradients(full), Gradients(truncated));
        Assert.Equal([.. full.Parameters.Select(p => p.ToArray())], [.. truncated.Parameters.Select(p => p.ToArray())]);
    }

    [Theory]
    [InlineData(CellType.Lstm, 3, 3)]
    [InlineData(CellType.Lstm, 2, 5)]
    [InlineData(CellType.Gru, 4, 7)]
    [InlineData(CellType.Elman, 1, 4)]
    public void Step_ShortWindows_EqualReferenceTruncatedGradients(CellType cell, int k1, int k2)
    {
        const int batch = 2, updates = 6, inputs = 2, outputs = 1;
        RnnModel model = new TrainingCase(cell, Activation.Tanh, inputs, 5, 1, outputs, Activation.Identity, false, 1, batch, 0, 5).Build(RnnKernels.Default);
        int total = k1 * updates;
        float[] x = NetworkCase.Uniform(new Random(3), total * batch * inputs, 1f), y = NetworkCase.Uniform(new Random(4), total * batch * outputs, 1f);

        // A learning rate so small that float weights do not move: every window then sees the same weights,
        // and the reference can take the carried state from one forward pass over the whole stream.
        TrainableModel trained = TrainableModel.From(model);
        var tbptt = new TruncatedBpttTrainer(trained, new Sgd(trained, 1e-30f), LossFunction.MeanSquaredError, k1, k2, batch);
        var referenceParameters = new ReferenceParameters(model.Layers, model.Head);
        var reference = new ReferenceModel(model);

        for (int u = 0; u < updates; u++)
        {
            int end = (u + 1) * k1, start = Math.Max(0, end - k2);
            tbptt.Step(x.AsSpan(u * k1 * batch * inputs, k1 * batch * inputs), y.AsSpan(u * k1 * batch * outputs, k1 * batch * outputs));

            // The state at the window's start, from the reference run of the stream up to there.
            ReferenceState[] states = [.. Enumerable.Range(0, batch).Select(_ => reference.CreateState())];
            reference.Run(x.AsSpan(0, start * batch * inputs), start, states);
            double[][] h0 = [[.. states.SelectMany(s => s.H[0])]];
            double[]?[] c0 = [cell == CellType.Lstm ? [.. states.SelectMany(s => s.C[0]!)] : null];
            int window = end - start;
            float[] mask = [.. Enumerable.Range(0, window * batch).Select(r => r / batch >= window - k1 ? 1f : 0f)];
            var expected = ReferenceBptt.Compute(referenceParameters, x.AsSpan(start * batch * inputs, window * batch * inputs), window, batch,
                h0, c0, LossKind.MeanSquaredError, y.AsSpan(start * batch * outputs, window * batch * outputs), mask);

            foreach (((string name, double[] grads), float[] actual) in expected.Tensors().Zip(Gradients(trained)))
            {
                double scale = grads.Max(Math.Abs);
                for (int i = 0; i < grads.Length; i++)
                {
                    Assert.True(Math.Abs(actual[i] - grads[i]) <= 2e-4 * scale + 1e-6, $"update {u}, {name}[{i}]: {actual[i]} vs {grads[i]}");
                }
            }
        }
    }

    [Fact]
    public void Constructor_K2SmallerThanK1_Throws()
    {
        TrainableModel model = TrainableModel.From(RnnModel.CreateLstm(1, 2, outputSize: 1));
        Assert.Equal("k2", Assert.Throws<ArgumentException>(() => new TruncatedBpttTrainer(model, new Adam(model), LossFunction.MeanSquaredError, 5, 4)).ParamName);
    }
}
