using System.Buffers.Binary;
using System.Text.Json;

namespace Rnn.Fast.IO;

/// <summary>
/// Reads the safetensors format: an 8-byte little-endian header length N, N bytes of UTF-8 JSON
/// <c>{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {string: string}}</c>, then the
/// raw little-endian data, offsets being relative to its start. F32 is read as is; F16, BF16 and F64 are
/// converted to float (F16 and BF16 exactly); I8 (int8 weight matrices, docs/precision-files.md) is kept as integers.
/// Each tensor keeps its dtype, which says what precision a model's weights were saved in.
/// </summary>
/// <remarks>
/// The file is untrusted: every size the header declares is checked against the bytes actually present before
/// anything is allocated for it, and, as the format's specification requires, the tensors must tile the data
/// section exactly (no overlap, no hole, nothing after the last tensor), which also rules out aliasing tricks.
/// </remarks>
internal static class SafetensorsReader
{
    // The reference implementation refuses headers over 100 MB; a header that large is an attack, not a model.
    private const long MaxHeaderBytes = 100_000_000;

    private const string MetadataKey = "__metadata__";

    public static TensorSet Read(ReadOnlySpan<byte> file, string fileName)
    {
        if (file.Length < 8)
        {
            throw new ModelFormatException(fileName, null, $"The file has {file.Length} bytes; a safetensors file starts with an 8-byte header length.");
        }
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(file);
        if (headerLength > (ulong)(file.Length - 8))
        {
            throw new ModelFormatException(fileName, null,
                $"The header length is {headerLength} bytes but only {file.Length - 8} bytes follow it (truncated file, or not safetensors).");
        }
        if (headerLength > MaxHeaderBytes)
        {
            throw new ModelFormatException(fileName, null, $"The header length {headerLength} exceeds the limit of {MaxHeaderBytes} bytes.");
        }
        if (headerLength < 2)
        {
            throw new ModelFormatException(fileName, null, $"The header length is {headerLength}; the header must be a JSON object.");
        }
        ReadOnlySpan<byte> header = file.Slice(8, (int)headerLength);
        ReadOnlySpan<byte> data = file[(8 + (int)headerLength)..];

        // JsonDocument checks structure on parse but UTF-8 only when a string is read (InvalidOperationException then).
        if (!System.Text.Unicode.Utf8.IsValid(header))
        {
            throw new ModelFormatException(fileName, null, "The header is not valid UTF-8.");
        }
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(header.ToArray(), new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException e)
        {
            throw new ModelFormatException(fileName, null, $"The header is not valid JSON: {e.Message}", e);
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new ModelFormatException(fileName, null, $"The header must be a JSON object, not {document.RootElement.ValueKind}.");
            }
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var entries = new List<Entry>();
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (JsonProperty property in document.RootElement.EnumerateObject())
            {
                if (!names.Add(property.Name))
                {
                    throw new ModelFormatException(fileName, property.Name, "The name appears twice in the header.");
                }
                if (property.Name == MetadataKey)
                {
                    ReadMetadata(property.Value, fileName, metadata);
                }
                else
                {
                    entries.Add(ReadEntry(property, fileName));
                }
            }
            CheckTiling(entries, data.Length, fileName);

            var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            foreach (Entry entry in entries)
            {
                ReadOnlySpan<byte> bytes = data[(int)entry.Begin..(int)entry.End];
                tensors.Add(entry.Name, entry.DType == TensorType.I8
                    ? new Tensor(entry.Name, entry.Shape, System.Runtime.InteropServices.MemoryMarshal.Cast<byte, sbyte>(bytes).ToArray())
                    : new Tensor(entry.Name, entry.Shape, Convert(bytes, entry.DType), entry.DType));
            }
            return new TensorSet(fileName, tensors, metadata);
        }
    }

    private sealed record Entry(string Name, TensorType DType, int[] Shape, long Begin, long End);

    private static void ReadMetadata(JsonElement value, string fileName, Dictionary<string, string> metadata)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw new ModelFormatException(fileName, MetadataKey, $"Must be an object of strings, not {value.ValueKind}.");
        }
        foreach (JsonProperty item in value.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.String)
            {
                throw new ModelFormatException(fileName, $"{MetadataKey}.{item.Name}", $"Metadata values must be strings, not {item.Value.ValueKind}.");
            }
            if (!metadata.TryAdd(item.Name, item.Value.GetString()!))
            {
                throw new ModelFormatException(fileName, $"{MetadataKey}.{item.Name}", "The key appears twice.");
            }
        }
    }

    private static Entry ReadEntry(JsonProperty property, string fileName)
    {
        string name = property.Name;
        JsonElement value = property.Value;
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw new ModelFormatException(fileName, name, $"A tensor entry must be an object with dtype, shape and data_offsets, not {value.ValueKind}.");
        }
        if (!value.TryGetProperty("dtype", out JsonElement dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
        {
            throw new ModelFormatException(fileName, name, "Missing or non-string \"dtype\".");
        }
        string dtypeText = dtypeElement.GetString()!;
        TensorType dtype = dtypeText switch
        {
            "F32" => TensorType.F32,
            "F16" => TensorType.F16,
            "BF16" => TensorType.BF16,
            "F64" => TensorType.F64,
            "I8" => TensorType.I8,
            _ => throw new ModelFormatException(fileName, name, $"dtype \"{dtypeText}\" is not supported (F32, F16, BF16, F64, or I8 for int8 weights)."),
        };
        if (!value.TryGetProperty("shape", out JsonElement shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
        {
            throw new ModelFormatException(fileName, name, "Missing or non-array \"shape\".");
        }
        int rank = shapeElement.GetArrayLength();
        if (rank > 8)
        {
            throw new ModelFormatException(fileName, name, $"A shape of rank {rank} is not a model weight.");
        }
        var shape = new int[rank];
        long elements = 1;
        int d = 0;
        foreach (JsonElement dim in shapeElement.EnumerateArray())
        {
            if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt64(out long size) || size < 0 || size > Array.MaxLength)
            {
                throw new ModelFormatException(fileName, name, $"Shape dimension {d} is not a non-negative integer within array limits.");
            }
            shape[d++] = (int)size;
            // Each factor is at most Array.MaxLength and the running product is capped below, so this cannot overflow.
            elements *= size;
            if (elements > Array.MaxLength)
            {
                throw new ModelFormatException(fileName, name, $"The shape [{string.Join(", ", shape[..d])}...] has more elements than an array can hold.");
            }
        }
        if (!value.TryGetProperty("data_offsets", out JsonElement offsets) || offsets.ValueKind != JsonValueKind.Array || offsets.GetArrayLength() != 2)
        {
            throw new ModelFormatException(fileName, name, "Missing \"data_offsets\" or not an array [begin, end].");
        }
        JsonElement beginElement = offsets[0];
        JsonElement endElement = offsets[1];
        if (beginElement.ValueKind != JsonValueKind.Number || !beginElement.TryGetInt64(out long begin)
            || endElement.ValueKind != JsonValueKind.Number || !endElement.TryGetInt64(out long end)
            || begin < 0 || end < begin)
        {
            throw new ModelFormatException(fileName, name, "data_offsets must be two integers 0 <= begin <= end.");
        }
        long expectedBytes = elements * SizeOf(dtype);
        if (end - begin != expectedBytes)
        {
            throw new ModelFormatException(fileName, name,
                $"data_offsets [{begin}, {end}] span {end - begin} bytes but shape [{string.Join(", ", shape)}] of {dtypeText} needs {expectedBytes}.");
        }
        return new Entry(name, dtype, shape, begin, end);
    }

    /// <summary>Sorted by offset, the tensors must cover [0, dataLength) exactly: no overlap, no hole, nothing after.</summary>
    private static void CheckTiling(List<Entry> entries, int dataLength, string fileName)
    {
        entries.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
        long position = 0;
        foreach (Entry entry in entries)
        {
            if (entry.End > dataLength)
            {
                throw new ModelFormatException(fileName, entry.Name,
                    $"data_offsets [{entry.Begin}, {entry.End}] go beyond the {dataLength} data bytes in the file (truncated?).");
            }
            if (entry.Begin < position)
            {
                throw new ModelFormatException(fileName, entry.Name, $"data_offsets [{entry.Begin}, {entry.End}] overlap the previous tensor, which ends at {position}.");
            }
            if (entry.Begin > position)
            {
                throw new ModelFormatException(fileName, entry.Name, $"data_offsets start at {entry.Begin} leaving a hole after byte {position}.");
            }
            position = entry.End;
        }
        if (position != dataLength)
        {
            throw new ModelFormatException(fileName, null, $"The tensors cover {position} bytes but the data section has {dataLength} bytes.");
        }
    }

    public static int SizeOf(TensorType dtype) => dtype switch
    {
        TensorType.I8 => 1,
        TensorType.F16 or TensorType.BF16 => 2,
        TensorType.F64 => 8,
        _ => 4,
    };

    private static float[] Convert(ReadOnlySpan<byte> bytes, TensorType dtype)
    {
        var values = new float[bytes.Length / SizeOf(dtype)];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = dtype switch
            {
                TensorType.F32 => BinaryPrimitives.ReadSingleLittleEndian(bytes[(4 * i)..]),
                TensorType.F16 => (float)BinaryPrimitives.ReadHalfLittleEndian(bytes[(2 * i)..]),
                // bfloat16 is the top half of a float32.
                TensorType.BF16 => WeightQuantization.FromBFloat16(BinaryPrimitives.ReadUInt16LittleEndian(bytes[(2 * i)..])),
                _ => (float)BinaryPrimitives.ReadDoubleLittleEndian(bytes[(8 * i)..]),
            };
        }
        return values;
    }
}
