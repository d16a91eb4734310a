using FsCheck;
using FsCheck.Fluent;
using Rnn.Fast.Reference;

namespace Rnn.Fast.Tests.Training;

/// <summary>How a <see cref="GradientCase"/> weights its steps and streams.</summary>
public enum MaskKind
{
    /// <summary>Every step and stream counts.</summary>
    All,
    /// <summary>Only t = T−1 counts (sequence-to-one training).</summary>
    LastStep,
    /// <summary>Random 0/1 per step and stream (may be all zero).</summary>
    RandomBinary,
    /// <summary>Random weights in [0, 2).</summary>
    RandomWeights,
}

/// <summary>
/// A small random training problem drawn by FsCheck: cells, sizes, head, loss, mask and a seed for the
/// numbers. Weights are uniform in ±1 (gates not saturated), inputs and initial states in ±1.
/// </summary>
public sealed record GradientCase(CellType Cell, Activation Nonlinearity, int Layers, int Input, int Hidden, int Output,
    Activation HeadActivation, int Steps, int Batch, LossKind Loss, MaskKind Mask, int Seed)
{
    public static Arbitrary<GradientCase> Arbitrary(LossKind loss, params CellType[] cells) =>
        (from cell in Gen.Elements(cells.Length > 0 ? cells : [CellType.Elman, CellType.Lstm, CellType.Gru])
         from nonlinearity in Gen.Elements(Activation.Tanh, Activation.Relu, Activation.Sigmoid)
         from layers in Gen.Choose(1, 2)
         from input in Gen.Choose(1, 5)
         from hidden in Gen.Choose(1, 6)
         from output in Gen.Choose(0, 4) // 0: no head, y = h of the last layer
         from head in loss == LossKind.SoftmaxCrossEntropy
             ? Gen.Constant(Activation.Identity)
             : Gen.Elements(Activation.Identity, Activation.Tanh, Activation.Sigmoid, Activation.Relu, Activation.Softmax)
         from steps in Gen.Choose(1, 6)
         from batch in Gen.Choose(1, 3)
         from mask in Gen.Elements(MaskKind.All, MaskKind.LastStep, MaskKind.RandomBinary, MaskKind.RandomWeights)
         from seed in Gen.Choose(0, int.MaxValue)
         select new GradientCase(cell, cell == CellType.Elman ? nonlinearity : Activation.Tanh, layers, input, hidden,
             output, output > 0 ? head : Activation.Identity, steps, batch, loss, mask, seed))
        .ToArbitrary();

    /// <summary>O of the outputs: the head's, or H without a head.</summary>
    public int OutputSize => Output > 0 ? Output : Hidden;

    /// <summary>Everything drawn from <see cref="Seed"/>, in one place so every test sees the same numbers.</summary>
    public Problem Build()
    {
        var random = new Random(Seed);
        LayerWeights[] layers = [.. Enumerable.Range(0, Layers).Select(l => Layer(random, l == 0 ? Input : Hidden))];
        HeadWeights? head = Output > 0
            ? new HeadWeights(Hidden, Output, Uniform(random, Output * Hidden), Uniform(random, Output), HeadActivation)
            : null;
        float[] inputs = Uniform(random, Steps * Batch * Input);
        double[][] h0 = [.. layers.Select(_ => ToDouble(Uniform(random, Batch * Hidden)))];
        double[]?[] c0 = [.. layers.Select(l => l.Cell == CellType.Lstm ? ToDouble(Uniform(random, Batch * Hidden)) : null)];
        float[] targets = Loss == LossKind.MeanSquaredError
            ? Uniform(random, Steps * Batch * OutputSize)
            : [.. Enumerable.Range(0, Steps * Batch).Select(_ => (float)random.Next(OutputSize))];
        var mask = new float[Steps * Batch];
        for (int t = 0; t < Steps; t++)
        {
            for (int b = 0; b < Batch; b++)
            {
                mask[t * Batch + b] = Mask switch
                {
                    MaskKind.All => 1,
                    MaskKind.LastStep => t == Steps - 1 ? 1 : 0,
                    MaskKind.RandomBinary => random.Next(2),
                    _ => (float)(2 * random.NextDouble()),
                };
            }
        }
        return new Problem(layers, head, inputs, h0, c0, targets, mask);
    }

    private LayerWeights Layer(Random random, int inputs)
    {
        int rows = LayerWeights.GatesOf(Cell) * Hidden;
        float[] wih = Uniform(random, rows * inputs), whh = Uniform(random, rows * Hidden);
        float[] bih = Uniform(random, rows), bhh = Uniform(random, rows);
        return Cell switch
        {
            CellType.Lstm => LayerWeights.Lstm(inputs, Hidden, wih, whh, bih, bhh),
            CellType.Gru => LayerWeights.Gru(inputs, Hidden, wih, whh, bih, bhh),
            _ => LayerWeights.Elman(inputs, Hidden, Nonlinearity, wih, whh, bih, bhh),
        };
    }

    private static float[] Uniform(Random random, int count) => NetworkCase.Uniform(random, count, 1f);

    private static double[] ToDouble(float[] values) => [.. values.Select(v => (double)v)];
}

/// <summary>The numbers of one <see cref="GradientCase"/>.</summary>
public sealed record Problem(LayerWeights[] Layers, HeadWeights? Head, float[] Inputs, double[][] H0, double[]?[] C0,
    float[] Targets, float[] Mask);
