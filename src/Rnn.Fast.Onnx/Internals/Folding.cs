namespace Rnn.Fast.Onnx.Internals;

/// <summary>A problem found while evaluating a node; the importer adds the file and node names.</summary>
internal sealed class NodeProblem(string message) : Exception(message);

/// <summary>
/// Constant folding of the layout operators torch.onnx inserts (Gather, Unsqueeze, Squeeze, Concat, Slice,
/// Transpose, Reshape) on <see cref="ConstTensor"/>s, following the ONNX operator definitions. Every result is
/// capped at <see cref="MaxElements"/>, so chains of Concat cannot grow without bound.
/// </summary>
internal static class Folding
{
    /// <summary>Most elements one folded (or stored) tensor may have: 2^26 floats, 256 MiB.</summary>
    public const long MaxElements = 1L << 26;

    public static int Axis(long axis, int rank, string what)
    {
        if (axis < -rank || axis >= rank)
        {
            throw new NodeProblem($"{what} {axis} is out of range for rank {rank}.");
        }
        return (int)(axis < 0 ? axis + rank : axis);
    }

    public static int Size(long value, string what)
    {
        if (value < 0 || value > MaxElements)
        {
            throw new NodeProblem($"{what} {value} is negative or too large.");
        }
        return (int)value;
    }

    public static ConstTensor Gather(ConstTensor data, ConstTensor indices, long axisAttribute)
    {
        if (indices.IsFloat)
        {
            throw new NodeProblem("Gather indices must be integers.");
        }
        if (data.Rank == 0)
        {
            throw new NodeProblem("Gather of a scalar.");
        }
        int axis = Axis(axisAttribute, data.Rank, "Gather axis");
        int n = data.Shape[axis];
        int[] shape = [.. data.Shape[..axis], .. indices.Shape, .. data.Shape[(axis + 1)..]];
        int outer = data.Shape[..axis].Aggregate(1, (a, b) => a * b);
        int inner = data.Shape[(axis + 1)..].Aggregate(1, (a, b) => a * b);
        Check(shape);
        var source = new int[outer * indices.Count * inner];
        int k = 0;
        for (int o = 0; o < outer; o++)
        {
            foreach (long raw in indices.Ints!)
            {
                if (raw < -n || raw >= n)
                {
                    throw new NodeProblem($"Gather index {raw} is out of range for an axis of {n}.");
                }
                long index = raw < 0 ? raw + n : raw;
                for (int i = 0; i < inner; i++)
                {
                    source[k++] = (int)((o * n + index) * inner + i);
                }
            }
        }
        return data.Gathered(shape, source);
    }

    public static int[] Unsqueezed(int[] shape, long[] axes)
    {
        int rank = shape.Length + axes.Length;
        var insert = new bool[rank];
        foreach (long a in axes)
        {
            int axis = Axis(a, rank, "Unsqueeze axis");
            if (insert[axis])
            {
                throw new NodeProblem($"Unsqueeze axis {a} is repeated.");
            }
            insert[axis] = true;
        }
        var result = new int[rank];
        int k = 0;
        for (int a = 0; a < rank; a++)
        {
            result[a] = insert[a] ? 1 : shape[k++];
        }
        return result;
    }

    /// <summary>Which axes a Squeeze removes: the given ones (each must be 1) or, with none given, every size-1 axis.</summary>
    public static bool[] SqueezeMask(int rank, long[]? axes, Func<int, bool> isOne)
    {
        var remove = new bool[rank];
        if (axes is null)
        {
            for (int a = 0; a < rank; a++)
            {
                remove[a] = isOne(a);
            }
            return remove;
        }
        foreach (long a in axes)
        {
            int axis = Axis(a, rank, "Squeeze axis");
            if (!isOne(axis))
            {
                throw new NodeProblem($"Squeeze axis {a} does not have size 1.");
            }
            remove[axis] = true;
        }
        return remove;
    }

