using Rnn.Fast.Internals;

namespace Rnn.Fast.Tests.Internals.Kernels;

/// <summary>
/// The ops of <see cref="ElementwiseKernel"/> over every length in <see cref="OpCases.Lengths"/> (whole vectors, then
/// the scalar remainder), against double precision within the bounds of <see cref="ErrorBound"/>, with guard
/// sentinels around every buffer.
/// </summary>
[Trait("Category", "Kernel")]
public sealed class ElementwiseKernelOpTests
{
    private static readonly Activation[] s_activations = [Activation.Identity, Activation.Tanh, Activation.Relu, Activation.Sigmoid, Activation.Softmax];

    // Planted every seventh element (not in softmax inputs): signed zeros, infinities, NaN, subnormals, saturation
    // and the exp overflow and underflow edges, so the special values meet both the vector body and the tail.
    private static readonly float[] s_special =
        [0f, -0f, float.PositiveInfinity, float.NegativeInfinity, float.NaN, 1e-40f, -1e-40f, 100f, -100f, 88.7f, -103.9f, 9.5f];

    [Theory]
    [MemberData(nameof(OpKernels.All), MemberType = typeof(OpKernels))]
    public void Activate_EveryLengthAndActivation_WithinStatedUlp(string kernelName)
    {
        KernelUnderTest kernel = OpKernels.Get(kernelName);
        foreach (Activation activation in s_activations)
        {
            foreach (int n in OpCases.Lengths)
            {
                int seed = OpCases.Seed(nameof(ElementwiseKernel.Activate) + activation, n);
                string replay = OpCases.Replay(kernel, $"{nameof(ElementwiseKernel.Activate)}({activation})", seed, $"n={n}");
                float[] input = Inputs(new Random(seed), n, special: activation != Activation.Softmax);
                var values = Guarded.InOut(input);

                kernel.Elementwise.Activate(activation, values.Span);

                Approx[] expected = activation == Activation.Softmax
                    ? Softmax(input)
                    : [.. input.Select(x => CellReference.Activate(activation, Approx.Exact(x)))];
                for (int i = 0; i < n; i++)
                {
                    AssertFunctionValue(values[i], expected[i], activation.ToString(), input[i], i, replay);
                }
                values.AssertGuardsIntact("values", replay);
            }
        }
    }

    [Theory]
    [MemberData(nameof(OpKernels.All), MemberType = typeof(OpKernels))]
    public void Exp_EveryLength_WithinStatedUlp(string kernelName)
    {
        KernelUnderTest kernel = OpKernels.Get(kernelName);
        foreach (int n in OpCases.Lengths)
        {
            int seed = OpCases.Seed(nameof(ElementwiseKernel.Exp), n);
            string replay = OpCases.Replay(kernel, nameof(ElementwiseKernel.Exp), seed, $"n={n}");
            float[] input = Inputs(new Random(seed), n, special: true);
            var values = Guarded.InOut(input);

            kernel.Elementwise.Exp(values.Span);

            for (int i = 0; i < n; i++)
            {
                AssertFunctionValue(values[i], Approx.Exp(Approx.Exact(input[i])), "Exp", input[i], i, replay);
            }
            values.AssertGuardsIntact("values", replay);
        }
    }

