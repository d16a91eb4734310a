using Onnx;

namespace Rnn.Fast.Onnx.Internals;

// Node evaluation, continued: the layout and shape-arithmetic nodes (Gather to Expand, Mul, Equal, Where).
internal sealed partial class GraphImporter
{
    private Value Gather(NodeProto node)
    {
        Value data = Required(node, 0);
        ConstTensor indices = Const(node, 1, "Gather indices");
        long axis = IntAttribute(node, "axis", 0);
        switch (data)
        {
            case ConstValue { Tensor: var t }:
                return new ConstValue(Folding.Gather(t, indices, axis));
            case DimsValue { Scalar: false } d when indices is { IsFloat: false, Rank: <= 1 }:
                Folding.Axis(axis, 1, "Gather axis");
                Dim[] picked = [.. indices.Ints!.Select(i => d.Dims[Folding.Axis(i, d.Dims.Length, "Gather index")])];
                return Dims(picked, indices.Rank == 0);
            case RuntimeValue or FinalStateValue:
                return data;
            case SeqValue:
                throw new NodeProblem("Selecting steps or streams from the sequence (Gather) is not supported: Rnn.Fast models output every step.");
            default:
                throw new NodeProblem("Gather of this value is not supported.");
        }
    }

    private Value Unsqueeze(NodeProto node)
    {
        Value data = Required(node, 0);
        long[] axes = IntsInputOrAttribute(node, 1, "axes") ?? throw new NodeProblem("Unsqueeze has no axes.");
        switch (data)
        {
            case ConstValue { Tensor: var t }:
                return new ConstValue(t.WithShape(Folding.Unsqueezed(t.Shape, axes)));
            case DimsValue { Scalar: true } d when axes is [0 or -1]:
                return new DimsValue(d.Dims, scalar: false);
            case BroadcastValue b:
                ConstTensor aligned = Aligned(b);
                int[] marks = Folding.Unsqueezed(new int[b.Shape.Length], axes); // 1 where inserted, 0 elsewhere
                int k = 0;
                int[] baseShape = [.. marks.Select(m => m == 1 ? 1 : aligned.Shape[k++])];
                k = 0;
                Dim[] shape = [.. marks.Select(m => m == 1 ? Dim.Of(1) : b.Shape[k++])];
                return new BroadcastValue(aligned.WithShape(baseShape), shape);
            case SeqValue seq:
                int[] inserted = Folding.Unsqueezed(new int[seq.Axes.Length], axes);
                int s = 0;
                return new SeqValue([.. inserted.Select(m => m == 1 ? SeqAxis.One : seq.Axes[s++])], seq.Features, seq.Chain);
            case RuntimeValue or FinalStateValue:
                return data;
            default:
                throw new NodeProblem("Unsqueeze of this value is not supported.");
        }
    }

    private Value Squeeze(NodeProto node)
    {
        Value data = Required(node, 0);
        long[]? axes = IntsInputOrAttribute(node, 1, "axes");
        switch (data)
        {
            case ConstValue { Tensor: var t }:
                bool[] remove = Folding.SqueezeMask(t.Rank, axes, a => t.Shape[a] == 1);
                return new ConstValue(t.WithShape([.. t.Shape.Where((_, a) => !remove[a])]));
            case DimsValue { Scalar: false, Dims.Length: 1 } d when axes is null or [0 or -1]:
                return new DimsValue(d.Dims, scalar: true);
            case BroadcastValue b:
                ConstTensor aligned = Aligned(b);
                bool[] drop = Folding.SqueezeMask(b.Shape.Length, axes, a => b.Shape[a] is { Value: 1 });
                return new BroadcastValue(aligned.WithShape([.. aligned.Shape.Where((_, a) => !drop[a])]), [.. b.Shape.Where((_, a) => !drop[a])]);
            case SeqValue seq:
                bool[] gone = Folding.SqueezeMask(seq.Axes.Length, axes, a => seq.Axes[a] == SeqAxis.One);
                return new SeqValue([.. seq.Axes.Where((_, a) => !gone[a])], seq.Features, seq.Chain);
            case RuntimeValue or FinalStateValue:
                return data;
            default:
                throw new NodeProblem("Squeeze of this value is not supported.");
        }
    }

