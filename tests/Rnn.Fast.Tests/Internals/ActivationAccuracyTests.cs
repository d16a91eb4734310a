using Rnn.Fast.Internals;
using Rnn.Fast.Reference;
using Xunit.Abstractions;

namespace Rnn.Fast.Tests.Internals;

/// <summary>
/// The vectorised exp, tanh and sigmoid against double precision over the whole float range, per kernel.
/// The ulp bounds asserted here are the ones stated in the XML docs of <see cref="Activation"/>.
/// </summary>
[Trait("Category", "Kernel")]
public sealed class ActivationAccuracyTests(ITestOutputHelper output)
{
    private const double ExpMaxUlp = 2;
    private const double TanhMaxUlp = 3;
    private const double SigmoidMaxUlp = 3;

    // Every 4093rd bit pattern (a prime stride, so all exponents and many mantissas are visited),
    // plus the special values and the edges where each function changes method.
    private static float[] Sweep()
    {
        var values = new List<float>();
        for (long bits = 0; bits <= uint.MaxValue; bits += 4093)
        {
            values.Add(BitConverter.Int32BitsToSingle((int)(uint)bits));
        }
        values.AddRange([
            0f, -0f, float.Epsilon, -float.Epsilon, float.MinValue, float.MaxValue, float.PositiveInfinity,
            float.NegativeInfinity, float.NaN, 1e-40f, -1e-40f, 0.5f, -0.5f, MathF.BitDecrement(0.5f), MathF.BitIncrement(0.5f),
            88.72283f, 88.7229f, 89f, -87.33655f, -103.9f, -103.98f, -104f, 44f, 9f, -9f, 1f, -1f, 20f, -20f,
        ]);
        return [.. values];
    }

    public static double UlpError(float actual, double expected)
    {
        float rounded = (float)expected;
        if (double.IsNaN(expected))
        {
            return float.IsNaN(actual) ? 0 : double.PositiveInfinity;
        }
        if (float.IsInfinity(rounded) || float.IsInfinity(actual))
        {
            return actual == rounded ? 0 : double.PositiveInfinity;
        }
        float magnitude = MathF.Abs(rounded);
        double ulp = magnitude == float.MaxValue ? magnitude - MathF.BitDecrement(magnitude) : MathF.BitIncrement(magnitude) - magnitude;
        return Math.Abs(actual - expected) / ulp;
    }

    private (double MaxUlp, float WorstInput) Measure(string kernelName, Func<RnnKernel, Span<float>, int> apply, Func<double, double> exact)
    {
        RnnKernel kernel = KernelRegistry.Get(kernelName);
        float[] inputs = Sweep();
        float[] values = (float[])inputs.Clone();
        apply(kernel, values);
        double worst = 0;
        float worstInput = 0;
        for (int i = 0; i < inputs.Length; i++)
        {
            double error = UlpError(values[i], exact(inputs[i]));
            if (error > worst)
            {
                worst = error;
                worstInput = inputs[i];
            }
        }
        output.WriteLine($"{kernelName}: max error {worst:F2} ulp at x = {worstInput:R}");
        return (worst, worstInput);
    }

    [Theory]
    [MemberData(nameof(KernelData.Available), MemberType = typeof(KernelData))]
    public void Exp_WholeFloatRange_WithinStatedUlp(string kernel)
    {
        var (worst, at) = Measure(kernel, (k, v) => { k.Elementwise.Exp(v); return 0; }, Math.Exp);
        Assert.True(worst <= ExpMaxUlp, $"exp error {worst} ulp at {at:R}");
    }

    [Theory]
    [MemberData(nameof(KernelData.Available), MemberType = typeof(KernelData))]
    public void Tanh_WholeFloatRange_WithinStatedUlp(string kernel)
    {
        var (worst, at) = Measure(kernel, (k, v) => { k.Elementwise.Activate(Activation.Tanh, v); return 0; }, Math.Tanh);
        Assert.True(worst <= TanhMaxUlp, $"tanh error {worst} ulp at {at:R}");
    }

    [Theory]
    [MemberData(nameof(KernelData.Available), MemberType = typeof(KernelData))]
    public void Sigmoid_WholeFloatRange_WithinStatedUlp(string kernel)
    {
        var (worst, at) = Measure(kernel, (k, v) => { k.Elementwise.Activate(Activation.Sigmoid, v); return 0; }, ReferenceMath.Sigmoid);
        Assert.True(worst <= SigmoidMaxUlp, $"sigmoid error {worst} ulp at {at:R}");
    }

    [Theory]
    [MemberData(nameof(KernelData.Available), MemberType = typeof(KernelData))]
    public void Activations_SpecialValues_ExactLimits(string kernelName)
    {
        RnnKernel kernel = KernelRegistry.Get(kernelName);
        float[] x = [0f, -0f, float.PositiveInfinity, float.NegativeInfinity, float.NaN, 1e30f, -1e30f, float.Epsilon];

        float[] tanh = Apply(kernel, Activation.Tanh, x);
        Assert.Equal([0f, -0f, 1f, -1f], tanh[..4]);
        Assert.True(float.IsNegative(tanh[1]), "tanh(-0) must be -0");
        Assert.True(float.IsNaN(tanh[4]));
        Assert.Equal([1f, -1f, float.Epsilon], tanh[5..]);

        float[] sigmoid = Apply(kernel, Activation.Sigmoid, x);
        Assert.Equal([0.5f, 0.5f, 1f, 0f], sigmoid[..4]);
        Assert.True(float.IsNaN(sigmoid[4]));
        Assert.Equal([1f, 0f, 0.5f], sigmoid[5..]);

        float[] relu = Apply(kernel, Activation.Relu, x);
        Assert.Equal([0f, 0f, float.PositiveInfinity, 0f], relu[..4]);
        Assert.True(float.IsNaN(relu[4]), "ReLU must keep NaN");
        Assert.Equal([1e30f, 0f, float.Epsilon], relu[5..]);

        float[] exp = (float[])x.Clone();
        kernel.Elementwise.Exp(exp);
        Assert.Equal([1f, 1f, float.PositiveInfinity, 0f], exp[..4]);
        Assert.True(float.IsNaN(exp[4]));
        Assert.Equal([float.PositiveInfinity, 0f, 1f], exp[5..]);
    }

    [Theory]
    [MemberData(nameof(KernelData.Available), MemberType = typeof(KernelData))]
    public void Softmax_LargeLogits_NoOverflowAndSumsToOne(string kernelName)
    {
        RnnKernel kernel = KernelRegistry.Get(kernelName);
        for (int n = 1; n <= 37; n++)
        {
            float[] logits = [.. Enumerable.Range(0, n).Select(i => 80f + 7f * i)];
            double[] expected = [.. logits.Select(v => (double)v)];
            ReferenceMath.Apply(Activation.Softmax, expected);
            kernel.Elementwise.Activate(Activation.Softmax, logits);
            Assert.All(logits, v => Assert.True(float.IsFinite(v)));
            for (int i = 0; i < n; i++)
            {
                Assert.True(Math.Abs(logits[i] - expected[i]) <= 1e-6 + 1e-5 * expected[i], $"n={n} i={i}: {logits[i]} vs {expected[i]}");
            }
        }
    }

    private static float[] Apply(RnnKernel kernel, Activation activation, float[] x)
    {
        float[] values = (float[])x.Clone();
        kernel.Elementwise.Activate(activation, values);
        return values;
    }
}
