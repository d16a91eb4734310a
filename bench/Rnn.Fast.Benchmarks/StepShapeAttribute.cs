namespace Rnn.Fast.Benchmarks;

/// <summary>
/// The shape of one step of the model a benchmark class measures, so <see cref="GflopsColumn"/> can turn
/// time per step into GFLOP/s. H is read from the benchmark's <c>H</c> parameter.
/// </summary>
/// <param name="gates">G: 4 for LSTM, 1 for Elman; 0 to read it from the benchmark's <c>Cell</c> parameter.</param>
/// <param name="input">I; 0 means I = H.</param>
/// <param name="outputs">O of a dense head; 0 for none.</param>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class StepShapeAttribute(int gates, int input = 0, int outputs = 0) : Attribute
{
    public int Gates { get; } = gates;
    public int Input { get; } = input;
    public int Outputs { get; } = outputs;

    /// <summary>
    /// True (default) when one reported operation is a time step of every stream of a <c>Batch</c> parameter
    /// (sequence benchmarks); false when it is already one step of one stream (training benchmarks).
    /// </summary>
    public bool StepCoversBatch { get; init; } = true;

    /// <summary>
    /// Flops of one step's matrix-vector products, a multiply-add counted as 2: <c>2·G·H·(I + H) + 2·O·H</c>.
    /// Activations and the element-wise cell update are left out (they are O(H), the products O(H²)).
    /// </summary>
    /// <param name="hidden">H.</param>
    /// <param name="gates">G when <see cref="Gates"/> is 0 (read from a <c>Cell</c> parameter).</param>
    public double FlopsPerStep(int hidden, int gates = 0)
    {
        int input = Input == 0 ? hidden : Input;
        int g = Gates == 0 ? gates : Gates;
        return 2.0 * g * hidden * (input + hidden) + 2.0 * Outputs * hidden;
    }

    /// <summary>G of a cell type: LSTM 4, GRU 3, Elman 1.</summary>
    public static int GatesOf(CellType cell) => cell switch
    {
        CellType.Lstm => 4,
        CellType.Gru => 3,
        _ => 1,
    };
}

/// <summary>
/// How many forward passes' worth of flops one step of a benchmark method costs: 1 for inference,
/// 3 for a training step (forward, plus backward counted as 2× forward: dL/dh and dL/dx products, and
/// the weight-gradient products). Methods without it count 1.
/// </summary>
[AttributeUsage(AttributeTargets.Method, Inherited = false)]
public sealed class FlopsFactorAttribute(double factor) : Attribute
{
    public double Factor { get; } = factor;
}
