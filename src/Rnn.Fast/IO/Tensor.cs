namespace Rnn.Fast.IO;

/// <summary>The element type of a tensor in a safetensors file (the header's <c>dtype</c>).</summary>
internal enum TensorType
{
    F32,
    F16,
    BF16,
    F64,

    /// <summary>Signed 8-bit integers: int8 weight matrices, read and written as <see cref="Tensor.Int8"/>.</summary>
    I8,
}

/// <summary>
/// A named tensor read from (or to be written to) a file: row-major data of the given shape. Floating-point tensors
/// hold their values as float32 in <see cref="Data"/> (converted exactly from F16 and BF16, rounded from F64);
/// an I8 tensor holds its integers in <see cref="Int8"/>, and once its scales are known (<see cref="WithScales"/>) also
/// its row scales and its dequantized values <c>q · s</c> in <see cref="Data"/>.
/// </summary>
internal sealed class Tensor
{
    public Tensor(string name, int[] shape, float[] data, TensorType type = TensorType.F32)
    {
        Name = name;
        Shape = shape;
        Data = data;
        Type = type;
        Int8 = [];
        Scales = [];
    }

    public Tensor(string name, int[] shape, sbyte[] int8, float[]? scales = null, float[]? dequantized = null)
    {
        Name = name;
        Shape = shape;
        Data = dequantized ?? [];
        Type = TensorType.I8;
        Int8 = int8;
        Scales = scales ?? [];
    }

    public string Name { get; }
    public int[] Shape { get; }

    /// <summary>The values of a floating-point tensor; empty for I8. A BF16 tensor to be written holds exact bfloat16 values.</summary>
    public float[] Data { get; }

    /// <summary>The dtype in the file (read), or to write.</summary>
    public TensorType Type { get; }

    /// <summary>The values of an I8 tensor; empty otherwise.</summary>
    public sbyte[] Int8 { get; }

    /// <summary>One scale per row of an I8 matrix (its <c>.scale</c> tensor), once applied by <see cref="WithScales"/>; else empty.</summary>
    public float[] Scales { get; }

    /// <summary>This I8 matrix <c>[rows, K]</c> with its row scales: <see cref="Data"/> becomes <c>q · s</c> in float32,
    /// the values an int8 model computes with (the same product as <see cref="Internals.ReducedMatrix.ValueAt"/>).</summary>
    public Tensor WithScales(float[] scales)
    {
        int columns = Shape[1];
        var values = new float[Int8.Length];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = Int8[i] * scales[i / columns];
        }
        return new Tensor(Name, Shape, Int8, scales, values);
    }

    /// <summary>True for F32, F16, BF16 and F64.</summary>
    public bool IsFloat => Type != TensorType.I8;

    public string ShapeText => $"[{string.Join(", ", Shape)}]";

    public static Tensor Vector(string name, ReadOnlySpan<float> data) => new(name, [data.Length], data.ToArray());

    public static Tensor Matrix(string name, int rows, int columns, ReadOnlySpan<float> data, TensorType type = TensorType.F32) =>
        new(name, [rows, columns], data.ToArray(), type);
}

/// <summary>The tensors of a file by name, with its string metadata (safetensors <c>__metadata__</c>).</summary>
internal sealed class TensorSet
{
    public TensorSet(string fileName, Dictionary<string, Tensor> tensors, Dictionary<string, string> metadata)
    {
        FileName = fileName;
        Tensors = tensors;
        Metadata = metadata;
    }

    public string FileName { get; }
    public Dictionary<string, Tensor> Tensors { get; }
    public Dictionary<string, string> Metadata { get; }
}