    [Theory]
    [MemberData(nameof(OpKernels.All), MemberType = typeof(OpKernels))]
    public void ActivationBackward_EveryLengthAndActivation_WithinBoundOfReference(string kernelName)
    {
        KernelUnderTest kernel = OpKernels.Get(kernelName);
        foreach (Activation activation in s_activations)
        {
            foreach (int n in OpCases.Lengths)
            {
                int seed = OpCases.Seed(nameof(ElementwiseKernel.ActivationBackward) + activation, n);
                string replay = OpCases.Replay(kernel, $"{nameof(ElementwiseKernel.ActivationBackward)}({activation})", seed, $"n={n}");
                var random = new Random(seed);
                var y = new Guarded(Outputs(random, activation, n));
                var dy = new Guarded(OpCases.Uniform(random, n, 1));
                Guarded dx = Guarded.Output(n);

                kernel.Elementwise.ActivationBackward(activation, y.Span, dy.Span, dx.Span);

                Approx[] expected = ActivationBackward(activation, y.ToArray(), dy.ToArray());
                for (int i = 0; i < n; i++)
                {
                    OpCases.AssertWithin(dx[i], expected[i], $"dx[{i}] (y={y[i]:R}, dy={dy[i]:R})", replay);
                }
                y.AssertGuardsIntact("y", replay);
                dy.AssertGuardsIntact("dy", replay);
                dx.AssertGuardsIntact("dx", replay);
            }
        }
    }

    [Theory]
    [MemberData(nameof(OpKernels.All), MemberType = typeof(OpKernels))]
    public void MultiplyAdd_EveryLength_AddsAxToY(string kernelName)
    {
        KernelUnderTest kernel = OpKernels.Get(kernelName);
        foreach (int n in OpCases.Lengths)
        {
            int seed = OpCases.Seed(nameof(ElementwiseKernel.MultiplyAdd), n);
            var random = new Random(seed);
            float a = OpCases.Uniform(random, 2);
            string replay = OpCases.Replay(kernel, nameof(ElementwiseKernel.MultiplyAdd), seed, $"n={n} a={a:R}");
            var x = new Guarded(OpCases.Uniform(random, n, 1));
            var y = Guarded.InOut(OpCases.Uniform(random, n, 1));
            float[] y0 = y.ToArray();

            kernel.Elementwise.MultiplyAdd(a, x.Span, y.Span);

            for (int i = 0; i < n; i++)
            {
                OpCases.AssertWithin(y[i], Approx.Exact(a) * x[i] + y0[i], $"y[{i}]", replay);
            }
            x.AssertGuardsIntact("x", replay);
            y.AssertGuardsIntact("y", replay);
        }
    }

    [Theory]
    [MemberData(nameof(OpKernels.All), MemberType = typeof(OpKernels))]
    public void AccumulateRowSum_EveryWidthAndRowCount_AddsColumnSums(string kernelName)
    {
        KernelUnderTest kernel = OpKernels.Get(kernelName);
        for (int index = 0; index < OpCases.Lengths.Length; index++)
        {
            int width = OpCases.Lengths[index];
            foreach (int rows in (int[])[OpCases.Rows[index % OpCases.Rows.Length], 2 * index + 1])
            {
                // Integers make every order exact (see ProductKernelOpTests); floats are checked within γ_{rows+1}.
                foreach (bool integers in (bool[])[false, true])
                {
                    int seed = OpCases.Seed(nameof(ElementwiseKernel.AccumulateRowSum), width, rows, integers ? 1 : 0);
                    string replay = OpCases.Replay(kernel, nameof(ElementwiseKernel.AccumulateRowSum), seed, $"width={width} rows={rows} integers={integers}");
                    var random = new Random(seed);
                    Func<float> draw = integers ? () => random.Next(-9, 10) : () => OpCases.Uniform(random, 1);
                    var d = new Guarded([.. Enumerable.Range(0, rows * width).Select(_ => draw())]);
                    var sum = Guarded.InOut([.. Enumerable.Range(0, width).Select(_ => draw())]);
                    float[] sum0 = sum.ToArray();

                    kernel.Elementwise.AccumulateRowSum(d.Span, rows, sum.Span);

                    for (int j = 0; j < width; j++)
                    {
                        double value = sum0[j], magnitude = Math.Abs(value);
                        for (int r = 0; r < rows; r++)
                        {
                            value += d[r * width + j];
                            magnitude += Math.Abs(d[r * width + j]);
                        }
                        if (integers)
                        {
                            OpCases.AssertExactly((float)value, sum[j], $"sum[{j}] (integers: exact in any order)", replay);
                        }
                        else
                        {
                            OpCases.AssertWithin(sum[j], Approx.Sum(value, magnitude, rows + 1), $"sum[{j}]", replay);
                        }
                    }
                    d.AssertGuardsIntact("d", replay);
                    sum.AssertGuardsIntact("sum", replay);
                }
            }
        }
    }

