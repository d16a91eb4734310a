using System.Globalization;
using FsCheck;
using FsCheck.Fluent;
using Rnn.Fast.Reference;
using Xunit.Abstractions;

namespace Rnn.Fast.Tests;

/// <summary>
/// One step of the fast model from a random state against the reference, value by value, within the
/// rigorous forward error bound of <see cref="ReferenceStepBound"/> (derivation: docs/tolerances.md).
/// Whole sequences (<see cref="ModelPropertyTests"/>) keep their loose end-to-end tolerance; a single step
/// has no excuse, so a wrong lane or a weight off by 1e-4 shows here.
/// </summary>
[Trait("Category", "Kernel")]
public sealed class StepBoundTests(ITestOutputHelper output)
{
    [Theory]
    [MemberData(nameof(KernelData.Available), MemberType = typeof(KernelData))]
    public void Step_RandomStates_WithinTheForwardErrorBound(string kernel) =>
        CheckAll(NetworkCase.Arbitrary(withHead: false), kernel);

    [Theory]
    [MemberData(nameof(KernelData.Available), MemberType = typeof(KernelData))]
    public void Step_RandomStatesWithHead_WithinTheForwardErrorBound(string kernel) =>
        CheckAll(NetworkCase.Arbitrary(withHead: true), kernel);

    [Theory]
    [MemberData(nameof(KernelData.Available), MemberType = typeof(KernelData))]
    public void Run_OneStepBidirectional_WithinTheForwardErrorBound(string kernel) =>
        CheckAll(NetworkCase.Arbitrary(withHead: true, bidirectional: true), kernel);

    [Theory]
    [MemberData(nameof(Precision.PrecisionModelTests.KernelsAndPrecisions), MemberType = typeof(Precision.PrecisionModelTests))]
    public void Step_ReducedPrecision_WithinTheForwardErrorBound(string kernel, WeightPrecision precision) =>
        CheckAll(NetworkCase.Arbitrary(withHead: true), kernel, precision, maxTest: 60);

    [Theory]
    [MemberData(nameof(Precision.PrecisionModelTests.KernelsAndPrecisions), MemberType = typeof(Precision.PrecisionModelTests))]
    public void Run_OneStepBidirectionalReducedPrecision_WithinTheForwardErrorBound(string kernel, WeightPrecision precision) =>
        CheckAll(NetworkCase.Arbitrary(withHead: true, bidirectional: true), kernel, precision, maxTest: 30);

    /// <summary>
    /// The int8 step bound still sees one quantum: the reference on the dequantized weights with one weight moved by one
    /// step of its row's scale (what a wrong q, a wrong lane or a dropped scale would do) is out of bounds.
    /// </summary>
    [Theory]
    [InlineData(CellType.Lstm)]
    [InlineData(CellType.Gru)]
    [InlineData(CellType.Elman)]
    public void Step_Int8OneQuantumOff_FailsTheStepBound(CellType cell)
    {
        var c = new NetworkCase(cell, Activation.Tanh, 12, 40, 1, 0, Activation.Identity, 1, 1, 1f, Seed: 21);
        RnnModel model = c.Build(RnnKernels.Available[0]).WithPrecision(WeightPrecision.Int8, ReducedProducts.Always);
        var random = new Random(3);
        var reference = new ReferenceModel(model);
        ReferenceState start = RandomReferenceState(reference, random);
        float[] x = [.. Enumerable.Range(0, 12).Select(_ => (float)(random.NextDouble() * 2 - 1))];
        double correct = WorstRatio(model, start, x, ReferenceStepBound.Step(reference, x, start, WeightPrecision.Int8), out _);

        LayerWeights l = model.Layers[0];
        float[] whh = l.WeightHh.ToArray();
        int row = (cell == CellType.Elman ? 0 : 2 * 40) + 7; // the candidate gate (g, n) or h itself: its tanh is least saturated
        float step = whh.AsSpan(row * 40, 40).ToArray().Max(MathF.Abs) / 127;
        int column = Enumerable.Range(0, 40).MaxBy(j => Math.Abs(start.H[0][j]));
        whh[row * 40 + column] += step;
        LayerWeights moved = cell switch
        {
            CellType.Lstm => LayerWeights.Lstm(12, 40, l.WeightIh.ToArray(), whh, l.BiasIh.ToArray(), l.BiasHh.ToArray()),
            CellType.Gru => LayerWeights.Gru(12, 40, l.WeightIh.ToArray(), whh, l.BiasIh.ToArray(), l.BiasHh.ToArray()),
            _ => LayerWeights.Elman(12, 40, Activation.Tanh, l.WeightIh.ToArray(), whh, l.BiasIh.ToArray(), l.BiasHh.ToArray()),
        };
        var wrongReference = new ReferenceModel([moved], null);
        double wrong = WorstRatio(model, start, x, ReferenceStepBound.Step(wrongReference, x, start, WeightPrecision.Int8), out _);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{cell} int8: error / step bound {correct:0.000} correct, {wrong:0.00} one quantum off"));
        Assert.True(correct <= 1, $"the correct int8 model exceeds its bound ({correct})");
        Assert.True(wrong > 1, $"one quantum went unnoticed by the int8 step bound ({wrong})");
    }

