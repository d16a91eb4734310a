using Rnn.Fast.Cli.Experiments;

namespace Rnn.Fast.Tests.Experiments;

/// <summary>The experiments of <c>rnnfast demo</c> at small sizes: generators, measurements and the claims the reports make.</summary>
[Trait("Category", "Experiments")]
public sealed class ExperimentTests
{
    [Fact]
    public void AddingProblem_Generate_TwoMarkersOneInEachHalf_TargetIsTheirSumAtTheLastStep()
    {
        const int Steps = 21, Batch = 50;
        AddingBatch data = AddingProblem.Generate(Steps, Batch, new Random(3));
        Assert.Equal(Steps * Batch * 2, data.Inputs.Length);
        for (int b = 0; b < Batch; b++)
        {
            var marked = new List<int>();
            double sum = 0;
            for (int t = 0; t < Steps; t++)
            {
                float value = data.Inputs[(t * Batch + b) * 2];
                float marker = data.Inputs[(t * Batch + b) * 2 + 1];
                Assert.InRange(value, 0f, 1f);
                Assert.True(marker is 0f or 1f);
                if (marker == 1f)
                {
                    marked.Add(t);
                    sum += value;
                }
                bool last = t == Steps - 1;
                Assert.Equal(last ? 1f : 0f, data.Mask[t * Batch + b]);
                if (!last)
                {
                    Assert.Equal(0f, data.Targets[t * Batch + b]);
                }
            }
            Assert.Equal(2, marked.Count);
            Assert.InRange(marked[0], 0, Steps / 2 - 1);
            Assert.InRange(marked[1], Steps / 2, Steps - 1);
            Assert.Equal(sum, data.Targets[(Steps - 1) * Batch + b], 5);
        }
    }

    [Fact]
    public void AddingProblem_Generate_ConstantOneScoresTheBaselineMse()
    {
        // (U1 + U2 − 1)² has mean 1/6 and standard deviation ≈ 0.197, so over 40 000 sums the mean is within ±0.004 (4σ).
        AddingBatch data = AddingProblem.Generate(10, 40_000, new Random(11));
        double mse = 0, mean = 0;
        int last = 9 * 40_000;
        for (int b = 0; b < 40_000; b++)
        {
            double target = data.Targets[last + b];
            mean += target;
            mse += (target - 1) * (target - 1);
        }
        Assert.Equal(1.0, mean / 40_000, 0.01);
        Assert.InRange(mse / 40_000, AddingProblem.BaselineMse - 0.004, AddingProblem.BaselineMse + 0.004);
        Assert.Equal(0.1667, AddingProblem.BaselineMse, 4);
    }

    [Fact]
    public void EchoStream_Generate_TargetIsTheInputLagStepsBack()
    {
        (float[] inputs, float[] targets, float[] mask) = EchoStream.Generate(30, 3, 7, new Random(5));
        for (int t = 0; t < 30; t++)
        {
            for (int b = 0; b < 3; b++)
            {
                int i = t * 3 + b;
                Assert.Equal(t >= 7 ? 1f : 0f, mask[i]);
                Assert.Equal(t >= 7 ? inputs[(t - 7) * 3 + b] : 0f, targets[i]);
            }
        }
    }

    [Fact]
    public void SpectralRadius_Estimate_FindsTheRadiusOfAComplexPair()
    {
        // A scaled rotation: eigenvalues ±0.8i, which plain power iteration never converges on.
        float[] rotation = [0f, -0.8f, 0.8f, 0f];
        Assert.Equal(0.8, SpectralRadius.Estimate(rotation, 2), 3);
        float[] diagonal = [0.3f, 0f, 0f, 0f, -1.7f, 0f, 0f, 0f, 1.1f];
        Assert.Equal(1.7, SpectralRadius.Estimate(diagonal, 3), 3);
    }

    [Fact]
    public void SpectralRadius_ScaleTo_GivesTheTargetRadius()
    {
        RnnModel model = RnnModel.CreateElman(1, 24, seed: 4);
        float[] weight = model.Layers[0].WeightHh.ToArray();
        SpectralRadius.ScaleTo(weight, 24, 1.3);
        Assert.Equal(1.3, SpectralRadius.Estimate(weight, 24, seed: 9), 2);
    }

