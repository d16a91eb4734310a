using Onnx;

namespace Rnn.Fast.Onnx.Internals;

// Node evaluation: the operator dispatch, inputs and attributes, Cast, and shape vectors (Shape, dims, broadcast shapes).
internal sealed partial class GraphImporter
{
    // ---- node evaluation -------------------------------------------------------------------------------------

    private Value[] Evaluate(NodeProto node)
    {
        if (node.Domain is not ("" or "ai.onnx"))
        {
            throw new NodeProblem($"Operator domain '{node.Domain}' is not supported (only the default ai.onnx domain is).");
        }
        return node.OpType switch
        {
            "Constant" => [new ConstValue(ConstantAttribute(node))],
            "Identity" => [Required(node, 0)],
            "Cast" => [Cast(node)],
            "Shape" => [Shape(node)],
            "Gather" => [Gather(node)],
            "Unsqueeze" => [Unsqueeze(node)],
            "Squeeze" => [Squeeze(node)],
            "Concat" => [Concat(node)],
            "Slice" => [Slice(node)],
            "Transpose" => [Transpose(node)],
            "Reshape" => [Reshape(node)],
            "ConstantOfShape" => [ConstantOfShape(node)],
            "Expand" => [Expand(node)],
            "Mul" => [IntVectorOp(node, (a, b) => Dim.Of(a.Value * b.Value), "Mul")],
            "Equal" => [IntVectorOp(node, Equal, "Equal")],
            "Where" => [Where(node)],
            "LSTM" => Recurrent(node, CellType.Lstm),
            "GRU" => Recurrent(node, CellType.Gru),
            "RNN" => Recurrent(node, CellType.Elman),
            "MatMul" => [MatMul(node)],
            "Gemm" => [Gemm(node)],
            "Add" => [Add(node)],
            "Sigmoid" => [Activate(node, Activation.Sigmoid)],
            "Tanh" => [Activate(node, Activation.Tanh)],
            "Relu" => [Activate(node, Activation.Relu)],
            "Softmax" => [Activate(node, Activation.Softmax)],
            _ => throw new NodeProblem($"Operator {node.OpType} is not supported: Rnn.Fast imports RNN/LSTM/GRU stacks with a " +
                "Gemm or MatMul+Add head and a Sigmoid/Tanh/Relu/Softmax, plus the layout and constant nodes torch.onnx inserts."),
        };
    }

    private Value? Input(NodeProto node, int k)
    {
        if (k >= node.Input.Count || node.Input[k].Length == 0)
        {
            return null;
        }
        return _values.TryGetValue(node.Input[k], out Value? value)
            ? value
            : throw new NodeProblem($"Input '{node.Input[k]}' is not defined before this node.");
    }

    private Value Required(NodeProto node, int k) => Input(node, k) ?? throw new NodeProblem($"Input {k} is missing.");

    private ConstTensor Const(NodeProto node, int k, string what) =>
        Required(node, k) is ConstValue c ? c.Tensor : throw new NodeProblem($"{what} (input {k}) is not a constant.");

    private static long[] Ints(ConstTensor tensor, string what) =>
        tensor is { IsFloat: false, Rank: <= 1 } ? tensor.Ints! : throw new NodeProblem($"{what} must be a 0-D or 1-D integer tensor.");

    private long[]? IntsInputOrAttribute(NodeProto node, int k, string name) =>
        Input(node, k) is not null ? Ints(Const(node, k, name), name) : Attribute(node, name) is { } a ? [.. a.Ints] : null;

    private static AttributeProto? Attribute(NodeProto node, string name) => node.Attribute.FirstOrDefault(a => a.Name == name);

    private static long IntAttribute(NodeProto node, string name, long fallback) => Attribute(node, name) is { } a ? a.I : fallback;

    private static float FloatAttribute(NodeProto node, string name, float fallback) => Attribute(node, name) is { } a ? a.F : fallback;

    private ConstTensor ConstantAttribute(NodeProto node)
    {
        if (node.Attribute.Count != 1)
        {
            throw new NodeProblem("A Constant node needs exactly one attribute.");
        }
        AttributeProto a = node.Attribute[0];
        return a.Name switch
        {
            "value" when a.T is not null => TensorDecoder.Decode(a.T, problem => new NodeProblem(problem)),
            "value_float" => ConstTensor.Float([], [a.F]),
            "value_floats" => ConstTensor.Float([a.Floats.Count], [.. a.Floats]),
            "value_int" => ConstTensor.Int([], [a.I]),
            "value_ints" => ConstTensor.Vector([.. a.Ints]),
            _ => throw new NodeProblem($"Constant attribute '{a.Name}' is not supported."),
        };
    }

