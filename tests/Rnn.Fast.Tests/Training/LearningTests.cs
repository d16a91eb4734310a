using Rnn.Fast.Training;

namespace Rnn.Fast.Tests.Training;

/// <summary>End to end: training really learns (and would not with wrong gradients).</summary>
public sealed class LearningTests
{
    // Predict sin at the next step from the current value: the phase needs memory, so it takes a trained
    // recurrence, not just a fitted head. The untrained model's MSE is about 0.5.
    [Fact]
    public void Lstm_SinePrediction_ReachesLowMseWithinBudget()
    {
        const int steps = 25, batch = 8, updates = 300;
        var model = TrainableModel.From(RnnModel.CreateLstm(1, 16, outputSize: 1, seed: 7));
        var trainer = new Trainer(model, new Adam(model, 0.01f), LossFunction.MeanSquaredError, steps, batch);
        var random = new Random(42);
        float[] x = new float[steps * batch], y = new float[steps * batch];
        void Sample()
        {
            for (int b = 0; b < batch; b++)
            {
                double phase = random.NextDouble() * 2 * Math.PI, frequency = 0.3 + 0.1 * random.NextDouble();
                for (int t = 0; t < steps; t++)
                {
                    x[t * batch + b] = (float)Math.Sin(phase + frequency * t);
                    y[t * batch + b] = (float)Math.Sin(phase + frequency * (t + 1));
                }
            }
        }
        // Only steps after a short warm-up count: at t = 0 the direction of motion is unknowable.
        float[] mask = [.. Enumerable.Range(0, steps * batch).Select(r => r / batch >= 3 ? 1f : 0f)];

        Sample();
        float initial = trainer.Evaluate(x, steps, y, mask);
        for (int i = 0; i < updates; i++)
        {
            Sample();
            TrainStepResult result = trainer.Step(x, steps, y, mask);
            Assert.False(result.Diverged);
        }
        Sample();
        float final = trainer.Evaluate(x, steps, y, mask);

        Assert.True(initial > 0.1f, $"initial MSE {initial}");
        Assert.True(final < 0.01f, $"MSE after {updates} updates: {final} (initial {initial})");
    }

    [Fact]
    public void Trainer_ExplodingLearningRate_ReportsDivergenceWithoutThrowing()
    {
        var model = TrainableModel.From(RnnModel.CreateElman(1, 8, Activation.Relu, outputSize: 1, seed: 3));
        var trainer = new Trainer(model, new Sgd(model, 1e6f), LossFunction.MeanSquaredError, 10, 2);
        float[] x = NetworkCase.Uniform(new Random(1), 20, 3f), y = NetworkCase.Uniform(new Random(2), 20, 3f);
        bool diverged = false;
        for (int i = 0; i < 50 && !diverged; i++)
        {
            diverged = trainer.Step(x, 10, y).Diverged;
        }
        Assert.True(diverged);
    }
}
