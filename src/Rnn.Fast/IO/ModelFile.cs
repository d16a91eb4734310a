namespace Rnn.Fast.IO;

/// <summary>
/// Loads models trained elsewhere (safetensors, Neural Amp Modeler <c>.nam</c>, PyTorch state-dict JSON) and saves
/// any model as safetensors.
/// </summary>
/// <remarks>
/// <para><b>safetensors</b>: the tensors of one PyTorch nn.RNN, nn.LSTM or nn.GRU under any module prefix
/// (<c>{p}weight_ih_l{k}</c>, <c>{p}weight_hh_l{k}</c>, <c>{p}bias_ih_l{k}</c>, <c>{p}bias_hh_l{k}</c>, and the same
/// with <c>_reverse</c> for a bidirectional model) and at most one nn.Linear head (<c>{q}weight [O, H]</c>,
/// <c>{q}bias [O]</c>). Each layer's cell type comes from <c>weight_hh</c>'s shape <c>[G*H, H]</c>: G = 1 Elman,
/// 3 GRU, 4 LSTM. Dtypes F32, F16, BF16 and F64 (converted to float32), and I8 for the weight matrices of an int8 model.
/// What the tensors cannot say comes from <c>__metadata__</c> (overridden by <see cref="ModelLoadOptions"/>):</para>
/// <list type="bullet">
/// <item><c>rnnfast.nonlinearity</c>: Elman f, <c>tanh</c>, <c>relu</c>, <c>sigmoid</c> or <c>identity</c>; one name, or
/// comma-separated names per layer. A plain PyTorch state_dict has no such entry and cannot tell <c>nn.RNN(nonlinearity='relu')</c>
/// from tanh: tanh (PyTorch's default) is then used and <see cref="ModelFileDetails.NonlinearityAssumed"/> says so.</item>
/// <item><c>rnnfast.head_activation</c>: <c>identity</c> (default), <c>tanh</c>, <c>relu</c>, <c>sigmoid</c> or <c>softmax</c>.</item>
/// <item><c>rnnfast.skip</c>: a non-negative integer S; the output adds the first S input channels (default 0).</item>
/// <item><c>rnnfast.batch_first</c>: the layout the model was trained with, for tools (see <see cref="ReadBatchFirst"/>).</item>
/// <item><c>rnnfast.weight_precision</c>: <c>bf16</c> or <c>int8</c> for a reduced-precision model (<see cref="RnnModel.Precision"/>),
/// or <c>float32</c>.</item>
/// </list>
/// <para>Reduced precision (docs/precision-files.md): a bf16 model's weight matrices (<c>weight_ih</c>, <c>weight_hh</c>, the
/// head's <c>weight</c>) are BF16; an int8 model's are I8 <c>[rows, K]</c> (values in ±127), each with an F32 tensor
/// <c>{matrix}.scale [rows]</c>, its row scales. Biases stay F32. Such a file loads with the same <see cref="RnnModel.Precision"/>
/// and exactly the stored values (int8 values and scales are not quantized again). Without the key, a file whose weight
/// matrices are all BF16 (PyTorch's own file of a bf16 model) loads as bf16; I8 matrices load as int8 and must not be mixed
/// with float ones; other files load as float32.</para>
/// <para>Initial states, an Rnn.Fast extension, are the tensors <c>{p}h0_l{k} [H]</c> and <c>{p}c0_l{k} [H]</c>
/// (LSTM layers only). Any other tensor is an error.</para>
/// <para><b>.nam</b>: see the Neural Amp Modeler format; LSTM only, with its initial states and 1-output head; its
/// <c>sample_rate</c> is reported in <see cref="ModelFileDetails.SampleRate"/>.</para>
/// <para><b>.json</b>: <c>model_data</c> (unit_type, input_size, hidden_size, num_layers, output_size, skip,
/// bias_fl) and <c>state_dict</c> (nested arrays, names as for safetensors); output <c>lin(h) + x[:skip]</c>.</para>
/// <para>Files are untrusted input: every problem with their content throws <see cref="ModelFormatException"/>
/// naming the file, the tensor or field, and the problem; nothing is allocated on a size the file only claims. Paths that
/// are not regular files (directories, devices such as <c>/dev/zero</c>, FIFOs) are refused with an <see cref="IOException"/>
/// before they are opened, and a file is never read past its real length.</para>
/// </remarks>
public static class ModelFile
{
    /// <summary>Loads a model, choosing the format by extension: <c>.safetensors</c>, <c>.nam</c> or <c>.json</c>.</summary>
    /// <param name="path">The model file.</param>
    /// <param name="options">Settings the file cannot hold, and the kernel; null for the file's own or defaults.</param>
    /// <exception cref="ModelFormatException">The content is malformed, inconsistent or unsupported.</exception>
    /// <exception cref="ArgumentException">The extension is none of the above, or the kernel is unknown or unsupported here.</exception>
    /// <exception cref="IOException">The file cannot be read, or is not a regular file (a directory, device or FIFO is
    /// refused before it is opened).</exception>
    public static RnnModel Load(string path, ModelLoadOptions? options = null) => Load(path, options, out _);

