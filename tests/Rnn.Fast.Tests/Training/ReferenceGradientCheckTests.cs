using System.Text;
using FsCheck;
using FsCheck.Fluent;
using Rnn.Fast.Reference;

namespace Rnn.Fast.Tests.Training;

/// <summary>
/// The reference backward pass (<see cref="ReferenceBptt"/>) against central finite differences of its own
/// forward loss, entry by entry, for every parameter, input and initial state; plus edge cases and a check
/// that its forward pass and loss agree with <see cref="ReferenceModel"/>, so the two references cannot drift.
/// </summary>
[Trait("Category", "Training")]
public sealed class ReferenceGradientCheckTests
{
    // Central difference step: truncation error ~ step² · L''' ≈ 1e-12, rounding ~ ε · L / step ≈ 1e-10.
    private const double Step = 1e-6;
    private const double AbsoluteTolerance = 1e-6;
    private const double RelativeTolerance = 1e-5;

    // ReLU's derivative jumps at 0; a pre-activation this close to 0 could cross it under the FD step.
    private const double ReluMargin = 1e-4;

    // The finite-difference properties are cheap (a few ms a case), so they draw more cases than the default 100.
    private const int ManyCases = 300;

    [Fact]
    public void Compute_MeanSquaredError_MatchesFiniteDifferences() =>
        Prop.ForAll(GradientCase.Arbitrary(LossKind.MeanSquaredError), CheckFiniteDifferences).CheckSeeded(ManyCases);

    [Fact]
    public void Compute_SoftmaxCrossEntropy_MatchesFiniteDifferences() =>
        Prop.ForAll(GradientCase.Arbitrary(LossKind.SoftmaxCrossEntropy), CheckFiniteDifferences).CheckSeeded(ManyCases);

    [Fact]
    public void Compute_ZeroMask_GivesZeroLossAndGradients() =>
        Prop.ForAll(GradientCase.Arbitrary(LossKind.MeanSquaredError), GradientCase.Arbitrary(LossKind.SoftmaxCrossEntropy), (mse, ce) =>
        {
            foreach (GradientCase c in new[] { mse, ce })
            {
                Problem problem = c.Build();
                var p = new ReferenceParameters(problem.Layers, problem.Head);
                var mask = new float[c.Steps * c.Batch];
                ReferenceGradients g = ReferenceBptt.Compute(p, problem.Inputs, c.Steps, c.Batch, problem.H0, problem.C0, c.Loss, problem.Targets, mask);
                Assert.Equal(0.0, g.Loss);
                Assert.Equal(0.0, ReferenceBptt.Loss(p, ToDouble(problem.Inputs), c.Steps, c.Batch, problem.H0, problem.C0, c.Loss, problem.Targets, mask));
                foreach ((string name, double[] values) in AllGradients(g))
                {
                    Assert.True(values.All(v => v == 0), $"{name} is not all zeros for {c}");
                }
            }
        }).CheckSeeded();

    [Theory]
    [InlineData(Activation.Tanh)]
    [InlineData(Activation.Sigmoid)]
    [InlineData(Activation.Relu)]
    [InlineData(Activation.Softmax)]
    public void Compute_CrossEntropyWithNonIdentityHead_Throws(Activation activation)
    {
        GradientCase c = new(CellType.Lstm, Activation.Tanh, 1, 2, 3, 4, activation, 2, 2, LossKind.SoftmaxCrossEntropy, MaskKind.All, 7);
        Problem problem = c.Build();
        var p = new ReferenceParameters(problem.Layers, problem.Head);
        Assert.Throws<ArgumentException>(() =>
            ReferenceBptt.Compute(p, problem.Inputs, c.Steps, c.Batch, null, null, c.Loss, problem.Targets, problem.Mask));
        Assert.Throws<ArgumentException>(() =>
            ReferenceBptt.Loss(p, ToDouble(problem.Inputs), c.Steps, c.Batch, null, null, c.Loss, problem.Targets, problem.Mask));
    }