    private Value Concat(NodeProto node)
    {
        Value[] inputs = [.. Enumerable.Range(0, node.Input.Count).Select(k => Required(node, k))];
        if (inputs.Length == 0)
        {
            throw new NodeProblem("Concat has no inputs.");
        }
        long axis = IntAttribute(node, "axis", long.MinValue);
        if (axis == long.MinValue)
        {
            throw new NodeProblem("Concat has no axis.");
        }
        if (inputs.All(v => v is ConstValue))
        {
            return new ConstValue(Folding.Concat([.. inputs.Select(v => ((ConstValue)v).Tensor)], axis));
        }
        if (inputs.All(v => v is FinalStateValue))
        {
            return inputs[0];
        }
        if (inputs.Any(v => v is SeqValue))
        {
            throw new NodeProblem("Concatenating the sequence with something else is not supported.");
        }
        if (inputs.Any(v => v is RuntimeValue))
        {
            return inputs.First(v => v is RuntimeValue);
        }
        if (inputs.All(v => v is DimsValue { Scalar: false } or ConstValue { Tensor: { IsFloat: false, Rank: 1 } }))
        {
            Folding.Axis(axis, 1, "Concat axis");
            Dim[] dims = [.. inputs.SelectMany(DimsOf)];
            if (dims.Length > 64)
            {
                throw new NodeProblem("The shape vector is too long.");
            }
            return Dims(dims, scalar: false);
        }
        throw new NodeProblem("Concat of these values is not supported.");
    }

    private Value Slice(NodeProto node)
    {
        Value data = Required(node, 0);
        long[] starts;
        long[] ends;
        long[]? axes;
        long[]? steps = null;
        if (node.Input.Count > 1)
        {
            starts = Ints(Const(node, 1, "Slice starts"), "Slice starts");
            ends = Ints(Const(node, 2, "Slice ends"), "Slice ends");
            axes = Input(node, 3) is null ? null : Ints(Const(node, 3, "Slice axes"), "Slice axes");
            steps = Input(node, 4) is null ? null : Ints(Const(node, 4, "Slice steps"), "Slice steps");
        }
        else
        {
            starts = Attribute(node, "starts") is { } s ? [.. s.Ints] : throw new NodeProblem("Slice has no starts.");
            ends = Attribute(node, "ends") is { } e ? [.. e.Ints] : throw new NodeProblem("Slice has no ends.");
            axes = Attribute(node, "axes") is { } a ? [.. a.Ints] : null;
        }
        switch (data)
        {
            case ConstValue { Tensor: var t }:
                return new ConstValue(Folding.Slice(t, Folding.SliceRanges(t.Shape, starts, ends, axes, steps)));
            case DimsValue { Scalar: false } d:
                (long Start, long Step, int Count) r = Folding.SliceRanges([d.Dims.Length], starts, ends, axes, steps)[0];
                return Dims([.. Enumerable.Range(0, r.Count).Select(i => d.Dims[(int)(r.Start + i * r.Step)])], scalar: false);
            case BroadcastValue b:
                return SliceBroadcast(b, starts, ends, axes, steps);
            case RuntimeValue or FinalStateValue:
                return data;
            case SeqValue:
                throw new NodeProblem("Slicing the sequence is not supported.");
            default:
                throw new NodeProblem("Slice of this value is not supported.");
        }
    }

    private static BroadcastValue SliceBroadcast(BroadcastValue b, long[] starts, long[] ends, long[]? axes, long[]? steps)
    {
        ConstTensor aligned = Aligned(b);
        int rank = b.Shape.Length;
        // Unknown (symbolic) sizes: only a slice that keeps the whole axis is understood; pretend the size is huge.
        int[] sizes = [.. b.Shape.Select(d => d.Known ? (int)Math.Min(d.Value, int.MaxValue) : int.MaxValue)];
        (long Start, long Step, int Count)[] ranges = Folding.SliceRanges(sizes, starts, ends, axes, steps);
        var shape = new Dim[rank];
        var baseRanges = new (long Start, long Step, int Count)[rank];
        for (int a = 0; a < rank; a++)
        {
            (long start, long step, int count) = ranges[a];
            if (!b.Shape[a].Known)
            {
                if (start != 0 || step != 1 || count != int.MaxValue)
                {
                    throw new NodeProblem($"Slicing axis {a}, whose size is only known at run time, is not supported.");
                }
                shape[a] = b.Shape[a];
                baseRanges[a] = (0, 1, aligned.Shape[a]);
                continue;
            }
            shape[a] = b.Shape[a] with { Value = count };
            baseRanges[a] = aligned.Shape[a] == 1 ? (0, 1, 1) : ranges[a];
        }
        return new BroadcastValue(Folding.Slice(aligned, baseRanges), shape);
    }