    // Every case must stay within its bound; the worst ratio is printed, to show how much of the bound is used.
    private void CheckAll(Arbitrary<NetworkCase> cases, string kernel, WeightPrecision precision = WeightPrecision.Float32, int maxTest = 100)
    {
        double worst = 0;
        Prop.ForAll(cases, c => worst = Math.Max(worst, CheckOneStep(c, kernel, precision))).CheckSeeded(maxTest);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{kernel} {precision}: worst error / step bound {worst:0.000}"));
    }

    [Fact]
    public void Step_BoundCompanion_ComputesTheReferenceValues()
    {
        var c = new NetworkCase(CellType.Lstm, Activation.Tanh, 5, 7, 2, 3, Activation.Softmax, 1, 1, 1f, 42);
        RnnModel model = c.Build(RnnKernels.Default);
        var reference = new ReferenceModel(model);
        ReferenceState state = RandomReferenceState(reference, new Random(3));
        float[] x = c.Inputs();
        StepBounds bounds = ReferenceStepBound.Step(reference, x, state);
        double[] y = reference.Step(x, state);
        Assert.Equal(y, bounds.Output.Value);
        Assert.Equal(state.H[1], bounds.Hidden[1].Value);
        Assert.Equal(state.C[1], bounds.Cell[1]!.Value);
    }

    /// <summary>
    /// The bound is tight enough to catch a subtly broken kernel: a fresh model with one weight changed by
    /// a relative 1e-4 (the weight with the largest |w·x| in the row that feeds h'_0) fails the per-step
    /// check, while the whole-sequence tolerance of <see cref="NetworkCase.Tolerance"/> lets it pass.
    /// </summary>
    [Theory]
    [InlineData(CellType.Elman)]
    [InlineData(CellType.Lstm)]
    [InlineData(CellType.Gru)]
    public void Step_OneWeightOffBy1e4_FailsTheStepBoundButNotTheSequenceTolerance(CellType cell)
    {
        const int Size = 8;
        var random = new Random(7);
        LayerWeights layer = LayerWeights.Random(cell, Size, Size, random);
        float[] x = NetworkCase.Uniform(random, Size, 2f);

        // The row that feeds h'_0 most directly: Elman's only gate, LSTM's g, GRU's n (its x part).
        int row = cell == CellType.Elman ? 0 : 2 * Size;
        float[] broken = layer.WeightIh.ToArray();
        int column = Enumerable.Range(0, Size).MaxBy(j => Math.Abs(broken[row * Size + j] * x[j]));
        broken[row * Size + column] *= 1 + 1e-4f;
        LayerWeights brokenLayer = cell switch
        {
            CellType.Lstm => LayerWeights.Lstm(Size, Size, broken, layer.WeightHh, layer.BiasIh, layer.BiasHh),
            CellType.Gru => LayerWeights.Gru(Size, Size, broken, layer.WeightHh, layer.BiasIh, layer.BiasHh),
            _ => LayerWeights.Elman(Size, Size, layer.Nonlinearity, broken, layer.WeightHh, layer.BiasIh, layer.BiasHh),
        };

        var reference = new ReferenceModel([layer], head: null);
        ReferenceState start = RandomReferenceState(reference, random);
        StepBounds bounds = ReferenceStepBound.Step(reference, x, start);
        var sequenceCase = new NetworkCase(cell, layer.Nonlinearity, Size, Size, Layers: 1, Output: 0, Activation.Identity,
            Steps: 1, Batch: 1, WeightScale: 1f, Seed: 0);

        foreach (string kernel in RnnKernels.Available)
        {
            double correct = WorstRatio(RnnModel.Create([layer], kernel: kernel), start, x, bounds, out _);
            double wrong = WorstRatio(RnnModel.Create([brokenLayer], kernel: kernel), start, x, bounds, out double[] errors);
            double sequence = Enumerable.Range(0, errors.Length).Max(i => errors[i] / sequenceCase.Tolerance(bounds.Output.Value[i]));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{cell} {kernel}: error / step bound {correct:0.000} correct, {wrong:0.00} with W_ih[{row},{column}] off by 1e-4; error / sequence tolerance {sequence:0.000}"));
            Assert.True(correct <= 1, $"{kernel}: the correct model exceeds its bound ({correct})");
            Assert.True(wrong > 1, $"{kernel}: the broken weight went unnoticed by the step bound ({wrong})");
            Assert.True(sequence <= 1, $"{kernel}: the whole-sequence tolerance already catches it ({sequence})");
        }
    }