    // Uniform in ±8 (every activation's interesting range); with special values planted every seventh element.
    private static float[] Inputs(Random random, int n, bool special)
    {
        float[] values = OpCases.Uniform(random, n, 8);
        if (special)
        {
            for (int i = 3; i < n; i += 7)
            {
                values[i] = s_special[(i / 7) % s_special.Length];
            }
        }
        return values;
    }

    // Outputs an activation can produce, including ReLU's exact zeros and a softmax row.
    private static float[] Outputs(Random random, Activation activation, int n)
    {
        double[] z = [.. Enumerable.Range(0, n).Select(_ => (double)OpCases.Uniform(random, 4))];
        double partition = z.Sum(Math.Exp);
        return activation switch
        {
            Activation.Identity => [.. z.Select(v => (float)v)],
            Activation.Tanh => [.. z.Select(v => (float)Math.Tanh(v))],
            Activation.Relu => [.. z.Select(v => (float)Math.Max(v, 0))],
            Activation.Sigmoid => [.. z.Select(v => (float)Approx.SigmoidOf(v))],
            _ => [.. z.Select(v => (float)(Math.Exp(v) / partition))],
        };
    }

    // Softmax as the kernel forms it: y_j = e^(x_j − max) · (1 / Σ_k e^(x_k − max)), the sum taken in order.
    private static Approx[] Softmax(float[] x)
    {
        if (x.Length == 0)
        {
            return [];
        }
        float max = x.Max();
        Approx[] e = [.. x.Select(v => Approx.Exp(Approx.Exact(v) - max))];
        Approx sum = Approx.Exact(0);
        foreach (Approx term in e)
        {
            sum += term;
        }
        Approx inverse = Approx.Reciprocal(sum);
        return [.. e.Select(term => term * inverse)];
    }

    // dx = dy ⊙ g'(z) from y = g(z): 1, 1 − y², [y > 0], y (1 − y); softmax: y_i (dy_i − Σ_j dy_j y_j).
    private static Approx[] ActivationBackward(Activation activation, float[] y, float[] dy)
    {
        var dx = new Approx[y.Length];
        Approx dot = Approx.Exact(0);
        for (int j = 0; j < y.Length && activation == Activation.Softmax; j++)
        {
            dot += Approx.Exact(dy[j]) * y[j];
        }
        for (int i = 0; i < y.Length; i++)
        {
            Approx yi = y[i], dyi = dy[i];
            dx[i] = activation switch
            {
                Activation.Identity => dyi,
                Activation.Tanh => dyi * (Approx.Exact(1) - yi * yi),
                Activation.Relu => Approx.Exact(y[i] > 0 ? dy[i] : 0),
                Activation.Sigmoid => dyi * (yi * (Approx.Exact(1) - yi)),
                _ => yi * (dyi - dot),
            };
        }
        return dx;
    }

    // NaN must stay NaN; a result beyond float's range (or an infinite input's limit) must be that value exactly;
    // everything else within the stated ulp bound.
    private static void AssertFunctionValue(float actual, Approx expected, string function, float input, int index, string replay)
    {
        float rounded = (float)expected.Value;
        if (double.IsNaN(expected.Value))
        {
            if (!float.IsNaN(actual))
            {
                Assert.Fail($"{function}({input:R}) at [{index}]: expected NaN, found {actual:R}; {replay}");
            }
        }
        else if (!float.IsFinite(rounded))
        {
            OpCases.AssertExactly(rounded, actual, $"{function}({input:R}) at [{index}]", replay);
        }
        else
        {
            OpCases.AssertWithin(actual, expected, $"{function}({input:R}) at [{index}]", replay);
        }
    }
}
