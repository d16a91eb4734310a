using System.Buffers.Binary;
using System.Text.Json;

namespace Rnn.Fast.IO;

/// <summary>Writes tensors as F32 safetensors, in the given order, with string metadata.</summary>
internal static class SafetensorsWriter
{
    public static void Write(Stream stream, IReadOnlyList<Tensor> tensors, IReadOnlyDictionary<string, string> metadata)
    {
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
                writer.WriteString("dtype", "F32");
                writer.WriteStartArray("shape");
                foreach (int dim in tensor.Shape)
                {
                    writer.WriteNumberValue(dim);
                }
                writer.WriteEndArray();
                writer.WriteStartArray("data_offsets");
                writer.WriteNumberValue(offset);
                offset += 4L * tensor.Data.Length;
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
}
