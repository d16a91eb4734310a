using FsCheck;
using FsCheck.Fluent;
using Rnn.Fast.Reference;

namespace Rnn.Fast.Tests;

/// <summary>
/// A random network and input drawn by FsCheck: cell type, sizes (0/1, odd sizes around every vector
/// width, some up to 300), layers, head, steps, batch, weight scale and a seed for the numbers.
/// </summary>
public sealed record NetworkCase(CellType Cell, Activation Nonlinearity, int Input, int Hidden, int Layers,
    int Output, Activation HeadActivation, int Steps, int Batch, float WeightScale, int Seed,
    bool Bidirectional = false, int SkipWanted = 0, bool InitialState = false)
{
    // Sizes that leave tails for 4-, 8- and 16-lane blocks, and straddle them.
    private static readonly int[] s_awkward = [1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 63, 64, 65, 127, 129];

    public static Gen<int> Size(int minimum) =>
        Gen.Frequency(
            (6, Gen.Choose(minimum, 20)),
            (3, Gen.Elements(s_awkward).Where(s => s >= minimum)),
            (1, Gen.Choose(200, 300)));

    public static Arbitrary<NetworkCase> Arbitrary(bool withHead, bool bidirectional = false) =>
        (from cell in Gen.Elements(CellType.Elman, CellType.Lstm, CellType.Gru)
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
         from skip in Gen.Frequency((3, Gen.Constant(0)), (1, Gen.Choose(1, 3)))
         from initial in Gen.Elements(false, true)
         select new NetworkCase(cell, nonlinearity, input, hidden, layers, output, head, steps, batch, scale, seed, bidirectional, skip, initial))
        .ToArbitrary();

    private int Directions => Bidirectional ? 2 : 1;

    /// <summary>The residual actually used: what was drawn, clamped to what the shapes allow.</summary>
    public int Skip => Math.Min(SkipWanted, Math.Min(Input, Output > 0 ? Output : Directions * Hidden));

    /// <summary>Weights uniform in ±WeightScale/√H (PyTorch's init at scale 1; 3 saturates the gates).</summary>
    public RnnModel Build(string kernel)
    {
        var random = new Random(Seed);
        LayerWeights[] layers = [.. Enumerable.Range(0, Layers).Select(l => Layer(random, l == 0 ? Input : Directions * Hidden))];
        LayerWeights[]? reverse = Bidirectional ? [.. Enumerable.Range(0, Layers).Select(l => Layer(random, l == 0 ? Input : Directions * Hidden))] : null;
        HeadWeights? head = Output > 0 ? HeadWeights.Random(Directions * Hidden, Output, random, HeadActivation) : null;
        var options = new RnnModelOptions
        {
            ReverseLayers = reverse,
            Skip = Skip,
            InitialHidden = InitialState ? [.. layers.Select(_ => Uniform(random, Hidden, 0.5f))] : null,
            InitialCell = InitialState ? [.. layers.Select(l => l.Cell == CellType.Lstm ? Uniform(random, Hidden, 0.5f) : null)] : null,
        };
        return RnnModel.Create(layers, head, kernel, options);
    }

    private LayerWeights Layer(Random random, int inputs)
    {
        int rows = LayerWeights.GatesOf(Cell) * Hidden;
        float bound = WeightScale / MathF.Sqrt(Hidden);
        float[] wih = Uniform(random, rows * inputs, bound), whh = Uniform(random, rows * Hidden, bound);
        float[] bih = Uniform(random, rows, bound), bhh = Uniform(random, rows, bound);
        return Cell switch
        {
            CellType.Lstm => LayerWeights.Lstm(inputs, Hidden, wih, whh, bih, bhh),
            CellType.Gru => LayerWeights.Gru(inputs, Hidden, wih, whh, bih, bhh),
            _ => LayerWeights.Elman(inputs, Hidden, Nonlinearity, wih, whh, bih, bhh),
        };
    }

    /// <summary>Inputs <c>[Steps, Batch, Input]</c>, uniform in ±2.</summary>
    public float[] Inputs() => Uniform(new Random(Seed ^ 0x5EED), Steps * Batch * Input, 2f);

    /// <summary>
    /// Allowed |fast − reference| for an output after a whole sequence: kernels sum in a different order
    /// than the reference and in float, so the absolute part grows with the length of the sums (I + H terms
    /// per step), and both parts with the number of layers and steps the rounding errors travel through and
    /// with the weight scale, which is the recurrence's gain: at scale 3 a ReLU network amplifies an error
    /// of one step by several times per step (a 2-layer bidirectional ReLU case at scale 3 reached 4e-4
    /// relative error on every kernel, the scalar one included). This is the loose, end-to-end bound; the
    /// per-step checks (<see cref="StepBoundTests"/>) hold each step to a rigorous one.
    /// </summary>
    public double Tolerance(double expected) =>
        (2e-6 * (Input + Directions * Hidden + 2) + 1e-5 * Math.Abs(expected)) * Layers * (1 + WeightScale) * Math.Sqrt(Steps)
        + 1e-6;

    public static float[] Uniform(Random random, int count, float bound)
    {
        var values = new float[count];
        for (int i = 0; i < count; i++)
        {
            values[i] = (float)((random.NextDouble() * 2 - 1) * bound);
        }
        return values;
    }

    /// <summary>Reference states for every stream, at the model's initial state.</summary>
    public static ReferenceState[] ReferenceStates(RnnModel model, int batch)
    {
        var reference = new ReferenceModel(model);
        return [.. Enumerable.Range(0, batch).Select(_ => reference.CreateState())];
    }
}