    [Fact]
    public void Compute_ElmanAndLstm_BiasIhGradientEqualsBiasHh() =>
        Prop.ForAll(GradientCase.Arbitrary(LossKind.MeanSquaredError, CellType.Elman, CellType.Lstm), c =>
        {
            ReferenceGradients g = Compute(c, out _);
            for (int l = 0; l < c.Layers; l++)
            {
                Assert.Equal(g.BiasIh[l], g.BiasHh[l]);
            }
        }).CheckSeeded();

    [Fact]
    public void Compute_Gru_BiasHhDiffersOnlyInTheNRows() =>
        Prop.ForAll(GradientCase.Arbitrary(LossKind.MeanSquaredError, CellType.Gru), c =>
        {
            ReferenceGradients g = Compute(c, out _);
            int n = c.Hidden;
            for (int l = 0; l < c.Layers; l++)
            {
                // r and z rows: the pre-activation is x* + h*, so both biases get the same gradient.
                Assert.Equal(g.BiasIh[l].AsSpan(0, 2 * n).ToArray(), g.BiasHh[l].AsSpan(0, 2 * n).ToArray());
                // n rows: b_hn is scaled by r, so dL/db_hn = r ⊙ dL/db_in per step (equal only if everything is 0).
                for (int j = 0; j < n; j++)
                {
                    double bin = g.BiasIh[l][2 * n + j], bhn = g.BiasHh[l][2 * n + j];
                    Assert.True(bin == 0 || bhn != bin, $"bias_hh n-row {j} of layer {l} equals bias_ih ({bin}) for {c}");
                }
            }
        }).CheckSeeded();

    [Fact]
    public void Forward_MatchesReferenceModelRun() =>
        Prop.ForAll(GradientCase.Arbitrary(LossKind.MeanSquaredError), c =>
        {
            Problem problem = c.Build();
            var p = new ReferenceParameters(problem.Layers, problem.Head);
            ReferenceTrace trace = ReferenceBptt.Forward(p, ToDouble(problem.Inputs), c.Steps, c.Batch, problem.H0, problem.C0);

            var model = new ReferenceModel(problem.Layers, problem.Head);
            ReferenceState[] states = ModelStates(c, model, problem);
            double[] expected = model.Run(problem.Inputs, c.Steps, states);

            AssertAlmostEqual(expected, trace.Outputs, "outputs", c);
            for (int l = 0; l < c.Layers; l++)
            {
                AssertAlmostEqual([.. states.SelectMany(s => s.H[l])], trace.FinalHidden[l], $"h_n of layer {l}", c);
                if (problem.Layers[l].Cell == CellType.Lstm)
                {
                    AssertAlmostEqual([.. states.SelectMany(s => s.C[l]!)], trace.FinalCell[l]!, $"c_n of layer {l}", c);
                }
            }
        }).CheckSeeded();

    [Fact]
    public void Loss_MatchesFormulaOnReferenceModelOutputs() =>
        Prop.ForAll(GradientCase.Arbitrary(LossKind.MeanSquaredError), GradientCase.Arbitrary(LossKind.SoftmaxCrossEntropy), (mse, ce) =>
        {
            foreach (GradientCase c in new[] { mse, ce })
            {
                Problem problem = c.Build();
                var model = new ReferenceModel(problem.Layers, problem.Head);
                double[] y = model.Run(problem.Inputs, c.Steps, ModelStates(c, model, problem));
                double expected = LossByDefinition(c, y, problem.Targets, problem.Mask);

                var p = new ReferenceParameters(problem.Layers, problem.Head);
                double actual = ReferenceBptt.Loss(p, ToDouble(problem.Inputs), c.Steps, c.Batch, problem.H0, problem.C0, c.Loss, problem.Targets, problem.Mask);
                Assert.True(Math.Abs(actual - expected) <= 1e-12 * (1 + Math.Abs(expected)), $"loss {actual:R} != {expected:R} for {c}");
                Assert.Equal(actual, ReferenceBptt.Compute(p, problem.Inputs, c.Steps, c.Batch, problem.H0, problem.C0, c.Loss, problem.Targets, problem.Mask).Loss);
            }
        }).CheckSeeded();

