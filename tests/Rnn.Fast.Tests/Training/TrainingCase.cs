using FsCheck;
using FsCheck.Fluent;
using Rnn.Fast.Reference;
using Rnn.Fast.Training;

namespace Rnn.Fast.Tests.Training;

/// <summary>A random small training problem: network, inputs, targets, mask and initial state.</summary>
public sealed record TrainingCase(CellType Cell, Activation Nonlinearity, int Input, int Hidden, int Layers, int Output,
    Activation HeadActivation, bool CrossEntropy, int Steps, int Batch, int MaskKind, int Seed)
{
    public static Arbitrary<TrainingCase> Arbitrary() =>
        (from cell in Gen.Elements(CellType.Elman, CellType.Lstm, CellType.Gru)
         from nonlinearity in Gen.Elements(Activation.Tanh, Activation.Relu, Activation.Sigmoid)
         from input in NetworkCase.Size(1).Where(s => s <= 40)
         from hidden in NetworkCase.Size(1).Where(s => s <= 40)
         from layers in Gen.Frequency((3, Gen.Constant(1)), (1, Gen.Constant(2)))
         from output in Gen.Choose(0, 5)
         from head in Gen.Elements(Activation.Identity, Activation.Tanh, Activation.Sigmoid, Activation.Softmax)
         from crossEntropy in Gen.Elements(false, true)
         from steps in Gen.Choose(1, 9)
         from batch in Gen.Choose(1, 3)
         from maskKind in Gen.Choose(0, 2)
         from seed in Gen.Choose(0, int.MaxValue)
         select new TrainingCase(cell, nonlinearity, input, hidden, layers, crossEntropy ? Math.Max(output, 2) : output,
             crossEntropy ? Activation.Identity : head, crossEntropy, steps, batch, maskKind, seed))
        .ToArbitrary();

    public int OutputSize => Output > 0 ? Output : Hidden;
    public LossFunction Loss => CrossEntropy ? LossFunction.SoftmaxCrossEntropy : LossFunction.MeanSquaredError;
    public LossKind ReferenceLoss => CrossEntropy ? LossKind.SoftmaxCrossEntropy : LossKind.MeanSquaredError;

    public RnnModel Build(string kernel)
    {
        var random = new Random(Seed);
        var layers = new LayerWeights[Layers];
        for (int l = 0; l < Layers; l++)
        {
            layers[l] = LayerWeights.Random(Cell, l == 0 ? Input : Hidden, Hidden, random, Nonlinearity);
        }
        HeadWeights? head = Output > 0 ? HeadWeights.Random(Hidden, Output, random, HeadActivation) : null;
        return RnnModel.Create(layers, head, kernel);
    }

    public float[] Inputs() => NetworkCase.Uniform(new Random(Seed + 1), Steps * Batch * Input, 1.5f);

    public float[] Targets()
    {
        var random = new Random(Seed + 2);
        return CrossEntropy
            ? [.. Enumerable.Range(0, Steps * Batch).Select(_ => (float)random.Next(OutputSize))]
            : NetworkCase.Uniform(random, Steps * Batch * OutputSize, 1f);
    }

    /// <summary>0: every step; 1: only the last step; 2: random 0/1 weights.</summary>
    public float[] Mask()
    {
        var random = new Random(Seed + 3);
        return [.. Enumerable.Range(0, Steps * Batch).Select(r => MaskKind switch
        {
            0 => 1f,
            1 => r / Batch == Steps - 1 ? 1f : 0f,
            _ => random.Next(2),
        })];
    }

    /// <summary>Random initial h (and c) per layer, <c>[layer][B*H]</c>.</summary>
    public (double[][] H0, double[]?[] C0) InitialState()
    {
        var random = new Random(Seed + 4);
        double[][] h0 = [.. Enumerable.Range(0, Layers).Select(_ => Enumerable.Range(0, Batch * Hidden).Select(_ => random.NextDouble() - 0.5).ToArray())];
        double[]?[] c0 = [.. Enumerable.Range(0, Layers).Select(_ => Cell == CellType.Lstm
            ? Enumerable.Range(0, Batch * Hidden).Select(_ => random.NextDouble() - 0.5).ToArray() : null)];
        return (h0, c0);
    }
}
