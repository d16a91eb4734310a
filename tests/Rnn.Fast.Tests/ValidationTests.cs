namespace Rnn.Fast.Tests;

/// <summary>Bad input gets an ArgumentException naming the argument and the expected shape, and changes nothing.</summary>
public sealed class ValidationTests
{
    private static readonly RnnModel s_model = RnnModel.CreateLstm(3, 5, outputSize: 2, seed: 7);

    [Fact]
    public void Step_InputWrongLength_NamesArgumentAndShape()
    {
        RnnState state = s_model.CreateState();
        var ex = Assert.Throws<ArgumentException>(() => s_model.Step(new float[4], state, new float[2]));
        Assert.Equal("input", ex.ParamName);
        Assert.Contains("Expected length 3", ex.Message);
        Assert.Contains("input size 3", ex.Message);
    }

    [Fact]
    public void Step_OutputWrongLength_NamesArgumentAndShape()
    {
        RnnState state = s_model.CreateState(2);
        var ex = Assert.Throws<ArgumentException>(() => s_model.Step(new float[6], state, new float[2]));
        Assert.Equal("output", ex.ParamName);
        Assert.Contains("Expected length 4 (output [batch 2, output size 2])", ex.Message);
    }

    [Fact]
    public void Step_StateOfAnotherModel_Rejected()
    {
        RnnModel other = RnnModel.CreateLstm(3, 5, outputSize: 2, seed: 7);
        var ex = Assert.Throws<ArgumentException>(() => s_model.Step(new float[3], other.CreateState(), new float[2]));
        Assert.Equal("state", ex.ParamName);
    }

    [Fact]
    public void Run_WrongLengths_NamesArgumentAndLeavesStateUntouched()
    {
        RnnState state = s_model.CreateState();
        state.Hidden(0).Fill(0.5f);
        state.Cell(0).Fill(-0.25f);

        var inputs = Assert.Throws<ArgumentException>(() => s_model.Run(new float[3 * 4 + 1], 4, state, new float[8]));
        Assert.Equal("inputs", inputs.ParamName);
        Assert.Contains("inputs [steps 4, batch 1, input size 3]", inputs.Message);
        var outputs = Assert.Throws<ArgumentException>(() => s_model.Run(new float[12], 4, state, new float[7]));
        Assert.Equal("outputs", outputs.ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => s_model.Run([], -1, state, []));

        Assert.All(state.Hidden(0).ToArray(), v => Assert.Equal(0.5f, v));
        Assert.All(state.Cell(0).ToArray(), v => Assert.Equal(-0.25f, v));
    }

    [Fact]
    public void Step_RejectedCall_LeavesStateUntouched()
    {
        RnnState state = s_model.CreateState();
        s_model.Step([1f, 2f, 3f], state, new float[2]);
        float[] h = state.Hidden(0).ToArray(), c = state.Cell(0).ToArray();
        Assert.Throws<ArgumentException>(() => s_model.Step([1f, 2f, 3f], state, new float[3]));
        Assert.Equal(h, state.Hidden(0).ToArray());
        Assert.Equal(c, state.Cell(0).ToArray());
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(float.NegativeInfinity)]
    public void LayerWeights_NonFiniteWeight_NamesArgumentAndElement(float bad)
    {
        float[] wih = new float[4 * 2 * 3];
        wih[5] = bad;
        var ex = Assert.Throws<ArgumentException>(() => LayerWeights.Lstm(3, 2, wih, new float[16], [], []));
        Assert.Equal("weightIh", ex.ParamName);
        Assert.Contains("Element 5", ex.Message);

        float[] bias = new float[8];
        bias[7] = bad;
        Assert.Equal("biasHh", Assert.Throws<ArgumentException>(() => LayerWeights.Lstm(3, 2, new float[24], new float[16], [], bias)).ParamName);
        Assert.Equal("weight", Assert.Throws<ArgumentException>(() => new HeadWeights(2, 1, [1f, bad], [])).ParamName);
    }

    [Fact]
    public void LayerWeights_WrongShapes_NameArgumentAndPyTorchShape()
    {
        var ex = Assert.Throws<ArgumentException>(() => LayerWeights.Lstm(3, 2, new float[23], new float[16], [], []));
        Assert.Equal("weightIh", ex.ParamName);
        Assert.Contains("[8, 3]", ex.Message);
        Assert.Equal("weightHh", Assert.Throws<ArgumentException>(() => LayerWeights.Elman(3, 2, Activation.Tanh, new float[6], new float[5], [], [])).ParamName);
        Assert.Equal("biasIh", Assert.Throws<ArgumentException>(() => LayerWeights.Elman(3, 2, Activation.Tanh, new float[6], new float[4], new float[3], [])).ParamName);
        Assert.Equal("nonlinearity", Assert.Throws<ArgumentException>(() => LayerWeights.Elman(3, 2, Activation.Softmax, new float[6], new float[4], [], [])).ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => LayerWeights.Lstm(3, 0, [], [], [], []));
    }