    [Fact]
    public void Compute_OneLinearElmanUnit_MatchesHandDerivedGradients()
    {
        // h = w x + u h0 + b_ih + b_hh, y = h, L = (y − target)²: every gradient by hand.
        LayerWeights layer = LayerWeights.Elman(1, 1, Activation.Identity, [0.5f], [-0.25f], [0.125f], [0.375f]);
        var p = new ReferenceParameters([layer], null);
        double x = 2, h0 = -1, target = 0.25;
        double y = 0.5 * x + -0.25 * h0 + 0.125 + 0.375; // 1.75
        double dy = 2 * (y - target);                    // 3

        ReferenceGradients g = ReferenceBptt.Compute(p, [(float)x], 1, 1, [[h0]], null, LossKind.MeanSquaredError, [(float)target], [1f]);

        Assert.Equal((y - target) * (y - target), g.Loss, 15);
        Assert.Equal(dy * x, g.WeightIh[0][0], 15);
        Assert.Equal(dy * h0, g.WeightHh[0][0], 15);
        Assert.Equal(dy, g.BiasIh[0][0], 15);
        Assert.Equal(dy, g.BiasHh[0][0], 15);
        Assert.Equal(dy * 0.5, g.Inputs[0], 15);
        Assert.Equal(dy * -0.25, g.InitialHidden[0][0], 15);
        Assert.Null(g.InitialCell[0]);
    }

    [Fact]
    public void Compute_ReluAtExactlyZero_HasZeroDerivative()
    {
        // pre = 0 exactly: PyTorch takes ReLU'(0) = 0, so nothing flows back.
        LayerWeights layer = LayerWeights.Elman(1, 1, Activation.Relu, [1f], [0f], [0f], [0f]);
        var p = new ReferenceParameters([layer], null);
        ReferenceGradients g = ReferenceBptt.Compute(p, [0f], 1, 1, null, null, LossKind.MeanSquaredError, [1f], [1f]);
        Assert.Equal(1.0, g.Loss);
        Assert.Equal(0.0, g.WeightIh[0][0]);
        Assert.Equal(0.0, g.BiasIh[0][0]);
        Assert.Equal(0.0, g.Inputs[0]);
    }

    [Fact]
    public void Tensors_NamesAndShapesMatchParameters()
    {
        GradientCase c = new(CellType.Gru, Activation.Tanh, 2, 3, 4, 2, Activation.Identity, 2, 1, LossKind.MeanSquaredError, MaskKind.All, 1);
        ReferenceGradients g = Compute(c, out ReferenceParameters p);
        (string Name, int Length)[] expected =
        [
            ("weight_ih_l0", 12 * 3), ("weight_hh_l0", 12 * 4), ("bias_ih_l0", 12), ("bias_hh_l0", 12),
            ("weight_ih_l1", 12 * 4), ("weight_hh_l1", 12 * 4), ("bias_ih_l1", 12), ("bias_hh_l1", 12),
            ("head.weight", 2 * 4), ("head.bias", 2),
        ];
        Assert.Equal(expected, p.Tensors().Select(t => (t.Name, t.Values.Length)));
        Assert.Equal(expected, g.Tensors().Select(t => (t.Name, t.Values.Length)));
    }

