using Rnn.Fast.Training;

namespace Rnn.Fast.Tests.Training;

/// <summary>A training step allocates nothing after the first, for every kernel, loop and optimizer.</summary>
[Trait("Category", "Kernel")]
public sealed class TrainingAllocationTests
{
    public static TheoryData<string, CellType> Cases()
    {
        var data = new TheoryData<string, CellType>();
        foreach (string kernel in RnnKernels.Available)
        {
            foreach (CellType cell in Enum.GetValues<CellType>())
            {
                data.Add(kernel, cell);
            }
        }
        return data;
    }

    private static RnnModel Build(string kernel, CellType cell) =>
        new TrainingCase(cell, Activation.Tanh, 5, 19, 2, 3, Activation.Sigmoid, false, 1, 1, 0, 1).Build(kernel);

    [Theory]
    [MemberData(nameof(Cases))]
    public void TrainerStep_Warm_AllocatesNothing(string kernel, CellType cell)
    {
        TrainableModel model = TrainableModel.From(Build(kernel, cell));
        const int steps = 20, batch = 4;
        var trainer = new Trainer(model, new Adam(model), LossFunction.MeanSquaredError, steps, batch) { MaxGradientNorm = 1f, ClipValue = 5f };
        float[] x = NetworkCase.Uniform(new Random(1), steps * batch * 5, 1f), y = NetworkCase.Uniform(new Random(2), steps * batch * 3, 1f);
        trainer.Step(x, steps, y);
        trainer.Step(x, steps, y);

        Assert.Equal(0, AllocationMeter.MinBytesPerWindow(() => trainer.Step(x, steps, y), calls: 20));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void TruncatedBpttStep_Warm_AllocatesNothing(string kernel, CellType cell)
    {
        TrainableModel model = TrainableModel.From(Build(kernel, cell));
        var trainer = new TruncatedBpttTrainer(model, new Sgd(model, 0.01f, momentum: 0.9f), LossFunction.MeanSquaredError, k1: 5, k2: 12, batch: 2);
        float[] x = NetworkCase.Uniform(new Random(1), 5 * 2 * 5, 1f), y = NetworkCase.Uniform(new Random(2), 5 * 2 * 3, 1f);
        for (int i = 0; i < 4; i++)
        {
            trainer.Step(x, y);
        }

        Assert.Equal(0, AllocationMeter.MinBytesPerWindow(() => trainer.Step(x, y), calls: 20));
    }
}
