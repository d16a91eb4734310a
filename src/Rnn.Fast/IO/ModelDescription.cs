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
internal sealed record RawLayer(string Name, int Gates, int InputSize, int HiddenSize,
    float[] WeightIh /* [G*H, I] */, float[] WeightHh /* [G*H, H] */, float[] BiasIh /* [G*H] or empty */, float[] BiasHh /* [G*H] or empty */);

/// <summary>An nn.Linear head: <c>Weight [O, H]</c>, <c>Bias [O]</c> or empty.</summary>
internal sealed record RawHead(string Name, int InputSize, int OutputSize, float[] Weight, float[] Bias);