    /// <summary>Loads a model as <see cref="Load(string, ModelLoadOptions?)"/> does, and says what the file held beside the
    /// weights and what had to be assumed.</summary>
    /// <param name="path">The model file.</param>
    /// <param name="options">Settings the file cannot hold, and the kernel; null for the file's own or defaults.</param>
    /// <param name="details">The sample rate the file names, and whether the Elman nonlinearity was assumed.</param>
    /// <exception cref="ModelFormatException">The content is malformed, inconsistent or unsupported.</exception>
    /// <exception cref="ArgumentException">The extension is none of the above, or the kernel is unknown or unsupported here.</exception>
    /// <exception cref="IOException">The file cannot be read, or is not a regular file.</exception>
    public static RnnModel Load(string path, ModelLoadOptions? options, out ModelFileDetails details)
    {
        ArgumentNullException.ThrowIfNull(path);
        ModelFileFormat format = FormatOf(path);
        CheckKernel(options);
        byte[] content = RegularFile.ReadAllBytes(path);
        return Load(content, format, Path.GetFileName(path), options, out details);
    }

    /// <summary>Loads a model from bytes already in memory.</summary>
    /// <param name="content">The whole file.</param>
    /// <param name="format">Its format.</param>
    /// <param name="name">A name for messages (e.g. the file name).</param>
    /// <param name="options">Settings the file cannot hold, and the kernel; null for the file's own or defaults.</param>
    /// <exception cref="ModelFormatException">The content is malformed, inconsistent or unsupported.</exception>
    /// <exception cref="ArgumentException">The kernel is unknown or unsupported here.</exception>
    public static RnnModel Load(ReadOnlyMemory<byte> content, ModelFileFormat format, string name, ModelLoadOptions? options = null) =>
        Load(content, format, name, options, out _);

    /// <summary>Loads a model from bytes already in memory, and says what the file held beside the weights.</summary>
    /// <param name="content">The whole file.</param>
    /// <param name="format">Its format.</param>
    /// <param name="name">A name for messages (e.g. the file name).</param>
    /// <param name="options">Settings the file cannot hold, and the kernel; null for the file's own or defaults.</param>
    /// <param name="details">The sample rate the file names, and whether the Elman nonlinearity was assumed.</param>
    /// <exception cref="ModelFormatException">The content is malformed, inconsistent or unsupported.</exception>
    /// <exception cref="ArgumentException">The kernel is unknown or unsupported here.</exception>
    public static RnnModel Load(ReadOnlyMemory<byte> content, ModelFileFormat format, string name, ModelLoadOptions? options,
        out ModelFileDetails details)
    {
        ArgumentNullException.ThrowIfNull(name);
        CheckKernel(options);
        ModelDescription description = format switch
        {
            ModelFileFormat.Safetensors => StateDictMapper.Map(SafetensorsReader.Read(content.Span, name), options),
            ModelFileFormat.Nam => NamFile.Read(content, name),
            ModelFileFormat.StateDictJson => StateDictJson.Read(content, name, options),
            _ => throw new ArgumentOutOfRangeException(nameof(format), format, "Unknown model file format."),
        };
        if (format == ModelFileFormat.Nam)
        {
            // A .nam file has no place for these, so options apply on top of what the file fixes.
            if (options?.HeadActivation is { } g)
            {
                description.HeadActivation = g;
            }
            if (options?.Skip is { } skip)
            {
                description.Skip = skip;
            }
        }
        RnnModel model = ModelAssembler.Build(description, options);
        details = new ModelFileDetails(name, format, description.SampleRate, description.NonlinearityAssumed);
        return model;
    }

    /// <summary>A kernel named in the options is the caller's argument, not the file's content: checked first, reported as such.</summary>
    private static void CheckKernel(ModelLoadOptions? options)
    {
        if (options?.Kernel is not { } kernel || RnnKernels.Available.Contains(kernel, StringComparer.OrdinalIgnoreCase))
        {
            return;
        }
        throw new ArgumentException(RnnKernels.All.Contains(kernel, StringComparer.OrdinalIgnoreCase)
            ? $"Kernel '{kernel}' is not supported on this machine; available here: {string.Join(", ", RnnKernels.Available)}."
            : $"Unknown kernel '{kernel}'; available here: {string.Join(", ", RnnKernels.Available)}.", nameof(options));
    }

    /// <summary>Loads a model from bytes already in memory (an embedded resource, a download).</summary>
    /// <param name="content">The whole file.</param>
    /// <param name="format">Its format.</param>
    /// <param name="options">Settings the file cannot hold, and the kernel; null for the file's own or defaults.</param>
    /// <exception cref="ModelFormatException">The content is malformed, inconsistent or unsupported (named "(memory)" in messages).</exception>
    public static RnnModel Load(ReadOnlyMemory<byte> content, ModelFileFormat format, ModelLoadOptions? options = null) =>
        Load(content, format, "(memory)", options);