    /// <summary>One step (Step, and Run over one step) of every stream from a random state; returns the worst error / bound.</summary>
    private static double CheckOneStep(NetworkCase c, string kernel, WeightPrecision precision = WeightPrecision.Float32)
    {
        RnnModel model = c.Build(kernel).WithPrecision(precision, ReducedProducts.Always);
        var reference = new ReferenceModel(model);
        var random = new Random(unchecked(c.Seed * 17 + 1));
        ReferenceState[] starts = [.. Enumerable.Range(0, c.Batch).Select(_ => RandomReferenceState(reference, random))];
        float[] inputs = c.Inputs().AsSpan(0, c.Batch * model.InputSize).ToArray();
        StepBounds[] bounds = [.. Enumerable.Range(0, c.Batch).Select(b =>
            ReferenceStepBound.Step(reference, inputs.AsSpan(b * model.InputSize, model.InputSize), starts[b], precision))];

        double worst = 0;
        foreach (bool viaRun in model.IsBidirectional ? new[] { true } : [false, true])
        {
            RnnState state = model.CreateState(c.Batch);
            for (int b = 0; b < c.Batch; b++)
            {
                SetState(state, b, starts[b]);
            }
            var y = new float[c.Batch * model.OutputSize];
            if (viaRun)
            {
                model.Run(inputs, 1, state, y);
            }
            else
            {
                model.Step(inputs, state, y);
            }
            string path = viaRun ? "Run(steps: 1)" : "Step";
            for (int b = 0; b < c.Batch; b++)
            {
                worst = Math.Max(worst, Compare(state, b, y.AsSpan(b * model.OutputSize, model.OutputSize), bounds[b], out string where));
                if (worst > 1)
                {
                    Assert.Fail($"{kernel} {path}, stream {b}: {where} exceeds the step bound for {c}");
                }
            }
        }
        return worst;
    }

    private static double WorstRatio(RnnModel model, ReferenceState start, float[] x, StepBounds bounds, out double[] outputErrors)
    {
        RnnState state = model.CreateState();
        SetState(state, 0, start);
        var y = new float[model.OutputSize];
        model.Step(x, state, y);
        outputErrors = [.. y.Select((v, i) => Math.Abs(v - bounds.Output.Value[i]))];
        return Compare(state, 0, y, bounds, out _);
    }

    /// <summary>The worst |fast − reference| / bound over y and every h', c' of stream b.</summary>
    private static double Compare(RnnState state, int b, ReadOnlySpan<float> y, StepBounds bounds, out string where)
    {
        double worst = 0;
        string worstPlace = "nothing compared";
        void Check(ReadOnlySpan<float> fast, BoundedVector expected, string what)
        {
            for (int i = 0; i < fast.Length; i++)
            {
                double error = Math.Abs(fast[i] - expected.Value[i]);
                double ratio = double.IsNaN(error) ? double.PositiveInfinity : error / expected.Bound[i];
                if (ratio > worst || worstPlace == "nothing compared")
                {
                    worst = Math.Max(worst, ratio);
                    worstPlace = string.Create(CultureInfo.InvariantCulture,
                        $"{what}[{i}] = {fast[i]:R}, reference {expected.Value[i]:R}, error {error:E2}, bound {expected.Bound[i]:E2}");
                }
            }
        }
        Check(y, bounds.Output, "y");
        for (int l = 0; l < bounds.Hidden.Count; l++)
        {
            Check(state.Hidden(l, b), bounds.Hidden[l], $"h'[layer {l}]");
            if (bounds.Cell[l] is { } c)
            {
                Check(state.Cell(l, b), c, $"c'[layer {l}]");
            }
        }
        for (int l = 0; l < bounds.ReverseHidden.Count; l++)
        {
            Check(state.Hidden(l, b, reverse: true), bounds.ReverseHidden[l], $"reverse h'[layer {l}]");
            if (bounds.ReverseCell[l] is { } c)
            {
                Check(state.Cell(l, b, reverse: true), c, $"reverse c'[layer {l}]");
            }
        }
        where = worstPlace;
        return worst;
    }

    /// <summary>A random float state: h in ±1, c in ±2, for every layer and direction.</summary>
    private static ReferenceState RandomReferenceState(ReferenceModel reference, Random random)
    {
        ReferenceState state = reference.CreateState();
        foreach ((double[][] h, double[]?[] c) in new[] { (state.H, state.C), (state.ReverseH, state.ReverseC) })
        {
            for (int l = 0; l < h.Length; l++)
            {
                Fill(random, h[l], 1f);
                if (c[l] is { } cell)
                {
                    Fill(random, cell, 2f);
                }
            }
        }
        return state;
    }

    private static void Fill(Random random, double[] values, float bound)
    {
        float[] drawn = NetworkCase.Uniform(random, values.Length, bound);
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = drawn[i];
        }
    }

    private static void SetState(RnnState state, int b, ReferenceState start)
    {
        for (int l = 0; l < start.H.Length; l++)
        {
            Copy(start.H[l], state.Hidden(l, b));
            if (start.C[l] is { } c)
            {
                Copy(c, state.Cell(l, b));
            }
            if (state.Model.IsBidirectional)
            {
                Copy(start.ReverseH[l], state.Hidden(l, b, reverse: true));
                if (start.ReverseC[l] is { } rc)
                {
                    Copy(rc, state.Cell(l, b, reverse: true));
                }
            }
        }
    }

    private static void Copy(double[] source, Span<float> destination)
    {
        for (int i = 0; i < source.Length; i++)
        {
            destination[i] = (float)source[i];
        }
    }
}
