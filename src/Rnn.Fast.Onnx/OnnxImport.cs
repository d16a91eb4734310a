namespace Rnn.Fast.Onnx;

/// <summary>An imported ONNX model and what the import found out about the graph's interface.</summary>
public sealed class OnnxImport
{
    internal OnnxImport(RnnModel model, string inputName, string outputName, bool batchFirst, IReadOnlyList<string> stateInputs,
        IReadOnlyList<string> ignoredOutputs, long opset, string producer)
    {
        Model = model;
        InputName = inputName;
        OutputName = outputName;
        BatchFirst = batchFirst;
        StateInputs = stateInputs;
        IgnoredOutputs = ignoredOutputs;
        Opset = opset;
        Producer = producer;
    }

    /// <summary>The model. It runs time-major <c>[T, B, I] → [T, B, O]</c> like every Rnn.Fast model.</summary>
    public RnnModel Model { get; }

    /// <summary>The graph input that carries the sequence.</summary>
    public string InputName { get; }

    /// <summary>The graph output that carries the model's per-step output (the graph's first output).</summary>
    public string OutputName { get; }

    /// <summary>
    /// True when the ONNX graph takes and gives batch-major tensors <c>[B, T, I]</c> (PyTorch <c>batch_first=True</c>):
    /// transpose to time-major before <see cref="RnnModel.Run(ReadOnlySpan{float}, int, RnnState, Span{float})"/>. Identical layouts when B = 1.
    /// </summary>
    public bool BatchFirst { get; }

    /// <summary>
    /// Graph inputs other than the sequence (h0/c0 passed to the PyTorch module): ONNX Runtime takes them on every
    /// call; with Rnn.Fast, write them into the <see cref="RnnState"/> (<see cref="RnnState.Hidden"/>,
    /// <see cref="RnnState.Cell"/>) before running. Without that the state starts at zero.
    /// </summary>
    public IReadOnlyList<string> StateInputs { get; }

    /// <summary>Graph outputs besides <see cref="OutputName"/> (final h/c): Rnn.Fast keeps them in the <see cref="RnnState"/>.</summary>
    public IReadOnlyList<string> IgnoredOutputs { get; }

    /// <summary>The default-domain opset the file declares.</summary>
    public long Opset { get; }

    /// <summary>The producer recorded in the file (for example <c>pytorch 1.13.0</c>).</summary>
    public string Producer { get; }
}
