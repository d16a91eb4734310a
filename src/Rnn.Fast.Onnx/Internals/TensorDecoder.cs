using System.Buffers.Binary;
using Onnx;

namespace Rnn.Fast.Onnx.Internals;

/// <summary>
/// Turns a <c>TensorProto</c> into a <see cref="ConstTensor"/>. The element count the dims claim is checked against the
/// bytes (or repeated values) the file really holds before anything is allocated, so a tensor that claims 10^12
/// elements costs nothing. External data is refused: a model's weights must be inside the file.
/// </summary>
internal static class TensorDecoder
{
    // TensorProto.DataType values (onnx.proto).
    private const int Float = 1;
    private const int Int32 = 6;
    private const int Int64 = 7;
    private const int Float16 = 10;
    private const int Double = 11;
    private const int BFloat16 = 16;

    /// <summary>Decodes <paramref name="tensor"/>; <paramref name="fail"/> builds the exception for a problem.</summary>
    public static ConstTensor Decode(TensorProto tensor, Func<string, Exception> fail)
    {
        if (tensor.DataLocation == TensorProto.Types.DataLocation.External || tensor.ExternalData.Count > 0)
        {
            throw fail("The tensor's data is stored outside the model file (external data), which is not supported; save the model with its weights inside the file.");
        }
        if (tensor.Segment is not null)
        {
            throw fail("Segmented tensors are not supported.");
        }
        if (tensor.Dims.Count > 8)
        {
            throw fail($"The tensor has {tensor.Dims.Count} dimensions; at most 8 are supported.");
        }
        long count = ConstTensor.CountOf([.. tensor.Dims], Folding.MaxElements);
        if (count < 0)
        {
            throw fail($"The shape [{string.Join(", ", tensor.Dims)}] is negative or too large.");
        }
        int[] shape = [.. tensor.Dims.Select(d => (int)d)];
        int n = (int)count;
        ReadOnlySpan<byte> raw = tensor.RawData.Span;
        bool hasRaw = !tensor.RawData.IsEmpty;
        switch (tensor.DataType)
        {
            case Float:
                return ConstTensor.Float(shape, hasRaw ? Raw(raw, n, 4, fail, (b, _) => BinaryPrimitives.ReadSingleLittleEndian(b)) : Typed(tensor.FloatData, n, fail));
            case Double:
                return ConstTensor.Float(shape, hasRaw
                    ? Raw(raw, n, 8, fail, (b, _) => (float)BinaryPrimitives.ReadDoubleLittleEndian(b))
                    : [.. Typed(tensor.DoubleData, n, fail).Select(d => (float)d)]);
            case Float16:
                return ConstTensor.Float(shape, hasRaw
                    ? Raw(raw, n, 2, fail, (b, _) => (float)BinaryPrimitives.ReadHalfLittleEndian(b))
                    : [.. Typed(tensor.Int32Data, n, fail).Select(bits => (float)BitConverter.UInt16BitsToHalf((ushort)bits))]);
            case BFloat16:
                return ConstTensor.Float(shape, hasRaw
                    ? Raw(raw, n, 2, fail, (b, _) => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(b) << 16))
                    : [.. Typed(tensor.Int32Data, n, fail).Select(bits => BitConverter.Int32BitsToSingle((bits & 0xFFFF) << 16))]);
            case Int64:
                return ConstTensor.Int(shape, hasRaw ? Raw(raw, n, 8, fail, (b, _) => BinaryPrimitives.ReadInt64LittleEndian(b)) : Typed(tensor.Int64Data, n, fail));
            case Int32:
                return ConstTensor.Int(shape, hasRaw
                    ? Raw(raw, n, 4, fail, (b, _) => (long)BinaryPrimitives.ReadInt32LittleEndian(b))
                    : [.. Typed(tensor.Int32Data, n, fail).Select(i => (long)i)]);
            default:
                throw fail($"Data type {tensor.DataType} is not supported (float32, float64, float16, bfloat16, int32 and int64 are).");
        }
    }

    private static T[] Raw<T>(ReadOnlySpan<byte> raw, int count, int size, Func<string, Exception> fail, Func<ReadOnlySpan<byte>, int, T> read)
    {
        if (raw.Length != (long)count * size)
        {
            throw fail($"The shape needs {(long)count * size} bytes of raw data but the file holds {raw.Length}.");
        }
        var values = new T[count];
        for (int k = 0; k < count; k++)
        {
            values[k] = read(raw.Slice(k * size, size), k);
        }
        return values;
    }

    private static T[] Typed<T>(IReadOnlyList<T> data, int count, Func<string, Exception> fail)
    {
        if (data.Count != count)
        {
            throw fail($"The shape needs {count} values but the file holds {data.Count}.");
        }
        return [.. data];
    }
}