    [Fact]
    public void Compute_BadShapes_Throw()
    {
        GradientCase c = new(CellType.Lstm, Activation.Tanh, 1, 2, 3, 0, Activation.Identity, 2, 2, LossKind.MeanSquaredError, MaskKind.All, 3);
        Problem pr = c.Build();
        var p = new ReferenceParameters(pr.Layers, pr.Head);
        void Run(float[] inputs, double[][]? h0, double[]?[]? c0, LossKind loss, float[] targets, float[] mask) =>
            ReferenceBptt.Compute(p, inputs, c.Steps, c.Batch, h0, c0, loss, targets, mask);

        Assert.Throws<ArgumentException>(() => Run(pr.Inputs[1..], null, null, c.Loss, pr.Targets, pr.Mask));
        Assert.Throws<ArgumentException>(() => Run(pr.Inputs, [new double[5]], null, c.Loss, pr.Targets, pr.Mask));
        Assert.Throws<ArgumentException>(() => Run(pr.Inputs, null, [new double[5]], c.Loss, pr.Targets, pr.Mask));
        Assert.Throws<ArgumentException>(() => Run(pr.Inputs, null, null, c.Loss, pr.Targets[1..], pr.Mask));
        Assert.Throws<ArgumentException>(() => Run(pr.Inputs, null, null, c.Loss, pr.Targets, pr.Mask[1..]));
        Assert.Throws<ArgumentException>(() => Run(pr.Inputs, null, null, c.Loss, pr.Targets, [1, -1, 1, 1]));
        // Cross-entropy: [T, B] class indices in 0..O−1 (O = H = 3 here, no head).
        Assert.Throws<ArgumentException>(() => Run(pr.Inputs, null, null, LossKind.SoftmaxCrossEntropy, [0, 1, 2, 3], pr.Mask));
        Assert.Throws<ArgumentException>(() => Run(pr.Inputs, null, null, LossKind.SoftmaxCrossEntropy, [0, 1, 2, 0.5f], pr.Mask));
        // ...but an unweighted step may hold anything (padding).
        Run(pr.Inputs, null, null, LossKind.SoftmaxCrossEntropy, [0, 1, 2, -1], [1, 1, 1, 0]);

        // c0 for a non-LSTM layer is an error.
        GradientCase gru = c with { Cell = CellType.Gru };
        Problem pg = gru.Build();
        var pGru = new ReferenceParameters(pg.Layers, pg.Head);
        Assert.Throws<ArgumentException>(() =>
            ReferenceBptt.Compute(pGru, pg.Inputs, c.Steps, c.Batch, null, [new double[6]], c.Loss, pg.Targets, pg.Mask));
    }

    private static void CheckFiniteDifferences(GradientCase c)
    {
        Problem problem = c.Build();
        var p = new ReferenceParameters(problem.Layers, problem.Head);
        double[] inputs = ToDouble(problem.Inputs);
        double[][] h0 = problem.H0;
        double[]?[] c0 = problem.C0;
        if (ReferenceBptt.Forward(p, inputs, c.Steps, c.Batch, h0, c0).ClosestReluKink < ReluMargin)
        {
            return; // too close to ReLU's kink for finite differences to mean anything
        }

        ReferenceGradients g = ReferenceBptt.Compute(p, problem.Inputs, c.Steps, c.Batch, h0, c0, c.Loss, problem.Targets, problem.Mask);
        double Loss() => ReferenceBptt.Loss(p, inputs, c.Steps, c.Batch, h0, c0, c.Loss, problem.Targets, problem.Mask);
        Assert.Equal(Loss(), g.Loss);

        // Pair each analytic gradient with the array whose entries it differentiates.
        var pairs = new List<(string Name, double[] Values, double[] Gradient)>();
        pairs.AddRange(p.Tensors().Zip(g.Tensors(), (v, d) => (v.Name, v.Values, d.Values)));
        pairs.Add(("inputs", inputs, g.Inputs));
        for (int l = 0; l < c.Layers; l++)
        {
            pairs.Add(($"h0_l{l}", h0[l], g.InitialHidden[l]));
            if (c0[l] is { } cl)
            {
                pairs.Add(($"c0_l{l}", cl, g.InitialCell[l]!));
            }
        }

        var failures = new StringBuilder();
        int count = 0;
        foreach ((string name, double[] values, double[] gradient) in pairs)
        {
            Assert.Equal(values.Length, gradient.Length);
            for (int k = 0; k < values.Length; k++)
            {
                double saved = values[k];
                values[k] = saved + Step;
                double plus = Loss();
                values[k] = saved - Step;
                double minus = Loss();
                values[k] = saved;
                double numeric = (plus - minus) / (2 * Step);
                double tolerance = AbsoluteTolerance + RelativeTolerance * Math.Max(Math.Abs(numeric), Math.Abs(gradient[k]));
                if (!(Math.Abs(numeric - gradient[k]) <= tolerance) && count++ < 10)
                {
                    failures.AppendLine($"  {name}[{k}]: analytic {gradient[k]:R}, finite difference {numeric:R}");
                }
            }
        }
        if (count > 0)
        {
            Assert.Fail($"{count} gradient entries differ from finite differences for {c}:\n{failures}");
        }
    }