    private Value Cast(NodeProto node)
    {
        Value value = Required(node, 0);
        long to = IntAttribute(node, "to", 0);
        bool toFloat = to is 1 or 10 or 11 or 16;
        if (!toFloat && to is not (6 or 7))
        {
            throw new NodeProblem($"Cast to data type {to} is not supported.");
        }
        switch (value)
        {
            case ConstValue { Tensor: var t }:
                if (t.IsFloat == toFloat)
                {
                    return value;
                }
                return toFloat
                    ? new ConstValue(ConstTensor.Float(t.Shape, [.. t.Ints!.Select(i => (float)i)]))
                    : new ConstValue(ConstTensor.Int(t.Shape, [.. t.Floats!.Select(f => float.IsFinite(f) ? (long)Math.Clamp(f, long.MinValue, long.MaxValue) : throw new NodeProblem("Cast of a non-finite value to an integer."))]));
            case SeqValue when to != 1:
                throw new NodeProblem($"Cast of the sequence to data type {to} is not supported: Rnn.Fast computes in float32.");
            case DimsValue when !toFloat:
            case SeqValue or BroadcastValue when toFloat:
            case RuntimeValue or FinalStateValue:
                return value;
            default:
                throw new NodeProblem("Cast between float and integer of a non-constant value is not supported.");
        }
    }

    private Dim SeqDim(SeqValue seq, SeqAxis axis) => axis switch
    {
        SeqAxis.P0 => new Dim(_declaredP0, axis),
        SeqAxis.P1 => new Dim(_declaredP1, axis),
        SeqAxis.P0P1 or SeqAxis.P1P0 => new Dim(_declaredP0 > 0 && _declaredP1 > 0 ? _declaredP0 * _declaredP1 : -1, axis),
        SeqAxis.Dir => Dim.Of(2),
        SeqAxis.Feature => Dim.Of(seq.Features),
        _ => Dim.Of(1),
    };

    private Value Shape(NodeProto node)
    {
        Dim[] dims = Required(node, 0) switch
        {
            ConstValue { Tensor: var t } => [.. t.Shape.Select(d => Dim.Of(d))],
            DimsValue d => d.Scalar ? [] : [Dim.Of(d.Dims.Length)],
            BroadcastValue b => b.Shape,
            SeqValue seq => [.. seq.Axes.Select(a => SeqDim(seq, a))],
            _ => throw new NodeProblem("Shape of a run-time state input or a final state is not supported."),
        };
        long start = IntAttribute(node, "start", 0);
        long end = IntAttribute(node, "end", dims.Length);
        (long first, _, int count) = Folding.SliceRange(start, end, 1, dims.Length);
        return Dims(dims[(int)first..((int)first + count)], scalar: false);
    }

    /// <summary>A shape vector: constant when no entry names a sequence axis, else symbolic.</summary>
    private static Value Dims(Dim[] dims, bool scalar) =>
        dims.All(d => d.Symbol is null)
            ? new ConstValue(ConstTensor.Int(scalar ? [] : [dims.Length], [.. dims.Select(d => d.Value)]))
            : new DimsValue(dims, scalar);

    /// <summary>A shape argument (Reshape, Expand, ConstantOfShape) as dims.</summary>
    private static Dim[] ShapeArgument(Value? value) => value switch
    {
        ConstValue { Tensor: { IsFloat: false, Rank: 1 } t } => [.. t.Ints!.Select(Dim.Of)],
        DimsValue { Scalar: false } d => d.Dims,
        _ => throw new NodeProblem("The shape argument is not a 1-D integer tensor computed from constants and the input's shape."),
    };

    /// <summary>A shape argument of Expand/ConstantOfShape: constant entries must be sizes (≥ 0).</summary>
    private static Dim[] BroadcastShape(Value value)
    {
        Dim[] shape = ShapeArgument(value);
        return shape.Length <= 8 && shape.All(d => d.Symbol is not null || d.Value >= 0)
            ? shape
            : throw new NodeProblem($"The shape [{string.Join(", ", shape)}] is not a valid tensor shape.");
    }

    private static Dim[] DimsOf(Value value) => value switch
    {
        ConstValue { Tensor: { IsFloat: false, Rank: <= 1 } t } => [.. t.Ints!.Select(Dim.Of)],
        DimsValue d => d.Dims,
        _ => throw new NodeProblem("Expected a shape vector."),
    };

    private static bool IsScalar(Value value) => value is DimsValue { Scalar: true } or ConstValue { Tensor.Rank: 0 };
}
