using Rnn.Fast.IO;
using Rnn.Fast.Onnx;

namespace Rnn.Fast.Cli;

/// <summary>The model files the commands take: the core library's formats, and .onnx through Rnn.Fast.Onnx.</summary>
internal static class ModelFiles
{
    public static bool IsOnnx(string path) => Path.GetExtension(path).Equals(".onnx", StringComparison.OrdinalIgnoreCase);

    /// <summary>Loads .onnx with <see cref="OnnxModelFile"/>, anything else with <see cref="ModelFile"/>.</summary>
    public static RnnModel Load(string path, ModelLoadOptions? options = null) => Load(path, options, out _);

    /// <summary>
    /// As <see cref="Load(string, ModelLoadOptions?)"/>, with what the file said beside its weights. An .onnx file is read
    /// like the others (a regular file only, never past its real length) and says nothing of sample rate or
    /// nonlinearity (ONNX's RNN operator names its activations).
    /// </summary>
    public static RnnModel Load(string path, ModelLoadOptions? options, out ModelFileDetails details)
    {
        if (!IsOnnx(path))
        {
            return ModelFile.Load(path, options, out details);
        }
        RnnModel model = OnnxModelFile.Load(RegularFile.ReadAllBytes(path), Path.GetFileName(path), options);
        details = new ModelFileDetails(Path.GetFileName(path), default, SampleRate: null, NonlinearityAssumed: false);
        return model;
    }

    /// <summary>
    /// The sequence layout the file records: <c>rnnfast.batch_first</c> metadata, or whether an ONNX graph's input is
    /// batch-first; null when the file does not say.
    /// </summary>
    public static bool? ReadBatchFirst(string path) =>
        IsOnnx(path) ? OnnxModelFile.Import(RegularFile.ReadAllBytes(path), Path.GetFileName(path)).BatchFirst : ModelFile.ReadBatchFirst(path);

    /// <summary>The format's name, for messages.</summary>
    public static string FormatOf(string path) => IsOnnx(path) ? "Onnx" : ModelFile.FormatOf(path).ToString();
}
