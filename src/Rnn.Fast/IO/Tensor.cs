namespace Rnn.Fast.IO;

/// <summary>A named float tensor read from (or to be written to) a file: row-major data of the given shape.</summary>
internal sealed class Tensor
{
    public Tensor(string name, int[] shape, float[] data)
    {
        Name = name;
        Shape = shape;
        Data = data;
    }

    public string Name { get; }
    public int[] Shape { get; }
    public float[] Data { get; }

    public string ShapeText => $"[{string.Join(", ", Shape)}]";

    public static Tensor Vector(string name, ReadOnlySpan<float> data) => new(name, [data.Length], data.ToArray());

    public static Tensor Matrix(string name, int rows, int columns, ReadOnlySpan<float> data) => new(name, [rows, columns], data.ToArray());
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
