using Rnn.Fast.Internals;

namespace Rnn.Fast;

/// <summary>
/// The weights of one recurrent layer in PyTorch's layouts, immutable once created.
/// </summary>
/// <remarks>
/// Shapes (G = 1 for Elman, 3 for GRU with gate rows r, z, n, 4 for LSTM with gate rows i, f, g, o, all in PyTorch order):
/// <c>WeightIh [G*H, I]</c> and <c>WeightHh [G*H, H]</c> row-major, <c>BiasIh [G*H]</c>, <c>BiasHh [G*H]</c>.
/// These are exactly <c>weight_ih_l{k}</c>, <c>weight_hh_l{k}</c>, <c>bias_ih_l{k}</c>, <c>bias_hh_l{k}</c> of a
/// PyTorch <c>nn.RNN</c> / <c>nn.GRU</c> / <c>nn.LSTM</c>, so trained weights drop in unchanged.
/// </remarks>
public sealed class LayerWeights
{
    private readonly float[] _weightIh;
    private readonly float[] _weightHh;
    private readonly float[] _biasIh;
    private readonly float[] _biasHh;

    private LayerWeights(CellType cell, int inputSize, int hiddenSize, Activation nonlinearity,
        ReadOnlySpan<float> weightIh, ReadOnlySpan<float> weightHh, ReadOnlySpan<float> biasIh, ReadOnlySpan<float> biasHh)
    {
        (int rows, int ihLength, int hhLength) = Sizes(cell, inputSize, hiddenSize);
        string name = NameOf(cell);
        Guard.Length(weightIh.Length, ihLength, $"weight_ih [{rows}, {inputSize}] of an {name} layer", nameof(weightIh));
        Guard.Length(weightHh.Length, hhLength, $"weight_hh [{rows}, {hiddenSize}] of an {name} layer", nameof(weightHh));
        if (!biasIh.IsEmpty)
        {
            Guard.Length(biasIh.Length, rows, $"bias_ih [{rows}] (or empty for no bias)", nameof(biasIh));
        }
        if (!biasHh.IsEmpty)
        {
            Guard.Length(biasHh.Length, rows, $"bias_hh [{rows}] (or empty for no bias)", nameof(biasHh));
        }
        Guard.Finite(weightIh, "weight_ih", nameof(weightIh));
        Guard.Finite(weightHh, "weight_hh", nameof(weightHh));
        Guard.Finite(biasIh, "bias_ih", nameof(biasIh));
        Guard.Finite(biasHh, "bias_hh", nameof(biasHh));

        Cell = cell;
        InputSize = inputSize;
        HiddenSize = hiddenSize;
        Nonlinearity = nonlinearity;
        _weightIh = weightIh.ToArray();
        _weightHh = weightHh.ToArray();
        _biasIh = biasIh.IsEmpty ? new float[rows] : biasIh.ToArray();
        _biasHh = biasHh.IsEmpty ? new float[rows] : biasHh.ToArray();
        HasBiasIh = !biasIh.IsEmpty;
        HasBiasHh = !biasHh.IsEmpty;
    }

    private static string NameOf(CellType cell) => cell switch { CellType.Lstm => "LSTM", CellType.Gru => "GRU", _ => "Elman" };

    /// <summary>
    /// The lengths of the weight arrays, each checked to fit an array: sizes from a file or a caller can make
    /// <c>G*H*I</c> overflow <see cref="int"/>, and a wrapped length would let empty spans through.
    /// </summary>
    private static (int Rows, int IhLength, int HhLength) Sizes(CellType cell, int inputSize, int hiddenSize)
    {
        Guard.NonNegative(inputSize, nameof(inputSize));
        Guard.Positive(hiddenSize, nameof(hiddenSize));
        long rows = (long)GatesOf(cell) * hiddenSize;
        long ih = rows * inputSize;
        long hh = rows * hiddenSize;
        if (hh > Array.MaxLength)
        {
            throw new ArgumentException(
                $"An {NameOf(cell)} layer of hidden size {hiddenSize} needs weight_hh [{rows}, {hiddenSize}] = {hh:N0} values, more than an array holds ({Array.MaxLength:N0}).",
                nameof(hiddenSize));
        }
        if (ih > Array.MaxLength)
        {
            throw new ArgumentException(
                $"An {NameOf(cell)} layer of input size {inputSize} and hidden size {hiddenSize} needs weight_ih [{rows}, {inputSize}] = {ih:N0} values, more than an array holds ({Array.MaxLength:N0}).",
                nameof(inputSize));
        }
        return ((int)rows, (int)ih, (int)hh);
    }

