namespace Rnn.Fast.IO;

/// <summary>
/// What a model file cannot say about itself, and how to run the loaded model. Each setting given here
/// overrides the file's own (safetensors <c>__metadata__</c>, a JSON state dict's <c>model_data</c>).
/// </summary>
public sealed class ModelLoadOptions
{
    /// <summary>Nonlinearity of every Elman layer (PyTorch <c>nn.RNN(nonlinearity=...)</c>); null to use the file's, else tanh
    /// (PyTorch's default), which <see cref="ModelFileDetails.NonlinearityAssumed"/> then reports as assumed.</summary>
    public Activation? Nonlinearity { get; init; }

    /// <summary>Activation of the dense head; null to use the file's or identity.</summary>
    public Activation? HeadActivation { get; init; }

    /// <summary>Number of leading input channels added to the output (a residual); null to use the file's or 0.</summary>
    public int? Skip { get; init; }

    /// <summary>Kernel to run on (see <see cref="RnnKernels.Available"/>); null for the default.</summary>
    public string? Kernel { get; init; }
}