    [Fact]
    public void Create_MismatchedLayerSizes_Rejected()
    {
        var random = new Random(1);
        LayerWeights first = LayerWeights.Random(CellType.Lstm, 3, 4, random);
        LayerWeights second = LayerWeights.Random(CellType.Elman, 5, 4, random);
        var ex = Assert.Throws<ArgumentException>(() => RnnModel.Create([first, second]));
        Assert.Equal("layers", ex.ParamName);
        Assert.Contains("Layer 1 takes 5 inputs but layer 0 produces 4", ex.Message);

        var head = HeadWeights.Random(3, 1, random);
        Assert.Equal("head", Assert.Throws<ArgumentException>(() => RnnModel.Create([first], head)).ParamName);
        Assert.Equal("layers", Assert.Throws<ArgumentException>(() => RnnModel.Create([])).ParamName);
    }

    [Fact]
    public void Create_UnknownKernel_ListsKnownKernels()
    {
        var ex = Assert.Throws<ArgumentException>(() => RnnModel.CreateLstm(1, 1, kernel: "Avx9000"));
        Assert.Contains("Scalar", ex.Message);
    }

    [Fact]
    public void State_OutOfRangeLayerOrStream_Throws()
    {
        RnnState state = s_model.CreateState(2);
        Assert.Throws<ArgumentOutOfRangeException>(() => state.Hidden(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => state.Hidden(0, 2));
        RnnModel elman = RnnModel.CreateElman(2, 2);
        Assert.Throws<InvalidOperationException>(() => elman.CreateState().Cell(0));
    }

    // Issue 12, item 7: size products that overflow int are refused, naming the argument, before any span is checked.
    [Theory]
    [InlineData(CellType.Lstm, 32768, 32768, "hiddenSize")]
    [InlineData(CellType.Elman, 65536, 65536, "hiddenSize")]
    [InlineData(CellType.Gru, 65536, 30000, "hiddenSize")]
    [InlineData(CellType.Elman, 1 << 30, 4, "inputSize")]
    [InlineData(CellType.Lstm, int.MaxValue, 1, "inputSize")]
    public void LayerWeights_SizeProductOverflowsInt_ArgumentExceptionNamesTheArgument(CellType cell, int inputSize, int hiddenSize, string argument)
    {
        var ex = Assert.Throws<ArgumentException>(() => cell switch
        {
            CellType.Lstm => LayerWeights.Lstm(inputSize, hiddenSize, [], [], [], []),
            CellType.Gru => LayerWeights.Gru(inputSize, hiddenSize, [], [], [], []),
            _ => LayerWeights.Elman(inputSize, hiddenSize, Activation.Tanh, [], [], [], []),
        });
        Assert.Equal(argument, ex.ParamName);
        Assert.Contains("more than an array holds", ex.Message);
        Assert.Equal(argument, Assert.Throws<ArgumentException>(() => LayerWeights.Random(cell, inputSize, hiddenSize, new Random(1))).ParamName);
    }

    [Fact]
    public void HeadWeights_SizeProductOverflowsInt_ArgumentExceptionNamesTheArgument()
    {
        var ex = Assert.Throws<ArgumentException>(() => new HeadWeights(65536, 65536, [], []));
        Assert.Equal("outputSize", ex.ParamName);
        Assert.Contains("[65536, 65536]", ex.Message);
        Assert.Equal("outputSize", Assert.Throws<ArgumentException>(() => HeadWeights.Random(65536, 65536, new Random(1))).ParamName);
    }

    // Issue 12, item 25: parameters counted as PyTorch counts them, biases only where the layer has them.
    [Fact]
    public void LayerWeights_WithoutBias_ParameterCountAsPyTorch()
    {
        Assert.Equal(288, LayerWeights.Gru(2, 8, new float[48], new float[192], new float[24], new float[24]).ParameterCount);
        LayerWeights noBias = LayerWeights.Gru(2, 8, new float[48], new float[192], [], []);
        Assert.Equal(240, noBias.ParameterCount);
        Assert.False(noBias.HasBiasIh);
        Assert.Equal(new float[24], noBias.BiasIh.ToArray());
        Assert.Equal(12, new HeadWeights(4, 3, new float[12], []).ParameterCount);
        Assert.Equal(15, new HeadWeights(4, 3, new float[12], new float[3]).ParameterCount);
    }
}
