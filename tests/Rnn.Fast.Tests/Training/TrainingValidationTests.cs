using Rnn.Fast.Training;

namespace Rnn.Fast.Tests.Training;

/// <summary>Bad input to the training API gets clear exceptions.</summary>
public sealed class TrainingValidationTests
{
    private static readonly TrainableModel s_model = TrainableModel.From(RnnModel.CreateLstm(2, 3, outputSize: 2, seed: 1));

    [Fact]
    public void Forward_BadArguments_Throw()
    {
        TrainingWorkspace ws = s_model.CreateWorkspace(4, 2);
        Assert.Equal("inputs", Assert.Throws<ArgumentException>(() => s_model.Forward(new float[3 * 2 * 2 + 1], 3, ws)).ParamName);
        Assert.Equal("steps", Assert.Throws<ArgumentOutOfRangeException>(() => s_model.Forward(new float[5 * 2 * 2], 5, ws)).ParamName);
        TrainableModel other = TrainableModel.From(RnnModel.CreateLstm(2, 3, outputSize: 2, seed: 1));
        Assert.Equal("workspace", Assert.Throws<ArgumentException>(() => s_model.Forward(new float[4], 1, other.CreateWorkspace(1, 2))).ParamName);
    }

    [Fact]
    public void Backward_BeforeForwardOrWrongLength_Throws()
    {
        TrainingWorkspace ws = s_model.CreateWorkspace(4, 1);
        Assert.Throws<InvalidOperationException>(() => s_model.Backward(new float[2], ws));
        s_model.Forward(new float[2 * 2], 2, ws);
        Assert.Equal("outputGradient", Assert.Throws<ArgumentException>(() => s_model.Backward(new float[3], ws)).ParamName);
    }

    [Fact]
    public void Losses_BadTargetsOrMask_Throw()
    {
        float[] y = new float[4], dy = new float[4];
        Assert.Equal("classes", Assert.Throws<ArgumentException>(() => Loss.SoftmaxCrossEntropy(y, [0f, 2f], [], 2, dy)).ParamName);
        Assert.Equal("classes", Assert.Throws<ArgumentException>(() => Loss.SoftmaxCrossEntropy(y, [0f, 0.5f], [], 2, dy)).ParamName);
        Assert.Equal("mask", Assert.Throws<ArgumentException>(() => Loss.MeanSquaredError(y, y, [1f, -1f], 2, dy)).ParamName);
        Assert.Equal("targets", Assert.Throws<ArgumentException>(() => Loss.MeanSquaredError(y, new float[3], [], 2, dy)).ParamName);
        Assert.Equal(0f, Loss.MeanSquaredError(y, [1f, 1f, 1f, 1f], [0f, 0f], 2, dy));
        Assert.All(dy, v => Assert.Equal(0f, v));
    }

    [Fact]
    public void Trainer_CrossEntropyWithSquashingHead_Throws()
    {
        TrainableModel model = TrainableModel.From(RnnModel.CreateLstm(2, 3, outputSize: 2, headActivation: Activation.Sigmoid));
        Assert.Equal("loss", Assert.Throws<ArgumentException>(() => new Trainer(model, new Adam(model), LossFunction.SoftmaxCrossEntropy, 3)).ParamName);
    }

    [Fact]
    public void From_Bidirectional_NotSupported()
    {
        var random = new Random(1);
        RnnModel model = RnnModel.Create([LayerWeights.Random(CellType.Gru, 2, 3, random)], null, null,
            new RnnModelOptions { ReverseLayers = [LayerWeights.Random(CellType.Gru, 2, 3, random)] });
        Assert.Throws<NotSupportedException>(() => TrainableModel.From(model));
    }

    [Fact]
    public void Parameter_SetValuesNonFinite_Rejected()
    {
        Parameter p = TrainableModel.From(RnnModel.CreateElman(1, 2)).Parameters[0];
        Assert.Equal("source", Assert.Throws<ArgumentException>(() => p.SetValues([float.NaN, 0f])).ParamName);
    }
}