    public static ConstTensor Concat(IReadOnlyList<ConstTensor> inputs, long axisAttribute)
    {
        ConstTensor first = inputs[0];
        if (first.Rank == 0)
        {
            throw new NodeProblem("Concat of scalars.");
        }
        int axis = Axis(axisAttribute, first.Rank, "Concat axis");
        long total = 0;
        foreach (ConstTensor t in inputs)
        {
            if (t.IsFloat != first.IsFloat || t.Rank != first.Rank)
            {
                throw new NodeProblem("Concat inputs differ in type or rank.");
            }
            for (int a = 0; a < t.Rank; a++)
            {
                if (a != axis && t.Shape[a] != first.Shape[a])
                {
                    throw new NodeProblem("Concat inputs differ in shape off the concatenation axis.");
                }
            }
            total += t.Shape[axis];
        }
        int[] shape = [.. first.Shape];
        shape[axis] = Size(total, "Concatenated size");
        Check(shape);
        int outer = shape[..axis].Aggregate(1, (a, b) => a * b);
        int inner = shape[(axis + 1)..].Aggregate(1, (a, b) => a * b);
        int count = (int)ConstTensor.CountOf([.. shape.Select(d => (long)d)], MaxElements);
        if (first.IsFloat)
        {
            var values = new float[count];
            int k = 0;
            for (int o = 0; o < outer; o++)
            {
                foreach (ConstTensor t in inputs)
                {
                    int block = t.Shape[axis] * inner;
                    t.Floats.AsSpan(o * block, block).CopyTo(values.AsSpan(k));
                    k += block;
                }
            }
            return ConstTensor.Float(shape, values);
        }
        var ints = new long[count];
        int m = 0;
        for (int o = 0; o < outer; o++)
        {
            foreach (ConstTensor t in inputs)
            {
                int block = t.Shape[axis] * inner;
                t.Ints.AsSpan(o * block, block).CopyTo(ints.AsSpan(m));
                m += block;
            }
        }
        return ConstTensor.Int(shape, ints);
    }

    /// <summary>The (start, step, count) one Slice axis selects, by the ONNX clamping rules.</summary>
    public static (long Start, long Step, int Count) SliceRange(long start, long end, long step, long size)
    {
        if (step == 0)
        {
            throw new NodeProblem("Slice step 0.");
        }
        if (size <= 0)
        {
            return (0, step, 0);
        }
        // A step longer than the axis selects at most one element whatever its size; clamping keeps the arithmetic
        // below from overflowing.
        step = Math.Clamp(step, -size - 1, size + 1);
        if (start < 0)
        {
            start += size;
        }
        if (end < 0)
        {
            end += size;
        }
        if (step > 0)
        {
            start = Math.Clamp(start, 0, size);
            end = Math.Clamp(end, 0, size);
            return (start, step, end <= start ? 0 : (int)(1 + (end - start - 1) / step));
        }
        start = Math.Clamp(start, 0, size - 1);
        end = Math.Clamp(end, -1, size - 1);
        return (start, step, end >= start ? 0 : (int)(1 + (start - end - 1) / -step));
    }

    /// <summary>Slice arguments: per axis of <paramref name="shape"/>, (start, step, count), identity for unsliced axes.</summary>
    public static (long Start, long Step, int Count)[] SliceRanges(int[] shape, long[] starts, long[] ends, long[]? axes, long[]? steps)
    {
        int rank = shape.Length;
        if (ends.Length != starts.Length || (axes is not null && axes.Length != starts.Length) || (steps is not null && steps.Length != starts.Length))
        {
            throw new NodeProblem("Slice starts, ends, axes and steps differ in length.");
        }
        var ranges = new (long Start, long Step, int Count)[rank];
        for (int a = 0; a < rank; a++)
        {
            ranges[a] = (0, 1, shape[a]);
        }
        var seen = new bool[rank];
        for (int k = 0; k < starts.Length; k++)
        {
            int axis = Axis(axes?[k] ?? k, rank, "Slice axis");
            if (seen[axis])
            {
                throw new NodeProblem($"Slice axis {axis} is repeated.");
            }
            seen[axis] = true;
            ranges[axis] = SliceRange(starts[k], ends[k], steps?[k] ?? 1, shape[axis]);
        }
        return ranges;
    }