    [Theory]
    [InlineData(Activation.Tanh, 0.5, -1)]
    [InlineData(Activation.Identity, 0.5, -1)]
    [InlineData(Activation.Identity, 1.5, +1)]
    public void GradientFlow_Measure_SlopeSignFollowsTheSpectralRadius(Activation nonlinearity, double rho, int expectedSign)
    {
        RnnModel model = ModelFactory.Elman(1, 16, nonlinearity, 1, seed: 2, spectralRadius: rho);
        GradientFlowCurve curve = GradientFlowExperiment.Measure(model, steps: 40, batch: 2, seed: 2, "test", "test");
        Assert.Equal(expectedSign, Math.Sign(curve.Slope));
        // The linear recurrence multiplies by about ρ per step, up to the eigenvector's alignment.
        if (nonlinearity == Activation.Identity)
        {
            Assert.InRange(curve.FactorPerStep, rho * 0.85, rho * 1.15);
        }
    }

    [Fact]
    public void GradientFlow_Measure_ForgetBiasSlowsTheLstmDecay()
    {
        GradientFlowCurve plain = GradientFlowExperiment.Measure(ModelFactory.Lstm(1, 16, 1, seed: 3), 40, 2, 3, "default", "LSTM");
        GradientFlowCurve biased = GradientFlowExperiment.Measure(ModelFactory.Lstm(1, 16, 1, seed: 3, forgetBias: 2f), 40, 2, 3, "+2", "LSTM");
        Assert.True(biased.Slope > plain.Slope, $"forget bias +2 slope {biased.Slope} vs default {plain.Slope}");
    }

    [Fact]
    public void AddingExperiment_Train_LstmAtT50BeatsTheBaselineClearly()
    {
        // Seeded: the same data and weights every run. Take-off comes at ~700 steps with these settings.
        var settings = new AddingSettings(Hidden: 32, Batch: 32, TrainSteps: 1000, EvalEvery: 250, TestBatches: 4);
        AddingRun run = AddingExperiment.Train(CellType.Lstm, steps: 50, settings, seed: 1);
        Assert.Equal([0, 250, 500, 750, 1000], run.EvalSteps);
        Assert.True(run.FinalMse < AddingProblem.BaselineMse / 4, $"test MSE {run.FinalMse} after 1000 steps; baseline {AddingProblem.BaselineMse}");
        Assert.Equal(0, run.DivergedSteps);
    }

    [Fact]
    public void ClippingExperiment_Train_WithoutClippingDivergenceIsDetectedNotThrown()
    {
        ClippingSettings settings = ClippingSettings.Exploding(full: false) with { TrainSteps = 80 };
        ClippingRun unclipped = ClippingExperiment.Train(ClipMode.None, settings, seed: 1);
        Assert.NotNull(unclipped.FirstDivergence);
        Assert.Equal(80, unclipped.Loss.Count);
        Assert.True(unclipped.MaxNorm > 1e6, $"max gradient norm {unclipped.MaxNorm}");

        ClippingRun clipped = ClippingExperiment.Train(ClipMode.Norm, settings, seed: 1);
        Assert.Null(clipped.FirstDivergence);
        Assert.All(clipped.Loss, loss => Assert.True(float.IsFinite(loss)));
    }

    [Fact]
    public void Plotting_Lines_WritesAPngAndSkipsNonFinitePoints()
    {
        string path = Path.Combine(Path.GetTempPath(), $"rnnfast-plot-{Guid.NewGuid():N}.png");
        try
        {
            Plotting.Lines(path, "title", "x (steps)", "y (log)", [new Series("s", [0, 1, 2, 3], [1, double.NaN, 0, 1e-20])], logY: true,
                lines: [new ReferenceLine("baseline", 0.1), new ReferenceLine("event", 2, Vertical: true)]);
            byte[] header = File.ReadAllBytes(path)[..8];
            Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, header);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData(0, "1")]
    [InlineData(-2, "0.01")]
    [InlineData(3, "1000")]
    [InlineData(-20, "1e-20")]
    [InlineData(30, "1e+30")]
    public void Plotting_DecadeLabel_IsShortAndInvariant(double exponent, string expected) =>
        Assert.Equal(expected, Plotting.DecadeLabel(exponent));
}