    /// <summary>The base of a broadcast with leading 1s added up to the broadcast's rank.</summary>
    private static ConstTensor Aligned(BroadcastValue b)
    {
        int missing = b.Shape.Length - b.Base.Rank;
        return missing <= 0 ? b.Base : b.Base.WithShape([.. Enumerable.Repeat(1, missing), .. b.Base.Shape]);
    }

    private Value Transpose(NodeProto node)
    {
        Value data = Required(node, 0);
        long[]? perm = Attribute(node, "perm") is { } p ? [.. p.Ints] : null;
        switch (data)
        {
            case ConstValue { Tensor: var t }:
                return new ConstValue(Folding.Transpose(t, perm));
            case SeqValue seq:
                int[] order = Folding.Permutation(perm, seq.Axes.Length);
                return new SeqValue([.. order.Select(a => seq.Axes[a])], seq.Features, seq.Chain);
            case BroadcastValue b:
                int[] o = Folding.Permutation(perm, b.Shape.Length);
                return new BroadcastValue(Folding.Transpose(Aligned(b), [.. o.Select(a => (long)a)]), [.. o.Select(a => b.Shape[a])]);
            case RuntimeValue or FinalStateValue:
                return data;
            default:
                throw new NodeProblem("Transpose of this value is not supported.");
        }
    }

    private Value Reshape(NodeProto node)
    {
        Value data = Required(node, 0);
        bool allowZero = IntAttribute(node, "allowzero", 0) != 0;
        switch (data)
        {
            case ConstValue { Tensor: var t }:
                long[] target = Ints(Const(node, 1, "Reshape shape"), "Reshape shape");
                return new ConstValue(t.WithShape(Folding.ReshapeTarget(t.Shape, target, allowZero)));
            case DimsValue { Scalar: false } d:
                long[] to = Ints(Const(node, 1, "Reshape shape"), "Reshape shape");
                return to is [-1] || (to.Length == 1 && to[0] == d.Dims.Length)
                    ? d
                    : throw new NodeProblem("Reshape of a shape vector to another rank is not supported.");
            case SeqValue seq:
                return SequenceReshape.Apply(seq, ShapeArgument(Input(node, 1)), allowZero, a => SeqDim(seq, a));
            case RuntimeValue or FinalStateValue:
                return data;
            default:
                throw new NodeProblem("Reshape of this value is not supported.");
        }
    }

    private Value ConstantOfShape(NodeProto node)
    {
        Dim[] shape = BroadcastShape(Required(node, 0));
        ConstTensor value = Attribute(node, "value") is { T: { } t } ? TensorDecoder.Decode(t, problem => new NodeProblem(problem)) : ConstTensor.Float([1], [0f]);
        if (value.Count != 1)
        {
            throw new NodeProblem("ConstantOfShape value must have one element.");
        }
        if (value.IsFloat)
        {
            return new BroadcastValue(value.WithShape([]), shape);
        }
        long count = shape.All(d => d is { Known: true, Symbol: null }) ? ConstTensor.CountOf([.. shape.Select(d => d.Value)], 1 << 16) : -1;
        if (count < 0)
        {
            throw new NodeProblem("An integer ConstantOfShape of a run-time or large shape is not supported.");
        }
        return new ConstValue(ConstTensor.Int([.. shape.Select(d => (int)d.Value)], [.. Enumerable.Repeat(value.Ints![0], (int)count)]));
    }