    public static ConstTensor Slice(ConstTensor data, (long Start, long Step, int Count)[] ranges)
    {
        int[] shape = [.. ranges.Select(r => r.Count)];
        int[] strides = ConstTensor.Strides(data.Shape);
        return data.Gathered(shape, Indices(shape, a => ranges[a].Start, a => ranges[a].Step, strides));
    }

    public static ConstTensor Transpose(ConstTensor data, long[]? permAttribute)
    {
        int rank = data.Rank;
        int[] perm = Permutation(permAttribute, rank);
        int[] shape = [.. perm.Select(p => data.Shape[p])];
        int[] strides = ConstTensor.Strides(data.Shape);
        int[] permuted = [.. perm.Select(p => strides[p])];
        return data.Gathered(shape, Indices(shape, _ => 0, _ => 1, permuted));
    }

    public static int[] Permutation(long[]? permAttribute, int rank)
    {
        int[] perm = permAttribute is null ? [.. Enumerable.Range(0, rank).Reverse()] : [.. permAttribute.Select(p => (int)Math.Clamp(p, -1, rank))];
        if (perm.Length != rank || perm.Order().Where((p, i) => p != i).Any())
        {
            throw new NodeProblem($"Transpose perm [{string.Join(", ", permAttribute ?? [])}] is not a permutation of {rank} axes.");
        }
        return perm;
    }

    /// <summary>Reshape target of a constant: 0 copies (unless allowzero), -1 is inferred.</summary>
    public static int[] ReshapeTarget(int[] shape, long[] target, bool allowZero)
    {
        long count = shape.Aggregate(1L, (a, b) => a * b);
        var result = new long[target.Length];
        int infer = -1;
        long known = 1;
        for (int k = 0; k < target.Length; k++)
        {
            long d = target[k];
            if (d == 0 && !allowZero)
            {
                if (k >= shape.Length)
                {
                    throw new NodeProblem($"Reshape copies axis {k}, which the input does not have.");
                }
                d = shape[k];
            }
            if (d == -1)
            {
                if (infer >= 0)
                {
                    throw new NodeProblem("Reshape has more than one -1.");
                }
                infer = k;
                continue;
            }
            if (d < 0 || d > MaxElements)
            {
                throw new NodeProblem($"Reshape size {d} is invalid.");
            }
            result[k] = d;
            known *= d;
            if (known > MaxElements)
            {
                throw new NodeProblem("Reshape target is too large.");
            }
        }
        if (infer >= 0)
        {
            if (known == 0 || count % known != 0)
            {
                throw new NodeProblem("Reshape cannot infer the -1 size.");
            }
            result[infer] = count / known;
            known = count;
        }
        if (known != count)
        {
            throw new NodeProblem($"Reshape from {count} to {known} elements.");
        }
        int[] reshaped = [.. result.Select(d => (int)d)];
        Check(reshaped);
        return reshaped;
    }

    public static void Check(int[] shape)
    {
        if (ConstTensor.CountOf([.. shape.Select(d => (long)d)], MaxElements) < 0)
        {
            throw new NodeProblem($"The result [{string.Join(", ", shape)}] is too large to fold.");
        }
    }

    // Source offsets of every element of an output of `shape`, walking axis a from start(a) in steps of step(a) with
    // the source stride strides[a].
    private static int[] Indices(int[] shape, Func<int, long> start, Func<int, long> step, int[] strides)
    {
        Check(shape);
        int count = shape.Aggregate(1, (a, b) => a * b);
        var source = new int[count];
        int rank = shape.Length;
        var index = new int[rank];
        for (int k = 0; k < count; k++)
        {
            long offset = 0;
            for (int a = 0; a < rank; a++)
            {
                offset += (start(a) + index[a] * step(a)) * strides[a];
            }
            source[k] = (int)offset;
            for (int a = rank - 1; a >= 0; a--)
            {
                if (++index[a] < shape[a])
                {
                    break;
                }
                index[a] = 0;
            }
        }
        return source;
    }
}
