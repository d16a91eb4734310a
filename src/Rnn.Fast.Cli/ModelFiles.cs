using Rnn.Fast.IO;
using Rnn.Fast.Onnx;

namespace Rnn.Fast.Cli;

/// <summary>The model files the commands take: the core library's formats, and .onnx through Rnn.Fast.Onnx.</summary>
internal static class ModelFiles
{
    public static bool IsOnnx(string path) => Path.GetExtension(path).Equals(".onnx", StringComparison.OrdinalIgnoreCase);

    /// <summary>Loads .onnx with <see cref="OnnxModelFile"/>, anything else with <see cref="ModelFile"/>.</summary>
    public static RnnModel Load(string path, ModelLoadOptions? options = null) =>
        IsOnnx(path) ? OnnxModelFile.Load(path, options) : ModelFile.Load(path, options);

    /// <summary>The format's name, for messages.</summary>
    public static string FormatOf(string path) => IsOnnx(path) ? "Onnx" : ModelFile.FormatOf(path).ToString();
}