    /// <summary>
    /// Loads a model from a stream read to its end, e.g. <c>Assembly.GetManifestResourceStream("model.safetensors")</c>.
    /// The stream is not disposed.
    /// </summary>
    /// <param name="stream">A readable stream positioned at the start of the model.</param>
    /// <param name="format">Its format.</param>
    /// <param name="options">Settings the file cannot hold, and the kernel; null for the file's own or defaults.</param>
    /// <exception cref="ModelFormatException">The content is malformed, inconsistent or unsupported.</exception>
    /// <exception cref="IOException">The stream cannot be read.</exception>
    public static RnnModel Load(Stream stream, ModelFileFormat format, ModelLoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        string name = stream is FileStream file ? Path.GetFileName(file.Name) : "(stream)";
        if (stream is MemoryStream memory && memory.TryGetBuffer(out ArraySegment<byte> buffer))
        {
            // No copy: the rest of the stream's own buffer.
            return Load(buffer.AsMemory((int)Math.Min(memory.Position, buffer.Count)), format, name, options);
        }
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return Load(copy.GetBuffer().AsMemory(0, (int)copy.Length), format, name, options);
    }

    /// <summary>
    /// The metadata key for the layout a model was trained with: <c>"true"</c> for batch-first <c>[B, T, I]</c>,
    /// <c>"false"</c> for time-major <c>[T, B, I]</c>. Written by <c>tools/export/rnnfast_export.py</c>; <c>rnnfast run</c>
    /// follows it. <see cref="RnnModel.Run(ReadOnlySpan{float}, int, RnnState, Span{float})"/> itself is always time-major.
    /// </summary>
    public const string BatchFirstKey = "rnnfast.batch_first";

    /// <summary>
    /// Reads <see cref="BatchFirstKey"/> from a safetensors file: true (batch-first), false (time-major), or null when
    /// the file does not say or is not safetensors.
    /// </summary>
    /// <param name="path">The model file.</param>
    /// <exception cref="ModelFormatException">The file is malformed or the value is not true/false.</exception>
    /// <exception cref="ArgumentException">The extension is not a model file's.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static bool? ReadBatchFirst(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (FormatOf(path) != ModelFileFormat.Safetensors)
        {
            return null;
        }
        string name = Path.GetFileName(path);
        TensorSet set = SafetensorsReader.Read(File.ReadAllBytes(path), name);
        if (!set.Metadata.TryGetValue(BatchFirstKey, out string? text))
        {
            return null;
        }
        return text.ToUpperInvariant() switch
        {
            "TRUE" or "1" => true,
            "FALSE" or "0" => false,
            _ => throw new ModelFormatException(name, BatchFirstKey, $"\"{text}\" is not true or false."),
        };
    }

    /// <summary>The format a path's extension names.</summary>
    /// <exception cref="ArgumentException">The extension is not <c>.safetensors</c>, <c>.nam</c> or <c>.json</c>.</exception>
    public static ModelFileFormat FormatOf(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return Path.GetExtension(path).ToUpperInvariant() switch
        {
            ".SAFETENSORS" => ModelFileFormat.Safetensors,
            ".NAM" => ModelFileFormat.Nam,
            ".JSON" => ModelFileFormat.StateDictJson,
            _ => throw new ArgumentException($"'{path}': unknown model file type; use .safetensors, .nam or .json.", nameof(path)),
        };
    }

    /// <summary>
    /// Saves <paramref name="model"/> as safetensors that <see cref="Load(string, ModelLoadOptions?)"/> reads back to
    /// bitwise-equal weights: <c>rnn.weight_ih_l{k}</c>... (PyTorch names), <c>head.weight</c>, <c>head.bias</c>, and the
    /// <c>rnnfast.*</c> metadata. Float32 models are all F32. A bf16 model's weight matrices are BF16 and an int8 model's
    /// are I8 with F32 <c>{matrix}.scale</c> tensors, its own values and scales (biases F32), with
    /// <c>rnnfast.weight_precision</c>; they load back with the same precision (docs/precision-files.md). The file is
    /// written to a temporary name beside <paramref name="path"/> and renamed, so a failure leaves no partial file.
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="path">Destination; replaced if it exists.</param>
    /// <exception cref="IOException">The file cannot be written; the message names <paramref name="path"/>.</exception>
    public static void SaveSafetensors(RnnModel model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(path);
        string full = Path.GetFullPath(path);
        string temporary = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write))
            {
                SaveSafetensors(model, stream);
            }
            File.Move(temporary, full, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Name the file the caller asked for, not the hidden temporary one.
            throw new IOException($"{path}: cannot write: {e.Message.Replace(temporary, path, StringComparison.Ordinal)}", e);
        }
        finally
        {
            try
            {
                File.Delete(temporary);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The folder is missing or unwritable: no temporary file was made.
            }
        }
    }

    /// <summary>Writes <paramref name="model"/> as safetensors to a stream (see <see cref="SaveSafetensors(RnnModel, string)"/>).</summary>
    /// <param name="model">The model.</param>
    /// <param name="stream">A writable stream.</param>
    public static void SaveSafetensors(RnnModel model, Stream stream)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(stream);
        (List<Tensor> tensors, Dictionary<string, string> metadata) = ModelExporter.Export(model);
        SafetensorsWriter.Write(stream, tensors, metadata);
    }
}
