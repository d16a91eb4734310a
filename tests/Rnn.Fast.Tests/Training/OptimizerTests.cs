using Rnn.Fast.Training;

namespace Rnn.Fast.Tests.Training;

/// <summary>SGD and Adam against their PyTorch formulas written out in double, over several steps.</summary>
public sealed class OptimizerTests
{
    private static readonly float[][] s_gradients = [[0.5f, -2f, 0.25f], [0.1f, 0.3f, -0.7f], [-1f, 0f, 4f], [0.2f, -0.2f, 0.2f]];

    private static (TrainableModel Model, Parameter Bias) OneBias()
    {
        TrainableModel model = TrainableModel.From(RnnModel.CreateElman(2, 3, outputSize: 1, seed: 9));
        return (model, model.Parameters.Single(p => p.Name == "bias_ih_l0"));
    }

    private static void Run(Optimizer optimizer, TrainableModel model, Parameter p, Func<double[], double[], int, double[]> expectedStep)
    {
        double[] expected = [.. p.ToArray().Select(v => (double)v)];
        for (int step = 0; step < s_gradients.Length; step++)
        {
            model.ZeroGradients();
            p.SetGradients(s_gradients[step]);
            optimizer.Step();
            expected = expectedStep(expected, [.. s_gradients[step].Select(v => (double)v)], step + 1);
            float[] actual = p.ToArray();
            for (int i = 0; i < actual.Length; i++)
            {
                Assert.Equal(expected[i], actual[i], 1e-5);
            }
        }
    }

    [Theory]
    [InlineData(0f, 0f, false, 0f)]
    [InlineData(0.9f, 0f, false, 0f)]
    [InlineData(0.9f, 0.1f, false, 0.01f)]
    [InlineData(0.9f, 0f, true, 0.05f)]
    public void Sgd_Steps_MatchTorchFormula(float momentum, float dampening, bool nesterov, float weightDecay)
    {
        (TrainableModel model, Parameter p) = OneBias();
        const float lr = 0.1f;
        double[] buffer = new double[3];
        Run(new Sgd(model, lr, momentum, dampening, nesterov, weightDecay), model, p, (w, g, t) =>
        {
            var next = new double[w.Length];
            for (int i = 0; i < w.Length; i++)
            {
                double d = g[i] + weightDecay * w[i];
                if (momentum != 0)
                {
                    buffer[i] = t == 1 ? d : momentum * buffer[i] + (1 - dampening) * d;
                    d = nesterov ? d + momentum * buffer[i] : buffer[i];
                }
                next[i] = w[i] - lr * d;
            }
            return next;
        });
    }

    [Theory]
    [InlineData(1e-3f, 0f)]
    [InlineData(0.05f, 0.01f)]
    public void Adam_Steps_MatchTorchFormula(float lr, float weightDecay)
    {
        (TrainableModel model, Parameter p) = OneBias();
        double[] m = new double[3], v = new double[3];
        const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
        Run(new Adam(model, lr, weightDecay: weightDecay), model, p, (w, g, t) =>
        {
            var next = new double[w.Length];
            for (int i = 0; i < w.Length; i++)
            {
                double d = g[i] + weightDecay * w[i];
                m[i] = b1 * m[i] + (1 - b1) * d;
                v[i] = b2 * v[i] + (1 - b2) * d * d;
                double mHat = m[i] / (1 - Math.Pow(b1, t));
                double vHat = v[i] / (1 - Math.Pow(b2, t));
                next[i] = w[i] - lr * mHat / (Math.Sqrt(vHat) + eps);
            }
            return next;
        });
    }

    [Theory]
    [InlineData("adam")]
    [InlineData("sgd")]
    public void Optimizer_StateDecayingUnderZeroGradients_NeverSubnormal_EndsAtZero(string kind)
    {
        // One tiny gradient, then zeros: Adam's m (×0.9 per step) and v (×0.999) and SGD's momentum buffer (×0.9) decay
        // geometrically. From g = 1e-17 they cross 1.2e-38 within ~450 (m, momentum) and ~4,400 (v) steps; unflushed
        // they would then stay subnormal for ~150 and ~16,000 steps, each a microcode assist per multiply on x86.
        (TrainableModel model, Parameter p) = OneBias();
        Optimizer optimizer = kind == "adam" ? new Adam(model, learningRate: 1e-3f) : new Sgd(model, learningRate: 1e-3f, momentum: 0.9f);
        model.ZeroGradients();
        p.SetGradients([1e-17f, -3e-17f, 2e-17f]);
        optimizer.Step();
        model.ZeroGradients();
        for (int step = 0; step < 6000; step++)
        {
            optimizer.Step();
            foreach (float[] state in optimizer.StateArraysForTests)
            {
                // Not only never subnormal: 0 or at least 2^-120 (v's floor; m and momentum stop at 2^-63), so that the
                // products the next step forms from it are normal too.
                int at = Array.FindIndex(state, x => x != 0 && MathF.Abs(x) < MathF.ScaleB(1f, -120));
                Assert.True(at < 0, $"{kind}, zero-gradient step {step}: state [{at}] = {(at < 0 ? 0 : state[at]):R} is below 2^-120");
            }
        }
        Assert.All(optimizer.StateArraysForTests, state => Assert.True(state.All(x => x == 0), $"{kind}: the state should have decayed to 0"));
    }

    [Fact]
    public void Optimizer_Step_RefreshesTheModelItTrains()
    {
        (TrainableModel model, Parameter p) = OneBias();
        RnnModel before = model.ToModel();
        p.SetGradients([1f, 1f, 1f]);
        new Sgd(model, 0.5f).Step();
        RnnModel after = model.ToModel();
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(before.Layers[0].BiasIh[i] - 0.5f, after.Layers[0].BiasIh[i], 1e-6f);
        }
    }

    [Fact]
    public void Optimizers_BadCoefficients_Throw()
    {
        (TrainableModel model, _) = OneBias();
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd(model, 0f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd(model, 0.1f, momentum: 1f));
        Assert.Throws<ArgumentException>(() => new Sgd(model, 0.1f, nesterov: true));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(model, beta1: 1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(model, learningRate: float.NaN));
    }
}
