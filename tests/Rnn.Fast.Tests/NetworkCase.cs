using FsCheck;
using FsCheck.Fluent;
using Rnn.Fast.Reference;

namespace Rnn.Fast.Tests;

/// <summary>
/// A random network and input drawn by FsCheck: cell type, sizes (0/1, odd sizes around every vector
/// width, some up to 300), layers, head, steps, batch, weight scale and a seed for the numbers.
/// </summary>
public sealed record NetworkCase(CellType Cell, Activation Nonlinearity, int Input, int Hidden, int Layers,
    int Output, Activation HeadActivation, int Steps, int Batch, float WeightScale, int Seed)
{
    // Sizes that leave tails for 4-, 8- and 16-lane blocks, and straddle them.
    private static readonly int[] s_awkward = [1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 63, 64, 65, 127, 129];

    public static Gen<int> Size(int minimum) =>
        Gen.Frequency(
            (6, Gen.Choose(minimum, 20)),
            (3, Gen.Elements(s_awkward).Where(s => s >= minimum)),
            (1, Gen.Choose(200, 300)));

    public static Arbitrary<NetworkCase> Arbitrary(bool withHead) =>
        (from cell in Gen.Elements(CellType.Elman, CellType.Lstm)
         from nonlinearity in Gen.Elements(Activation.Tanh, Activation.Relu, Activation.Sigmoid)
         from input in Size(0)
         from hidden in Size(1)
         from layers in Gen.Frequency((3, Gen.Constant(1)), (1, Gen.Choose(2, 3)))
         from output in withHead ? Gen.Choose(1, 19) : Gen.Constant(0)
         from head in Gen.Elements(Activation.Identity, Activation.Tanh, Activation.Sigmoid, Activation.Relu, Activation.Softmax)
         from steps in Gen.Choose(1, 12)
         from batch in Gen.Frequency((3, Gen.Constant(1)), (1, Gen.Choose(2, 5)))
         from scale in Gen.Elements(0.1f, 1f, 3f)
         from seed in Gen.Choose(0, int.MaxValue)
         select new NetworkCase(cell, nonlinearity, input, hidden, layers, output, head, steps, batch, scale, seed))
        .ToArbitrary();

    /// <summary>Weights uniform in ±WeightScale/√H (PyTorch's init at scale 1; 3 saturates the gates).</summary>
    public RnnModel Build(string kernel)
    {
        var random = new Random(Seed);
        var layers = new LayerWeights[Layers];
        for (int l = 0; l < Layers; l++)
        {
            int inputs = l == 0 ? Input : Hidden;
            int rows = (Cell == CellType.Lstm ? 4 : 1) * Hidden;
            float bound = WeightScale / MathF.Sqrt(Hidden);
            float[] wih = Uniform(random, rows * inputs, bound), whh = Uniform(random, rows * Hidden, bound);
            float[] bih = Uniform(random, rows, bound), bhh = Uniform(random, rows, bound);
            layers[l] = Cell == CellType.Lstm
                ? LayerWeights.Lstm(inputs, Hidden, wih, whh, bih, bhh)
                : LayerWeights.Elman(inputs, Hidden, Nonlinearity, wih, whh, bih, bhh);
        }
        HeadWeights? head = Output > 0 ? HeadWeights.Random(Hidden, Output, random, HeadActivation) : null;
        return RnnModel.Create(layers, head, kernel);
    }

    /// <summary>Inputs <c>[Steps, Batch, Input]</c>, uniform in ±2.</summary>
    public float[] Inputs() => Uniform(new Random(Seed ^ 0x5EED), Steps * Batch * Input, 2f);

    /// <summary>
    /// Allowed |fast − reference| for an output: kernels sum in a different order than the reference
    /// and in float, so the bound grows with the length of the sums (I + H terms per step, a few layers).
    /// </summary>
    public double Tolerance(double expected) =>
        2e-6 * Layers * (Input + Hidden + 2) * (1 + WeightScale) * Math.Sqrt(Steps) + 1e-5 * Math.Abs(expected) + 1e-6;

    public static float[] Uniform(Random random, int count, float bound)
    {
        var values = new float[count];
        for (int i = 0; i < count; i++)
        {
            values[i] = (float)((random.NextDouble() * 2 - 1) * bound);
        }
        return values;
    }

    /// <summary>Reference states for every stream, copied from a fast state (so both start alike).</summary>
    public static ReferenceState[] ReferenceStates(RnnModel model, int batch)
    {
        var states = new ReferenceState[batch];
        for (int b = 0; b < batch; b++)
        {
            states[b] = new ReferenceState(model.Layers);
        }
        return states;
    }
}
