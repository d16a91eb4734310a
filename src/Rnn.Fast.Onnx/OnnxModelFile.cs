using Google.Protobuf;
using Rnn.Fast.IO;
using Rnn.Fast.Onnx.Internals;

namespace Rnn.Fast.Onnx;

/// <summary>
/// Loads the RNN, LSTM and GRU models that <c>torch.onnx.export</c> writes (<c>nn.RNN</c>/<c>nn.LSTM</c>/<c>nn.GRU</c>,
/// stacked, bidirectional, with an optional <c>nn.Linear</c> head and Sigmoid/Tanh/Relu/Softmax) into an
/// <see cref="RnnModel"/>. See docs/onnx.md for what is supported and what is refused.
/// </summary>
/// <remarks>
/// Files are untrusted input: every problem with the content (not protobuf, truncated, an unsupported operator or
/// attribute, external data, sizes that do not add up) is a <see cref="ModelFormatException"/> naming the file,
/// the node (with its operator) or tensor, and the problem. Nothing is allocated from sizes the file merely claims.
/// I/O errors (missing file, no permission) are <see cref="IOException"/>s as usual.
/// </remarks>
public static class OnnxModelFile
{
    /// <summary>Largest file accepted: protobuf messages are limited to 2 GiB.</summary>
    public const long MaxFileBytes = int.MaxValue;

    /// <summary>Loads <paramref name="path"/> (an .onnx file).</summary>
    /// <exception cref="ModelFormatException">The file is not a model Rnn.Fast can run.</exception>
    public static RnnModel Load(string path, ModelLoadOptions? options = null) => Import(path, options).Model;

    /// <summary>Loads an ONNX model from <paramref name="stream"/>, read to its end; <paramref name="name"/> names it in errors.</summary>
    /// <exception cref="ModelFormatException">The content is not a model Rnn.Fast can run.</exception>
    public static RnnModel Load(Stream stream, string name = "stream", ModelLoadOptions? options = null) => Import(stream, name, options).Model;

    /// <summary>Loads an ONNX model from bytes; <paramref name="name"/> names it in errors.</summary>
    /// <exception cref="ModelFormatException">The content is not a model Rnn.Fast can run.</exception>
    public static RnnModel Load(byte[] bytes, string name, ModelLoadOptions? options = null) => Import(bytes, name, options).Model;

    /// <summary>Like <see cref="Load(string, ModelLoadOptions?)"/>, with what the import learned about the graph's interface.</summary>
    /// <exception cref="ModelFormatException">The file is not a model Rnn.Fast can run.</exception>
    public static OnnxImport Import(string path, ModelLoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        string name = Path.GetFileName(path);
        using FileStream stream = File.OpenRead(path);
        return Import(stream, name, options);
    }

    /// <summary>Like <see cref="Load(Stream, string, ModelLoadOptions?)"/>, with what the import learned about the graph's interface.</summary>
    /// <exception cref="ModelFormatException">The content is not a model Rnn.Fast can run.</exception>
    public static OnnxImport Import(Stream stream, string name = "stream", ModelLoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(name);
        if (stream.CanSeek && stream.Length - stream.Position > MaxFileBytes)
        {
            throw new ModelFormatException(name, null, $"The file is larger than {MaxFileBytes} bytes, the protobuf limit.");
        }
        // Read what is really there, in chunks, so a stream that never ends cannot make us allocate without bound.
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = stream.Read(chunk, 0, chunk.Length)) > 0)
        {
            if (buffer.Length + read > MaxFileBytes)
            {
                throw new ModelFormatException(name, null, $"The file is larger than {MaxFileBytes} bytes, the protobuf limit.");
            }
            buffer.Write(chunk, 0, read);
        }
        return Import(buffer.ToArray(), name, options);
    }

    /// <summary>Like <see cref="Load(byte[], string, ModelLoadOptions?)"/>, with what the import learned about the graph's interface.</summary>
    /// <exception cref="ModelFormatException">The content is not a model Rnn.Fast can run.</exception>
    public static OnnxImport Import(byte[] bytes, string name, ModelLoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        ArgumentNullException.ThrowIfNull(name);
        return GraphImporter.Import(bytes, name, options);
    }

    /// <summary>The ONNX opset <see cref="Save(RnnModel, string)"/> writes.</summary>
    public const int SaveOpset = GraphExporter.Opset;

    /// <summary>
    /// Saves <paramref name="model"/> as ONNX (opset 17) that ONNX Runtime runs and <see cref="Load(string, ModelLoadOptions?)"/>
    /// reads back: input <c>x [steps, batch, I]</c>, output <c>y [steps, batch, O]</c>, steps and batch dynamic; one
    /// LSTM/GRU/RNN node per layer, the head as MatMul + Add and its activation. A residual (<see cref="RnnModelOptions.Skip"/>)
    /// is written as a MatMul of x added to the output, which ONNX Runtime runs but this importer does not read back.
    /// The file is written to a temporary name beside <paramref name="path"/> and renamed, so a failure leaves no partial file.
    /// </summary>
    public static void Save(RnnModel model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(path);
        string temporary = path + ".tmp-" + Guid.NewGuid().ToString("N");
        try
        {
            File.WriteAllBytes(temporary, ToBytes(model));
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary))
            {
                File.Delete(temporary);
            }
        }
    }

    /// <summary>Writes <paramref name="model"/> as ONNX to <paramref name="stream"/>; see <see cref="Save(RnnModel, string)"/>.</summary>
    public static void Save(RnnModel model, Stream stream)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(stream);
        stream.Write(ToBytes(model));
    }

    /// <summary>The ONNX file of <paramref name="model"/>; see <see cref="Save(RnnModel, string)"/>.</summary>
    public static byte[] ToBytes(RnnModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return GraphExporter.Build(model).ToByteArray();
    }
}