    /// <summary>The cell type.</summary>
    public CellType Cell { get; }

    /// <summary>Input features per step (I).</summary>
    public int InputSize { get; }

    /// <summary>Hidden units (H).</summary>
    public int HiddenSize { get; }

    /// <summary>Elman nonlinearity f; always <see cref="Activation.Tanh"/> for LSTM and GRU.</summary>
    public Activation Nonlinearity { get; }

    /// <summary>Gate rows per hidden unit: 1 (Elman), 3 (GRU) or 4 (LSTM).</summary>
    public int GateCount => GatesOf(Cell);

    /// <summary>Gate rows per hidden unit of a cell type: 1 (Elman), 3 (GRU) or 4 (LSTM).</summary>
    public static int GatesOf(CellType cell) => cell switch
    {
        CellType.Elman => 1,
        CellType.Gru => 3,
        CellType.Lstm => 4,
        _ => throw new ArgumentOutOfRangeException(nameof(cell), cell, "Unknown cell type."),
    };

    /// <summary><c>[G*H, I]</c> row-major.</summary>
    public ReadOnlySpan<float> WeightIh => _weightIh;

    /// <summary><c>[G*H, H]</c> row-major.</summary>
    public ReadOnlySpan<float> WeightHh => _weightHh;

    /// <summary><c>[G*H]</c> (zeros when created without bias).</summary>
    public ReadOnlySpan<float> BiasIh => _biasIh;

    /// <summary><c>[G*H]</c> (zeros when created without bias).</summary>
    public ReadOnlySpan<float> BiasHh => _biasHh;

    /// <summary>True when created with <c>bias_ih</c>; false for a layer without (PyTorch <c>bias=False</c>), whose
    /// <see cref="BiasIh"/> is zeros.</summary>
    public bool HasBiasIh { get; }

    /// <summary>True when created with <c>bias_hh</c>; false for a layer without, whose <see cref="BiasHh"/> is zeros.</summary>
    public bool HasBiasHh { get; }

    /// <summary>Number of parameters, counted as PyTorch counts them: G*H*(I + H), plus G*H for each bias the layer has.</summary>
    public long ParameterCount =>
        (long)GateCount * HiddenSize * (InputSize + HiddenSize + (HasBiasIh ? 1 : 0) + (HasBiasHh ? 1 : 0));

    /// <summary>An LSTM layer from PyTorch-layout arrays (copied).</summary>
    /// <param name="inputSize">I, at least 0.</param>
    /// <param name="hiddenSize">H, at least 1.</param>
    /// <param name="weightIh"><c>[4H, I]</c>, gate rows i, f, g, o.</param>
    /// <param name="weightHh"><c>[4H, H]</c>.</param>
    /// <param name="biasIh"><c>[4H]</c>, or empty for none.</param>
    /// <param name="biasHh"><c>[4H]</c>, or empty for none.</param>
    /// <exception cref="ArgumentException">A length does not match its shape, a value is NaN or infinite, or the sizes make an array longer than .NET allows.</exception>
    public static LayerWeights Lstm(int inputSize, int hiddenSize, ReadOnlySpan<float> weightIh, ReadOnlySpan<float> weightHh,
        ReadOnlySpan<float> biasIh, ReadOnlySpan<float> biasHh) =>
        new(CellType.Lstm, inputSize, hiddenSize, Activation.Tanh, weightIh, weightHh, biasIh, biasHh);

