using System.Buffers.Binary;
using System.Text.Json;

namespace Rnn.Fast.IO;

/// <summary>
/// Writes tensors as safetensors, in the given order, with string metadata: F32 (the default), BF16 (values that are
/// exact bfloat16, written as their upper 16 bits) or I8 (<see cref="Tensor.Int8"/>).
/// </summary>
internal static class SafetensorsWriter
{
    public static void Write(Stream stream, IReadOnlyList<Tensor> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        // Checked before the first byte goes out, so a refused tensor leaves the stream untouched.
        foreach (Tensor tensor in tensors)
        {
            CheckWritable(tensor);
        }
        var json = new MemoryStream();
        using (var writer = new Utf8JsonWriter(json))
        {
            writer.WriteStartObject();
            if (metadata.Count > 0)
            {
                writer.WriteStartObject("__metadata__");
                foreach (KeyValuePair<string, string> item in metadata.OrderBy(p => p.Key, StringComparer.Ordinal))
                {
                    writer.WriteString(item.Key, item.Value);
                }
                writer.WriteEndObject();
            }
            long offset = 0;
            foreach (Tensor tensor in tensors)
            {
                writer.WriteStartObject(tensor.Name);
                writer.WriteString("dtype", tensor.Type.ToString());
                writer.WriteStartArray("shape");
                foreach (int dim in tensor.Shape)
                {
                    writer.WriteNumberValue(dim);
                }
                writer.WriteEndArray();
                writer.WriteStartArray("data_offsets");
                writer.WriteNumberValue(offset);
                offset += ByteCount(tensor);
                writer.WriteNumberValue(offset);
                writer.WriteEndArray();
                writer.WriteEndObject();
            }
            writer.WriteEndObject();
        }
        // The specification pads the header with spaces so the data starts 8-byte aligned (for memory mapping).
        int padding = (int)((8 - json.Length % 8) % 8);
        for (int i = 0; i < padding; i++)
        {
            json.WriteByte((byte)' ');
        }

        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)json.Length);
        stream.Write(length);
        json.Position = 0;
        json.CopyTo(stream);
        byte[] buffer = new byte[4096];
        foreach (Tensor tensor in tensors)
        {
            if (tensor.Type == TensorType.I8)
            {
                stream.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(tensor.Int8.AsSpan()));
                continue;
            }
            if (tensor.Type == TensorType.BF16)
            {
                WriteBFloat16(stream, tensor, buffer);
                continue;
            }
            for (int i = 0; i < tensor.Data.Length; i += buffer.Length / 4)
            {
                int count = Math.Min(buffer.Length / 4, tensor.Data.Length - i);
                for (int j = 0; j < count; j++)
                {
                    // Bitwise copy (NaN payloads included), little-endian whatever the machine.
                    BinaryPrimitives.WriteSingleLittleEndian(buffer.AsSpan(4 * j), tensor.Data[i + j]);
                }
                stream.Write(buffer, 0, 4 * count);
            }
        }
    }

    /// <summary>The writer never rounds: a BF16 tensor holds exact bfloat16 values (a bf16 model's weights), else it is a bug.</summary>
    private static void CheckWritable(Tensor tensor)
    {
        if (tensor.Type is not (TensorType.F32 or TensorType.BF16 or TensorType.I8))
        {
            throw new ArgumentException($"Tensor '{tensor.Name}': writing {tensor.Type} is not supported.", nameof(tensor));
        }
        if (tensor.Type != TensorType.BF16)
        {
            return;
        }
        for (int i = 0; i < tensor.Data.Length; i++)
        {
            float value = tensor.Data[i];
            if (!float.IsFinite(value) || WeightQuantization.FromBFloat16(WeightQuantization.ToBFloat16(value)) != value)
            {
                throw new ArgumentException($"Tensor '{tensor.Name}' element {i} = {value} is not a finite bfloat16 value.", nameof(tensor));
            }
        }
    }

    private static long ByteCount(Tensor tensor) => tensor.Type switch
    {
        TensorType.I8 => tensor.Int8.Length,
        TensorType.BF16 => 2L * tensor.Data.Length,
        _ => 4L * tensor.Data.Length,
    };

    private static void WriteBFloat16(Stream stream, Tensor tensor, byte[] buffer)
    {
        for (int i = 0; i < tensor.Data.Length; i += buffer.Length / 2)
        {
            int count = Math.Min(buffer.Length / 2, tensor.Data.Length - i);
            for (int j = 0; j < count; j++)
            {
                BinaryPrimitives.WriteUInt16LittleEndian(buffer.AsSpan(2 * j), WeightQuantization.ToBFloat16(tensor.Data[i + j]));
            }
            stream.Write(buffer, 0, 2 * count);
        }
    }
}
