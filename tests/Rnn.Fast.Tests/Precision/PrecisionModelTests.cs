using FsCheck;
using FsCheck.Fluent;
using Rnn.Fast.Reference;

namespace Rnn.Fast.Tests.Precision;

/// <summary>
/// bf16 and int8 models, end to end, on every kernel: <c>Step</c> and <c>Run</c> against the double-precision reference
/// run on the dequantized weights (<see cref="RnnModel.Layers"/> of the reduced model), random networks from fixed seeds.
/// </summary>
[Trait("Category", "Kernel")]
public sealed class PrecisionModelTests
{
    public static TheoryData<string, WeightPrecision> KernelsAndPrecisions()
    {
        var data = new TheoryData<string, WeightPrecision>();
        foreach (string kernel in RnnKernels.Available)
        {
            data.Add(kernel, WeightPrecision.BFloat16);
            data.Add(kernel, WeightPrecision.Int8);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(KernelsAndPrecisions))]
    public void Run_RandomSequencesWithHead_MatchesReferenceOnDequantizedWeights(string kernel, WeightPrecision precision) =>
        Prop.ForAll(NetworkCase.Arbitrary(withHead: true), c => CheckSequence(c, kernel, precision)).CheckSeeded(maxTest: 40);

    [Theory]
    [MemberData(nameof(KernelsAndPrecisions))]
    public void Run_RandomBidirectional_MatchesReferenceOnDequantizedWeights(string kernel, WeightPrecision precision) =>
        Prop.ForAll(NetworkCase.Arbitrary(withHead: false, bidirectional: true), c => CheckSequence(c, kernel, precision)).CheckSeeded(maxTest: 25);

    [Theory]
    [MemberData(nameof(KernelsAndPrecisions))]
    public void Step_RandomNetworks_EqualsRun(string kernel, WeightPrecision precision) =>
        Prop.ForAll(NetworkCase.Arbitrary(withHead: true), c =>
        {
            RnnModel model = c.Build(kernel).WithPrecision(precision, ReducedProducts.Always);
            float[] inputs = c.Inputs();
            var run = new float[c.Steps * c.Batch * model.OutputSize];
            model.Run(inputs, c.Steps, model.CreateState(c.Batch), run);
            RnnState state = model.CreateState(c.Batch);
            var y = new float[c.Batch * model.OutputSize];
            for (int t = 0; t < c.Steps; t++)
            {
                model.Step(inputs.AsSpan(t * c.Batch * c.Input, c.Batch * c.Input), state, y);
                Assert.Equal(run.AsSpan(t * y.Length, y.Length).ToArray(), y); // the same products in the same order
            }
        }).CheckSeeded(maxTest: 40);

    /// <summary>
    /// The end-to-end tolerance of float32 kernels, plus for int8 the int16 rounding of the activations: at most
    /// (max|x| / 65534) · Σ_j |W_rj| per product, with max|x| ≤ 2 (inputs) and |W| ≤ scale/√H, through every layer and step.
    /// </summary>
    internal static double Tolerance(NetworkCase c, WeightPrecision precision, double expected)
    {
        double tolerance = c.Tolerance(expected);
        if (precision == WeightPrecision.Int8)
        {
            int directions = c.Bidirectional ? 2 : 1;
            double rowSum = (c.Input + directions * c.Hidden + 2) * c.WeightScale / Math.Sqrt(c.Hidden);
            tolerance += 2.0 / 65534 * rowSum * 4 * c.Layers * (1 + c.WeightScale) * Math.Sqrt(c.Steps);
        }
        return tolerance;
    }

    private static void CheckSequence(NetworkCase c, string kernel, WeightPrecision precision)
    {
        RnnModel model = c.Build(kernel).WithPrecision(precision, ReducedProducts.Always);
        Assert.Equal(precision, model.Precision);
        var reference = new ReferenceModel(model);
        float[] inputs = c.Inputs();
        var y = new float[c.Steps * c.Batch * model.OutputSize];
        model.Run(inputs, c.Steps, model.CreateState(c.Batch), y);
        double[] expected = reference.Run(inputs, c.Steps, NetworkCase.ReferenceStates(model, c.Batch));
        for (int i = 0; i < y.Length; i++)
        {
            double tolerance = Tolerance(c, precision, expected[i]);
            Assert.True(Math.Abs(y[i] - expected[i]) <= tolerance,
                $"{kernel} {precision} {c}: output {i} is {y[i]}, reference {expected[i]}, tolerance {tolerance:G3}");
        }
    }
}