    /// <summary>A GRU layer from PyTorch-layout arrays (copied).</summary>
    /// <param name="inputSize">I, at least 0.</param>
    /// <param name="hiddenSize">H, at least 1.</param>
    /// <param name="weightIh"><c>[3H, I]</c>, gate rows r, z, n.</param>
    /// <param name="weightHh"><c>[3H, H]</c>.</param>
    /// <param name="biasIh"><c>[3H]</c>, or empty for none.</param>
    /// <param name="biasHh"><c>[3H]</c>, or empty for none.</param>
    /// <exception cref="ArgumentException">A length does not match its shape, a value is NaN or infinite, or the sizes make an array longer than .NET allows.</exception>
    public static LayerWeights Gru(int inputSize, int hiddenSize, ReadOnlySpan<float> weightIh, ReadOnlySpan<float> weightHh,
        ReadOnlySpan<float> biasIh, ReadOnlySpan<float> biasHh) =>
        new(CellType.Gru, inputSize, hiddenSize, Activation.Tanh, weightIh, weightHh, biasIh, biasHh);

    /// <summary>An Elman layer from PyTorch-layout arrays (copied).</summary>
    /// <param name="inputSize">I, at least 0.</param>
    /// <param name="hiddenSize">H, at least 1.</param>
    /// <param name="nonlinearity">f: <see cref="Activation.Tanh"/>, <see cref="Activation.Relu"/> or <see cref="Activation.Sigmoid"/>
    /// (<see cref="Activation.Identity"/> is allowed for linear-recurrence experiments).</param>
    /// <param name="weightIh"><c>[H, I]</c>.</param>
    /// <param name="weightHh"><c>[H, H]</c>.</param>
    /// <param name="biasIh"><c>[H]</c>, or empty for none.</param>
    /// <param name="biasHh"><c>[H]</c>, or empty for none.</param>
    /// <exception cref="ArgumentException">A length does not match its shape, a value is NaN or infinite, or f is softmax.</exception>
    public static LayerWeights Elman(int inputSize, int hiddenSize, Activation nonlinearity, ReadOnlySpan<float> weightIh,
        ReadOnlySpan<float> weightHh, ReadOnlySpan<float> biasIh, ReadOnlySpan<float> biasHh)
    {
        if (nonlinearity is not (Activation.Tanh or Activation.Relu or Activation.Sigmoid or Activation.Identity))
        {
            throw new ArgumentException($"An Elman nonlinearity must be tanh, ReLU, sigmoid or identity, not {nonlinearity}.", nameof(nonlinearity));
        }
        return new(CellType.Elman, inputSize, hiddenSize, nonlinearity, weightIh, weightHh, biasIh, biasHh);
    }

    /// <summary>PyTorch's default initialisation: every weight and bias uniform in ±1/√H.</summary>
    /// <param name="cell">Cell type.</param>
    /// <param name="inputSize">I.</param>
    /// <param name="hiddenSize">H.</param>
    /// <param name="random">Source of randomness (seed it for reproducible weights).</param>
    /// <param name="nonlinearity">Elman f (ignored for LSTM).</param>
    public static LayerWeights Random(CellType cell, int inputSize, int hiddenSize, Random random, Activation nonlinearity = Activation.Tanh)
    {
        ArgumentNullException.ThrowIfNull(random);
        (int rows, int ihLength, int hhLength) = Sizes(cell, inputSize, hiddenSize);
        float bound = 1f / MathF.Sqrt(hiddenSize);
        float[] wih = Uniform(random, ihLength, bound);
        float[] whh = Uniform(random, hhLength, bound);
        float[] bih = Uniform(random, rows, bound);
        float[] bhh = Uniform(random, rows, bound);
        return cell switch
        {
            CellType.Lstm => Lstm(inputSize, hiddenSize, wih, whh, bih, bhh),
            CellType.Gru => Gru(inputSize, hiddenSize, wih, whh, bih, bhh),
            _ => Elman(inputSize, hiddenSize, nonlinearity, wih, whh, bih, bhh),
        };
    }

    internal static float[] Uniform(Random random, int count, float bound)
    {
        var values = new float[count];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = (float)((random.NextDouble() * 2 - 1) * bound);
        }
        return values;
    }
}
