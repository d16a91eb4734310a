namespace Rnn.Fast.Onnx.Internals;

/// <summary>
/// A constant tensor the importer can compute with: float (weights, states) or integer (shapes, indices, axes).
/// Row-major; <see cref="Shape"/> may be empty (a scalar). Sizes are checked by the code that creates one, so a
/// tensor never holds more elements than the file really stored or than <see cref="Folding.MaxElements"/>.
/// </summary>
internal sealed class ConstTensor
{
    private ConstTensor(int[] shape, float[]? floats, long[]? ints)
    {
        Shape = shape;
        Floats = floats;
        Ints = ints;
    }

    public int[] Shape { get; }

    /// <summary>The values of a float tensor; null for an integer one.</summary>
    public float[]? Floats { get; }

    /// <summary>The values of an integer tensor; null for a float one.</summary>
    public long[]? Ints { get; }

    public bool IsFloat => Floats is not null;

    public int Rank => Shape.Length;

    public int Count => Floats?.Length ?? Ints!.Length;

    public static ConstTensor Float(int[] shape, float[] values) => new(shape, values, null);

    public static ConstTensor Int(int[] shape, long[] values) => new(shape, null, values);

    /// <summary>A 1-D integer tensor.</summary>
    public static ConstTensor Vector(params long[] values) => new([values.Length], null, values);

    /// <summary>Same values, another shape (the caller checked the element count).</summary>
    public ConstTensor WithShape(int[] shape) => new(shape, Floats, Ints);

    /// <summary>
    /// Element count of <paramref name="shape"/>, or -1 when a size is negative or the product of the sizes (zeros
    /// counted as 1, so no sub-product of a shape can overflow either) exceeds <paramref name="limit"/>.
    /// </summary>
    public static long CountOf(ReadOnlySpan<long> shape, long limit)
    {
        long product = 1;
        bool empty = false;
        foreach (long d in shape)
        {
            if (d < 0 || d > limit)
            {
                return -1;
            }
            empty |= d == 0;
            long factor = Math.Max(d, 1);
            if (product > limit / factor)
            {
                return -1;
            }
            product *= factor;
        }
        return empty ? 0 : product;
    }

    /// <summary>A new tensor of <paramref name="shape"/> whose element <c>k</c> is element <c>source[k]</c> of this one.</summary>
    public ConstTensor Gathered(int[] shape, int[] source)
    {
        if (Floats is { } f)
        {
            var values = new float[source.Length];
            for (int k = 0; k < source.Length; k++)
            {
                values[k] = f[source[k]];
            }
            return Float(shape, values);
        }
        var ints = new long[source.Length];
        for (int k = 0; k < source.Length; k++)
        {
            ints[k] = Ints![source[k]];
        }
        return Int(shape, ints);
    }

    /// <summary>Row-major strides of <paramref name="shape"/>.</summary>
    public static int[] Strides(int[] shape)
    {
        var strides = new int[shape.Length];
        int stride = 1;
        for (int a = shape.Length - 1; a >= 0; a--)
        {
            strides[a] = stride;
            stride *= shape[a];
        }
        return strides;
    }

    public override string ToString() => $"{(IsFloat ? "float" : "int")}[{string.Join(", ", Shape)}]";
}