    private static ReferenceGradients Compute(GradientCase c, out ReferenceParameters p)
    {
        Problem problem = c.Build();
        p = new ReferenceParameters(problem.Layers, problem.Head);
        return ReferenceBptt.Compute(p, problem.Inputs, c.Steps, c.Batch, problem.H0, problem.C0, c.Loss, problem.Targets, problem.Mask);
    }

    /// <summary>ReferenceModel states per stream, starting from the case's h0/c0.</summary>
    private static ReferenceState[] ModelStates(GradientCase c, ReferenceModel model, Problem problem)
    {
        var states = new ReferenceState[c.Batch];
        for (int b = 0; b < c.Batch; b++)
        {
            states[b] = new ReferenceState(model.Layers);
            for (int l = 0; l < c.Layers; l++)
            {
                problem.H0[l].AsSpan(b * c.Hidden, c.Hidden).CopyTo(states[b].H[l]);
                if (problem.C0[l] is { } c0)
                {
                    c0.AsSpan(b * c.Hidden, c.Hidden).CopyTo(states[b].C[l]);
                }
            }
        }
        return states;
    }

    /// <summary>The losses written out again from <see cref="LossKind"/>'s definitions, on ReferenceModel's outputs.</summary>
    private static double LossByDefinition(GradientCase c, double[] y, float[] targets, float[] mask)
    {
        int o = c.OutputSize;
        double total = mask.Sum(m => (double)m);
        if (total == 0)
        {
            return 0;
        }
        double sum = 0;
        for (int row = 0; row < c.Steps * c.Batch; row++)
        {
            if (c.Loss == LossKind.MeanSquaredError)
            {
                for (int k = 0; k < o; k++)
                {
                    double e = y[row * o + k] - targets[row * o + k];
                    sum += mask[row] * e * e;
                }
            }
            else
            {
                double[] softmax = y.AsSpan(row * o, o).ToArray();
                ReferenceMath.Apply(Activation.Softmax, softmax);
                sum += mask[row] * -Math.Log(softmax[(int)targets[row]]);
            }
        }
        return c.Loss == LossKind.MeanSquaredError ? sum / (total * o) : sum / total;
    }

    private static IEnumerable<(string Name, double[] Values)> AllGradients(ReferenceGradients g)
    {
        foreach ((string Name, double[] Values) tensor in g.Tensors())
        {
            yield return tensor;
        }
        yield return ("inputs", g.Inputs);
        for (int l = 0; l < g.InitialHidden.Length; l++)
        {
            yield return ($"h0_l{l}", g.InitialHidden[l]);
            if (g.InitialCell[l] is { } dc0)
            {
                yield return ($"c0_l{l}", dc0);
            }
        }
    }

    private static void AssertAlmostEqual(double[] expected, double[] actual, string what, GradientCase c)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-12 * (1 + Math.Abs(expected[i])),
                $"{what}[{i}]: ReferenceBptt {actual[i]:R}, ReferenceModel {expected[i]:R} for {c}");
        }
    }

    private static double[] ToDouble(float[] values) => [.. values.Select(v => (double)v)];
}
