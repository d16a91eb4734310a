using Rnn.Fast.Baselines;

namespace Rnn.Fast.Tests.Baselines;

/// <summary>
/// The benchmarks' baselines compute what Rnn.Fast computes, for the same PyTorch-layout weights: ONNX
/// Runtime's LSTM/GRU/RNN node (gate order i, o, f, c and z, r, h; biases [Wb; Rb]; GRU with linear_before_reset) per step and per sequence with the
/// final h and c, the TensorPrimitives cell, and the naive loops. Checked before any timing is believed.
/// </summary>
[Trait("Category", "Baselines")]
public sealed class BaselineAgreementTests
{
    // Loose enough for fp32 with different summation orders and activations; far below any layout error.
    private const float Tolerance = 2e-5f;

    public static TheoryData<CellType, int, int, int> Shapes => new()
    {
        { CellType.Lstm, 1, 1, 1 },
        { CellType.Lstm, 1, 16, 1 },
        { CellType.Lstm, 5, 7, 3 },
        { CellType.Lstm, 33, 33, 2 },
        { CellType.Elman, 1, 8, 1 },
        { CellType.Elman, 5, 7, 3 },
        { CellType.Elman, 33, 33, 2 },
        { CellType.Gru, 1, 8, 1 },
        { CellType.Gru, 5, 7, 3 },
        { CellType.Gru, 33, 33, 2 },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void OnnxRuntime_Run_MatchesRnnFastOutputsAndFinalState(CellType cell, int input, int hidden, int batch)
    {
        const int T = 12;
        RnnModel model = Create(cell, input, hidden);
        float[] inputs = Inputs(T * batch * input, seed: 3);
        var expected = new float[T * batch * hidden];
        RnnState state = model.CreateState(batch);
        model.Run(inputs, T, state, expected);

        using var onnx = new OnnxRnnRunner(model.Layers[0], steps: T, batch: batch);
        var actual = new float[expected.Length];
        onnx.Run(inputs, actual);

        AssertClose(expected, actual, "Y");
        for (int b = 0; b < batch; b++)
        {
            AssertClose(state.Hidden(0, b), onnx.Hidden.Slice(b * hidden, hidden), $"Y_h of stream {b}");
            if (cell == CellType.Lstm)
            {
                AssertClose(state.Cell(0, b), onnx.Cell.Slice(b * hidden, hidden), $"Y_c of stream {b}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void OnnxRuntime_Step_CarriesStateLikeRnnFast(CellType cell, int input, int hidden, int batch)
    {
        _ = batch;
        RnnModel model = Create(cell, input, hidden);
        RnnState state = model.CreateState();
        using var onnx = new OnnxRnnRunner(model.Layers[0]);
        // The TensorPrimitives baseline has no GRU: it steps an LSTM of the same shape, checked against its own model.
        RnnModel tpModel = cell == CellType.Gru ? Create(CellType.Lstm, input, hidden) : model;
        RnnState tpState = tpModel.CreateState();
        var tensorPrimitives = new TensorPrimitivesRnn(tpModel.Layers[0]);
        var tpExpected = new float[hidden];
        float[] inputs = Inputs(20 * input, seed: 4);
        var expected = new float[hidden];
        var actual = new float[hidden];
        var tp = new float[hidden];
        for (int t = 0; t < 20; t++)
        {
            ReadOnlySpan<float> x = inputs.AsSpan(t * input, input);
            model.Step(x, state, expected);
            onnx.Step(x, actual);
            tpModel.Step(x, tpState, tpExpected);
            tensorPrimitives.Step(x, tp);
            AssertClose(expected, actual, $"ONNX Runtime step {t}");
            AssertClose(tpExpected, tp, $"TensorPrimitives step {t}");
        }
        AssertClose(state.Hidden(0), onnx.Hidden, "final h");
        if (cell == CellType.Lstm)
        {
            AssertClose(state.Cell(0), onnx.Cell, "final c");
            AssertClose(state.Cell(0), tensorPrimitives.Cell(), "final c (TensorPrimitives)");
        }
    }

    [Theory]
    [InlineData(8)]
    [InlineData(32)]
    public void AudioShape_WithHead_AllBaselinesMatch(int hidden)
    {
        RnnModel model = RnnModel.CreateLstm(inputSize: 1, hiddenSize: hidden, outputSize: 1, seed: 5);
        RnnState state = model.CreateState();
        using var onnx = new OnnxRnnRunner(model.Layers[0], model.Head);
        var tensorPrimitives = new TensorPrimitivesRnn(model.Layers[0], model.Head);
        var naive = new NaiveLstm(model.Layers[0], model.Head);
        float[] inputs = Inputs(50, seed: 6);
        float[] expected = new float[1], a = new float[1], b = new float[1], c = new float[1];
        for (int t = 0; t < inputs.Length; t++)
        {
            ReadOnlySpan<float> x = inputs.AsSpan(t, 1);
            model.Step(x, state, expected);
            onnx.Step(x, a);
            tensorPrimitives.Step(x, b);
            naive.Step(x, c);
            AssertClose(expected, a, $"ONNX Runtime step {t}");
            AssertClose(expected, b, $"TensorPrimitives step {t}");
            AssertClose(expected, c, $"naive step {t}");
        }
    }

    [Fact]
    public void TensorPrimitives_Run_MatchesRnnFastBatchedSequence()
    {
        const int T = 10, B = 3, I = 4, H = 9;
        RnnModel model = RnnModel.CreateLstm(I, H, seed: 7);
        float[] inputs = Inputs(T * B * I, seed: 8);
        float[] expected = new float[T * B * H], actual = new float[T * B * H];
        model.Run(inputs, T, model.CreateState(B), expected);
        new TensorPrimitivesRnn(model.Layers[0], batch: B).Run(inputs, T, actual);
        AssertClose(expected, actual, "Y");
    }

    private static RnnModel Create(CellType cell, int input, int hidden) => cell switch
    {
        CellType.Lstm => RnnModel.CreateLstm(input, hidden, seed: input * 100 + hidden),
        CellType.Gru => RnnModel.CreateGru(input, hidden, seed: input * 100 + hidden),
        _ => RnnModel.CreateElman(input, hidden, Activation.Tanh, seed: input * 100 + hidden),
    };

    private static float[] Inputs(int count, int seed)
    {
        var random = new Random(seed);
        var values = new float[count];
        for (int i = 0; i < count; i++)
        {
            values[i] = (float)(random.NextDouble() * 2 - 1);
        }
        return values;
    }

    private static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            float tolerance = Tolerance * (1 + Math.Abs(expected[i]));
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance, $"{what}[{i}]: expected {expected[i]}, got {actual[i]}");
        }
    }
}