    private Value Expand(NodeProto node)
    {
        Value data = Required(node, 0);
        Dim[] target = BroadcastShape(Required(node, 1));
        BroadcastValue b = data switch
        {
            ConstValue { Tensor: { IsFloat: true } t } => new BroadcastValue(t, [.. t.Shape.Select(d => Dim.Of(d))]),
            BroadcastValue v => v,
            RuntimeValue or FinalStateValue => null!,
            _ => throw new NodeProblem("Expand of this value is not supported."),
        };
        if (b is null)
        {
            return data;
        }
        int rank = Math.Max(b.Shape.Length, target.Length);
        var shape = new Dim[rank];
        for (int a = 0; a < rank; a++)
        {
            int ia = a - (rank - b.Shape.Length);
            int ta = a - (rank - target.Length);
            Dim x = ia >= 0 ? b.Shape[ia] : Dim.Of(1);
            Dim y = ta >= 0 ? target[ta] : Dim.Of(1);
            shape[a] = x is { Value: 1, Symbol: null } ? y
                : y is { Value: 1, Symbol: null } ? x
                : x == y || (x.Symbol == y.Symbol && x.Symbol is not null) ? x
                : x.Known && x.Value == y.Value ? (y.Symbol is null ? x : y)
                : throw new NodeProblem($"Expand cannot broadcast {x} to {y}.");
        }
        return new BroadcastValue(b.Base, shape);
    }

    /// <summary>
    /// Element-wise integer arithmetic on shape vectors (what torch emits to turn -1 sizes of an Expand into 1):
    /// constants are computed; an entry that is a run-time size passes only where the result does not depend on it.
    /// </summary>
    private Value IntVectorOp(NodeProto node, Func<Dim, Dim, Dim> op, string name)
    {
        Value a = Required(node, 0);
        Value b = Required(node, 1);
        if (a is not (DimsValue or ConstValue { Tensor: { IsFloat: false, Rank: <= 1 } }) || b is not (DimsValue or ConstValue { Tensor: { IsFloat: false, Rank: <= 1 } }))
        {
            throw new NodeProblem($"{name} is only supported on integer shape vectors.");
        }
        Dim[] x = DimsOf(a);
        Dim[] y = DimsOf(b);
        int n = Math.Max(x.Length, y.Length);
        if ((x.Length != n && x.Length != 1) || (y.Length != n && y.Length != 1))
        {
            throw new NodeProblem($"{name} of vectors of {x.Length} and {y.Length} entries.");
        }
        var result = new Dim[n];
        for (int k = 0; k < n; k++)
        {
            Dim p = x[x.Length == 1 ? 0 : k];
            Dim q = y[y.Length == 1 ? 0 : k];
            result[k] = name == "Mul" && (p.Symbol is not null || q.Symbol is not null)
                ? (q is { Value: 1, Symbol: null } ? p : p is { Value: 1, Symbol: null } ? q : throw new NodeProblem("Mul of a run-time size is not supported."))
                : op(p, q);
        }
        return Dims(result, IsScalar(a) && IsScalar(b));
    }

    private static Dim Equal(Dim p, Dim q)
    {
        if (p.Symbol is null && q.Symbol is null)
        {
            return Dim.Of(p.Value == q.Value ? 1 : 0);
        }
        if (p.Symbol is not null && p.Symbol == q.Symbol)
        {
            return Dim.Of(1);
        }
        // A run-time size is never negative.
        if ((p.Symbol is not null && q.Symbol is null && q.Value < 0) || (q.Symbol is not null && p.Symbol is null && p.Value < 0))
        {
            return Dim.Of(0);
        }
        throw new NodeProblem("Equal of a run-time size and a constant cannot be decided.");
    }

    private Value Where(NodeProto node)
    {
        ConstTensor condition = Const(node, 0, "Where condition");
        if (condition.IsFloat || condition.Rank > 1)
        {
            throw new NodeProblem("Where is only supported on shape vectors with a constant condition.");
        }
        Dim[] x = DimsOf(Required(node, 1));
        Dim[] y = DimsOf(Required(node, 2));
        int n = Math.Max(condition.Count, Math.Max(x.Length, y.Length));
        if (new[] { condition.Count, x.Length, y.Length }.Any(c => c != n && c != 1))
        {
            throw new NodeProblem("Where of vectors of different lengths.");
        }
        Dim[] result = [.. Enumerable.Range(0, n).Select(k => condition.Ints![condition.Count == 1 ? 0 : k] != 0 ? x[x.Length == 1 ? 0 : k] : y[y.Length == 1 ? 0 : k])];
        return Dims(result, condition.Rank == 0 && x.Length == 1 && y.Length == 1 && IsScalar(Required(node, 1)));
    }
}
