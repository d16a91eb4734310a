using Rnn.Fast.Internals;

namespace Rnn.Fast.IO;

/// <summary>
/// A model as a file describes it, before the library checks it: the common form every reader produces and
/// <see cref="ModelAssembler"/> turns into an <see cref="RnnModel"/>. Names are kept for error messages.
/// </summary>
internal sealed class ModelDescription
{
    public ModelDescription(string fileName) => FileName = fileName;

    public string FileName { get; }

    /// <summary>Forward layers, first to last.</summary>
    public List<RawLayer> Layers { get; } = [];

    /// <summary>The reverse direction of each layer of a bidirectional model; empty for a unidirectional one.</summary>
    public List<RawLayer> ReverseLayers { get; } = [];

    public RawHead? Head { get; set; }

    public Activation HeadActivation { get; set; } = Activation.Identity;

    /// <summary>Elman nonlinearity per layer (ignored for LSTM and GRU layers).</summary>
    public List<Activation> Nonlinearities { get; } = [];

    public int Skip { get; set; }

    /// <summary>How the weight matrices are stored in the file, and so in the model (float32 unless the file says otherwise).</summary>
    public WeightPrecision Precision { get; set; }

    /// <summary>The sample rate the model was trained at, in Hz, when the file says.</summary>
    public double? SampleRate { get; set; }

    /// <summary>True when the Elman nonlinearity came from neither the file nor the options (tanh was assumed).</summary>
    public bool NonlinearityAssumed { get; set; }

    /// <summary>Per layer, h at t = 0, or null for zeros; empty when the file has no initial state.</summary>
    public List<float[]?> InitialHidden { get; } = [];

    /// <summary>Per layer, c at t = 0 (LSTM layers), or null for zeros; empty when the file has no initial state.</summary>
    public List<float[]?> InitialCell { get; } = [];
}

/// <summary>One direction of one recurrent layer in PyTorch layout; <see cref="Gates"/> is 1 (Elman), 3 (GRU) or 4 (LSTM).</summary>
/// <remarks>An int8 layer's weights are its dequantized values <c>q · s</c>, and <see cref="Int8Ih"/>, <see cref="Int8Hh"/> the values and scales as stored.</remarks>
internal sealed record RawLayer(string Name, int Gates, int InputSize, int HiddenSize,
    float[] WeightIh /* [G*H, I] */, float[] WeightHh /* [G*H, H] */, float[] BiasIh /* [G*H] or empty */, float[] BiasHh /* [G*H] or empty */)
{
    public Int8Matrix? Int8Ih { get; init; }
    public Int8Matrix? Int8Hh { get; init; }
}

/// <summary>An nn.Linear head: <c>Weight [O, H]</c>, <c>Bias [O]</c> or empty; <see cref="Int8"/> as stored when the file is int8.</summary>
internal sealed record RawHead(string Name, int InputSize, int OutputSize, float[] Weight, float[] Bias)
{
    public Int8Matrix? Int8 { get; init; }
}
