using Rnn.Fast.Training;

namespace Rnn.Fast.Tests.Training;

/// <summary>Updates that would break the model are refused; evaluation takes any shape; the workspace shows its cache.</summary>
public sealed class TrainingSafetyTests
{
    private static TrainableModel Model() => TrainableModel.From(RnnModel.CreateElman(1, 4, outputSize: 1, seed: 2));

    private static float[] Values(TrainableModel model) => [.. model.Parameters.SelectMany(p => p.ToArray())];

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TrainerStep_FiniteButHugeUpdate_IsRejectedAndWeightsKept(bool adam)
    {
        TrainableModel model = Model();
        // A learning rate near float's maximum turns any real gradient into an infinite step.
        Optimizer optimizer = adam ? new Adam(model, learningRate: 3e38f) : new Sgd(model, learningRate: 3e38f);
        var trainer = new Trainer(model, optimizer, LossFunction.MeanSquaredError, maxSteps: 4);
        float[] before = Values(model);

        TrainStepResult result = trainer.Step([1f, -1f, 0.5f, 2f], 4, [5f, -5f, 5f, -5f]);

        Assert.True(float.IsFinite(result.Loss));
        Assert.True(result.Diverged);
        Assert.Equal(before, Values(model));
        Assert.Equal(0, optimizer.StepCount);
        Assert.All(Values(model), v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void OptimizerStep_AfterRejection_StateIsAsBefore()
    {
        // Two identical models: one sees a rejected update between two normal ones, the other only the normal ones.
        TrainableModel a = Model(), b = Model();
        var adamA = new Adam(a, learningRate: 0.01f);
        var adamB = new Adam(b, learningRate: 0.01f);
        foreach (Parameter p in a.Parameters)
        {
            p.SetGradients(Enumerable.Repeat(0.5f, p.Count).ToArray());
        }
        foreach (Parameter p in b.Parameters)
        {
            p.SetGradients(Enumerable.Repeat(0.5f, p.Count).ToArray());
        }
        Assert.True(adamA.Step());
        Assert.True(adamB.Step());
        adamA.LearningRate = 3e38f;
        foreach (Parameter p in a.Parameters)
        {
            p.SetGradients(Enumerable.Repeat(3e38f, p.Count).ToArray());
        }
        Assert.False(adamA.Step());
        adamA.LearningRate = 0.01f;
        foreach (Parameter p in a.Parameters)
        {
            p.SetGradients(Enumerable.Repeat(0.5f, p.Count).ToArray());
        }
        Assert.True(adamA.Step());
        Assert.True(adamB.Step());
        Assert.Equal(Values(b), Values(a));
    }

    [Fact]
    public void Evaluate_OtherBatchAndLength_EqualsATrainerOfThatShape()
    {
        TrainableModel model = Model();
        var trainer = new Trainer(model, new Sgd(model, 0.1f), LossFunction.MeanSquaredError, maxSteps: 3, batch: 2);
        const int steps = 5, batch = 4;
        float[] x = NetworkCase.Uniform(new Random(3), steps * batch, 1f), y = NetworkCase.Uniform(new Random(4), steps * batch, 1f);
        var sameShape = new Trainer(model, new Sgd(model, 0.1f), LossFunction.MeanSquaredError, maxSteps: steps, batch: batch);

        Assert.Equal(sameShape.Evaluate(x, steps, y), trainer.Evaluate(x, steps, batch, y));
        Assert.Equal(sameShape.Evaluate(x.AsSpan(0, 3 * batch), 3, y.AsSpan(0, 3 * batch)), trainer.Evaluate(x.AsSpan(0, 3 * batch), 3, batch, y.AsSpan(0, 3 * batch)));
        Assert.Throws<ArgumentException>(() => trainer.Evaluate(x, steps, batch, y.AsSpan(1)));
    }

    [Fact]
    public void HiddenAt_AfterForward_IsTheStreamingState()
    {
        RnnModel inference = RnnModel.CreateGru(2, 6, seed: 5);
        TrainableModel model = TrainableModel.From(inference);
        TrainingWorkspace ws = model.CreateWorkspace(3, 2);
        float[] x = NetworkCase.Uniform(new Random(6), 3 * 2 * 2, 1f);
        model.Forward(x, 3, ws);
        RnnState state = inference.CreateState(2);
        var y = new float[2 * 6];
        for (int t = 0; t < 3; t++)
        {
            inference.Step(x.AsSpan(t * 4, 4), state, y);
            for (int b = 0; b < 2; b++)
            {
                // Different kernel families (latency Step, stream-tiled training forward): equal to rounding.
                ReadOnlySpan<float> expected = state.Hidden(0, b), actual = ws.HiddenAt(t, 0, b);
                for (int j = 0; j < expected.Length; j++)
                {
                    Assert.True(Math.Abs(expected[j] - actual[j]) <= 2e-6f, $"step {t} stream {b} unit {j}: {actual[j]} vs {expected[j]}");
                }
            }
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => ws.HiddenAt(3, 0));
    }

    [Fact]
    public void PackedValues_ACustomOptimizerLoop_MatchesSgd()
    {
        // What PackedValues/PackedGradients are for: an element-wise update of one's own.
        TrainableModel a = Model(), b = Model();
        var trainer = new Trainer(b, new Sgd(b, 0.05f), LossFunction.MeanSquaredError, maxSteps: 4);
        float[] x = [0.5f, -0.5f, 1f, 0f], y = [1f, 0f, -1f, 0.5f];
        TrainingWorkspace ws = a.CreateWorkspace(4);
        var dy = new float[4];
        a.ZeroGradients();
        Loss.MeanSquaredError(a.Forward(x, 4, ws), y, default, 1, dy);
        a.Backward(dy, ws);
        foreach (Parameter p in a.Parameters)
        {
            Span<float> values = p.PackedValues, gradients = p.PackedGradients;
            for (int i = 0; i < values.Length; i++)
            {
                values[i] -= 0.05f * gradients[i];
            }
        }
        a.ParametersChanged();
        trainer.Step(x, 4, y);
        Assert.Equal(Values(b), Values(a));
    }

    [Fact]
    public void Train_BiasFalseModel_StaysBiasFree()
    {
        // PyTorch's bias=False has no bias parameters: training must not grow them, and the model stays bias-free.
        var random = new Random(8);
        LayerWeights layer = LayerWeights.Gru(2, 5, LayerWeights.Uniform(random, 15 * 2, 0.4f), LayerWeights.Uniform(random, 15 * 5, 0.4f), [], []);
        var head = new HeadWeights(5, 1, LayerWeights.Uniform(random, 5, 0.4f), []);
        TrainableModel model = TrainableModel.From(RnnModel.Create([layer], head));
        Assert.Equal(["weight_ih_l0", "weight_hh_l0", "head.weight"], model.Parameters.Select(p => p.Name));
        var trainer = new Trainer(model, new Adam(model, 0.05f), LossFunction.MeanSquaredError, maxSteps: 3);
        trainer.Step([1f, 0f, 0.5f, -1f, 0f, 1f], 3, [1f, -1f, 0.5f]);
        RnnModel trained = model.ToModel();
        Assert.False(trained.Layers[0].HasBiasIh);
        Assert.False(trained.Layers[0].HasBiasHh);
        Assert.False(trained.Head!.HasBias);
        Assert.All(trained.Layers[0].BiasIh.ToArray(), b => Assert.Equal(0f, b));
        Assert.Equal(RnnModel.Create([layer], head).ParameterCount, trained.ParameterCount);
    }
}
