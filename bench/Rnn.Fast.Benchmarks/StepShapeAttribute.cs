namespace Rnn.Fast.Benchmarks;

/// <summary>
/// The shape of one step of the model a benchmark class measures, so <see cref="GflopsColumn"/> can turn
/// time per step into GFLOP/s. H is read from the benchmark's <c>H</c> parameter.
/// </summary>
/// <param name="gates">G: 4 for LSTM, 1 for Elman.</param>
/// <param name="input">I; 0 means I = H.</param>
/// <param name="outputs">O of a dense head; 0 for none.</param>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class StepShapeAttribute(int gates, int input = 0, int outputs = 0) : Attribute
{
    public int Gates { get; } = gates;
    public int Input { get; } = input;
    public int Outputs { get; } = outputs;

    /// <summary>
    /// Flops of one step's matrix-vector products, a multiply-add counted as 2: <c>2·G·H·(I + H) + 2·O·H</c>.
    /// Activations and the element-wise cell update are left out (they are O(H), the products O(H²)).
    /// </summary>
    public double FlopsPerStep(int hidden)
    {
        int input = Input == 0 ? hidden : Input;
        return 2.0 * Gates * hidden * (input + hidden) + 2.0 * Outputs * hidden;
    }
}
