using FsCheck;
using FsCheck.Fluent;
using Rnn.Fast.Training;

namespace Rnn.Fast.Tests.Training;

/// <summary>clip_grad_norm_ and clip_grad_value_ semantics, including the edges.</summary>
public sealed class ClippingTests
{
    private static TrainableModel Model(int seed = 1) => TrainableModel.From(RnnModel.CreateLstm(3, 5, outputSize: 2, seed: seed));

    private static double[] SetRandomGradients(TrainableModel model, Random random, double scale)
    {
        var all = new List<double>();
        foreach (Parameter p in model.Parameters)
        {
            float[] g = NetworkCase.Uniform(random, p.Count, (float)scale);
            p.SetGradients(g);
            all.AddRange(g.Select(v => (double)v));
        }
        return [.. all];
    }

    private static float[] Gradients(TrainableModel model) =>
        [.. model.Parameters.SelectMany(p => { var g = new float[p.Count]; p.CopyGradientsTo(g); return g; })];

    [Fact]
    public void ClipByGlobalNorm_RandomGradients_FollowsPyTorchFormula() =>
        Prop.ForAll(
            (from seed in Gen.Choose(0, 100000)
             from scale in Gen.Elements(1e-3, 0.1, 1.0, 10.0)
             from maxNorm in Gen.Elements(0.01f, 0.5f, 1f, 3f, 100f)
             select (seed, scale, maxNorm)).ToArbitrary(),
            t =>
            {
                TrainableModel model = Model();
                double[] before = SetRandomGradients(model, new Random(t.seed), t.scale);
                double total = Math.Sqrt(before.Sum(g => g * g));

                float returned = GradientClipping.ClipByGlobalNorm(model.Parameters, t.maxNorm);

                Assert.Equal(total, returned, 1e-5 * total + 1e-9);
                double coefficient = Math.Min(1.0, t.maxNorm / (total + 1e-6));
                float[] after = Gradients(model);
                for (int i = 0; i < before.Length; i++)
                {
                    Assert.Equal(before[i] * coefficient, after[i], 1e-6 * Math.Abs(before[i]) + 1e-12);
                }
                Assert.True(GradientClipping.GlobalNorm(model.Parameters) <= t.maxNorm * (1 + 1e-5) || coefficient == 1.0);
            }).CheckSeeded();

    [Fact]
    public void ClipByGlobalNorm_NormExactlyAtThreshold_ScaledByMaxOverMaxPlusEpsilon()
    {
        TrainableModel model = Model();
        foreach (Parameter p in model.Parameters)
        {
            p.SetGradients(new float[p.Count]);
        }
        model.Parameters[0].SetGradients([3f, 4f, .. new float[model.Parameters[0].Count - 2]]); // norm 5
        float total = GradientClipping.ClipByGlobalNorm(model.Parameters, 5f);
        Assert.Equal(5f, total);
        float[] g = new float[model.Parameters[0].Count];
        model.Parameters[0].CopyGradientsTo(g);
        float coefficient = 5f / (5f + 1e-6f); // < 1, so PyTorch scales even at the threshold
        Assert.Equal(3f * coefficient, g[0]);
        Assert.Equal(4f * coefficient, g[1]);
    }

    [Fact]
    public void ClipByGlobalNorm_ZeroGradients_UnchangedAndNormZero()
    {
        TrainableModel model = Model();
        model.ZeroGradients();
        Assert.Equal(0f, GradientClipping.ClipByGlobalNorm(model.Parameters, 1f));
        Assert.All(Gradients(model), g => Assert.Equal(0f, g));
    }

    [Fact]
    public void ClipByGlobalNorm_SingleParameter_ScaledToMaxNorm()
    {
        TrainableModel model = Model();
        Parameter only = model.Parameters[^1];
        only.SetGradients([6f, 8f]); // norm 10
        Assert.Equal(10f, GradientClipping.ClipByGlobalNorm([only], 1f));
        float[] g = new float[2];
        only.CopyGradientsTo(g);
        Assert.Equal(0.6, g[0], 1e-6);
        Assert.Equal(0.8, g[1], 1e-6);
    }

    [Fact]
    public void ClipByGlobalNorm_InfiniteGradient_ReturnsInfinityOrThrowsWhenAsked()
    {
        TrainableModel model = Model();
        SetRandomGradients(model, new Random(3), 1);
        Parameter p = model.Parameters[1];
        float[] g = new float[p.Count];
        p.CopyGradientsTo(g);
        g[2] = float.PositiveInfinity;
        p.SetGradients(g);
        float[] before = Gradients(model);

        Assert.Throws<ArithmeticException>(() => GradientClipping.ClipByGlobalNorm(model.Parameters, 1f, errorIfNonFinite: true));
        Assert.Equal(before, Gradients(model)); // untouched when it throws

        // PyTorch's default: the norm is returned (∞) and the coefficient max/(∞) = 0 multiplies every gradient.
        Assert.Equal(float.PositiveInfinity, GradientClipping.ClipByGlobalNorm(model.Parameters, 1f));
        float[] after = Gradients(model);
        Assert.True(float.IsNaN(after[model.Parameters[0].Count + 2]), "∞ · 0 is NaN, as in PyTorch");
        Assert.Equal(0f, after[0]);
    }

    [Fact]
    public void ClipByValue_ClampsEveryGradientAndKeepsNaN()
    {
        TrainableModel model = Model();
        SetRandomGradients(model, new Random(5), 10);
        model.Parameters[0].SetGradients([float.NaN, .. new float[model.Parameters[0].Count - 1]]);
        GradientClipping.ClipByValue(model.Parameters, 0.5f);
        float[] g = Gradients(model);
        Assert.True(float.IsNaN(g[0]));
        Assert.All(g.Skip(1), v => Assert.InRange(v, -0.5f, 0.5f));
        Assert.Contains(g, v => v == 0.5f);
        Assert.Throws<ArgumentOutOfRangeException>(() => GradientClipping.ClipByValue(model.Parameters, -1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => GradientClipping.ClipByGlobalNorm(model.Parameters, 0f));
    }
}
