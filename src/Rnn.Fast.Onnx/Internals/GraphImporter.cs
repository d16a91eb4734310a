using System.Collections.Immutable;
using Google.Protobuf;
using Onnx;
using Rnn.Fast.IO;

namespace Rnn.Fast.Onnx.Internals;

/// <summary>
/// Reads an ONNX graph by evaluating it abstractly, node by node in file order: constants are folded, the shape
/// arithmetic torch emits for zero initial states stays symbolic (<see cref="DimsValue"/>, <see cref="BroadcastValue"/>),
/// and the sequence (<see cref="SeqValue"/>) carries the model built so far through the recurrent nodes, layout
/// nodes and the head. Anything the model cannot express is refused, naming the node and its operator.
/// </summary>
internal sealed class GraphImporter
{
    private const int MinOpset = 7;
    private const int MaxOpset = 23;

    private readonly string _file;
    private readonly Dictionary<string, Value> _values = new(StringComparer.Ordinal);
    private readonly List<string> _stateInputs = [];
    private long _opset;
    private long _declaredP0 = -1;
    private long _declaredP1 = -1;
    private SeqAxis? _timeAxis;

    // Elements that constant folding may still produce. Real exports fold slices of their weights, a fraction of the
    // file; a graph that folds far more than its own size (Concat doubling, Gather repeating) is refused early.
    private long _foldBudget;

    private GraphImporter(string file, long fileBytes)
    {
        _file = file;
        _foldBudget = fileBytes + (1 << 20);
    }

    public static OnnxImport Import(byte[] bytes, string file, ModelLoadOptions? options)
    {
        ModelProto model;
        try
        {
            model = ModelProto.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new ModelFormatException(file, null, $"Not a valid ONNX file (protobuf): {e.Message}", e);
        }
        return new GraphImporter(file, bytes.Length).Run(model, options);
    }

    private ModelFormatException Fail(string? what, string problem, Exception? inner = null) => new(_file, what, problem, inner);

    private OnnxImport Run(ModelProto model, ModelLoadOptions? options)
    {
        OperatorSetIdProto? opset = model.OpsetImport.FirstOrDefault(o => o.Domain is "" or "ai.onnx");
        if (opset is null)
        {
            throw Fail("opset_import", "The file declares no default-domain (ai.onnx) opset.");
        }
        _opset = opset.Version;
        if (_opset < MinOpset || _opset > MaxOpset)
        {
            throw Fail("opset_import", $"Opset {_opset} is not supported (opsets {MinOpset}..{MaxOpset} are; 11, 14 and 17 are tested).");
        }
        GraphProto graph = model.Graph ?? throw Fail("graph", "The file has no graph.");
        if (graph.SparseInitializer.Count > 0)
        {
            throw Fail(graph.SparseInitializer[0].Values?.Name ?? "sparse_initializer", "Sparse initializers are not supported.");
        }
        foreach (TensorProto initializer in graph.Initializer)
        {
            string name = initializer.Name;
            if (name.Length == 0 || _values.ContainsKey(name))
            {
                throw Fail(name.Length == 0 ? "initializer" : name, "An initializer has no name or a name used twice.");
            }
            _values[name] = new ConstValue(TensorDecoder.Decode(initializer, problem => Fail(name, problem)));
        }

        string? inputName = null;
        foreach (ValueInfoProto input in graph.Input)
        {
            if (_values.ContainsKey(input.Name))
            {
                continue; // IR < 4 lists initializers among the inputs too
            }
            if (input.Name.Length == 0)
            {
                throw Fail("input", "A graph input has no name.");
            }
            if (inputName is null)
            {
                inputName = input.Name;
                _values[input.Name] = SequenceInput(input);
            }
            else
            {
                _stateInputs.Add(input.Name);
                _values[input.Name] = new RuntimeValue(input.Name);
            }
        }
        if (inputName is null)
        {
            throw Fail("input", "The graph has no input (the sequence).");
        }

        for (int n = 0; n < graph.Node.Count; n++)
        {
            NodeProto node = graph.Node[n];
            string label = $"{(node.Name.Length > 0 ? node.Name : $"node #{n}")} ({node.OpType})";
            try
            {
                Value[] results = Evaluate(node);
                if (node.Output.Count > results.Length)
                {
                    throw new NodeProblem($"The node has {node.Output.Count} outputs; at most {results.Length} expected.");
                }
                for (int k = 0; k < node.Output.Count; k++)
                {
                    string output = node.Output[k];
                    if (output.Length == 0)
                    {
                        continue;
                    }
                    if (_values.ContainsKey(output))
                    {
                        throw new NodeProblem($"Output '{output}' is already defined.");
                    }
                    if (results[k] is ConstValue folded)
                    {
                        _foldBudget -= folded.Tensor.Count;
                        if (_foldBudget < 0)
                        {
                            throw new NodeProblem("Constant folding produces far more data than the file holds; refusing the graph.");
                        }
                    }
                    _values[output] = results[k];
                }
            }
            catch (NodeProblem e)
            {
                throw Fail(label, e.Message);
            }
            catch (ArgumentException e)
            {
                throw Fail(label, $"The weights do not make a valid layer: {e.Message}", e);
            }
        }

        if (graph.Output.Count == 0)
        {
            throw Fail("output", "The graph has no output.");
        }
        string outputName = graph.Output[0].Name;
        if (!_values.TryGetValue(outputName, out Value? result) || result is not SeqValue seq)
        {
            throw Fail(outputName, "The graph's first output is not the sequence that the recurrent layers compute.");
        }
        if (seq.Chain.Layers.Count == 0)
        {
            throw Fail(outputName, "The graph has no recurrent (LSTM, GRU or RNN) node.");
        }
        if (seq.Axes is not [SeqAxis.P0, SeqAxis.P1, SeqAxis.Feature])
        {
            throw Fail(outputName, $"The output's axes [{string.Join(", ", seq.Axes)}] are not the input's [steps/batch, batch/steps, features] layout.");
        }
        return new OnnxImport(Build(seq, options), inputName, outputName, _timeAxis == SeqAxis.P1, _stateInputs,
            [.. graph.Output.Skip(1).Select(o => o.Name)], _opset, $"{model.ProducerName} {model.ProducerVersion}".Trim());
    }

    private SeqValue SequenceInput(ValueInfoProto input)
    {
        TypeProto.Types.Tensor? tensor = input.Type?.TensorType;
        if (tensor is null || tensor.ElemType is not (1 or 10 or 11 or 16))
        {
            throw Fail(input.Name, "The sequence input is not a float tensor.");
        }
        if (tensor.Shape is null || tensor.Shape.Dim.Count != 3)
        {
            throw Fail(input.Name, "The sequence input must have 3 dimensions ([steps, batch, features] or [batch, steps, features]).");
        }
        long Declared(int k) => tensor.Shape.Dim[k].HasDimValue && tensor.Shape.Dim[k].DimValue > 0 ? tensor.Shape.Dim[k].DimValue : -1;
        _declaredP0 = Declared(0);
        _declaredP1 = Declared(1);
        long features = Declared(2);
        if (features < 1 || features > Folding.MaxElements)
        {
            throw Fail(input.Name, "The sequence input's feature size (last dimension) is not a fixed positive number.");
        }
        return new SeqValue([SeqAxis.P0, SeqAxis.P1, SeqAxis.Feature], (int)features, Chain.Empty);
    }

    private RnnModel Build(SeqValue seq, ModelLoadOptions? options)
    {
        Chain chain = seq.Chain;
        try
        {
            HeadWeights? head = chain.HeadWeight is { } weight
                ? new HeadWeights(chain.HeadInputs, chain.HeadOutputs, weight, chain.HeadBias ?? [], chain.HeadActivation ?? Activation.Identity)
                : null;
            var modelOptions = new RnnModelOptions
            {
                ReverseLayers = chain.Directions == 2 ? chain.Reverse : null,
                InitialHidden = chain.InitialHidden.Any(h => h is not null) ? chain.InitialHidden : null,
                InitialCell = chain.InitialCell.Any(c => c is not null) ? chain.InitialCell : null,
            };
            return RnnModel.Create(chain.Layers, head, options?.Kernel, modelOptions);
        }
        catch (ArgumentException e)
        {
            throw Fail(null, $"The weights do not make a valid model: {e.Message}", e);
        }
    }

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

    // ---- recurrent layers --------------------------------------------------------------------------------------

    private static readonly string[] s_recurrentAttributes =
        ["direction", "hidden_size", "activations", "activation_alpha", "activation_beta", "clip", "input_forget", "linear_before_reset", "layout"];

    private Value[] Recurrent(NodeProto node, CellType cell)
    {
        if (Required(node, 0) is not SeqValue x)
        {
            throw new NodeProblem("X is not the sequence computed from the graph input.");
        }
        if (x.Chain.HasHead || x.Chain.HeadActivation is not null)
        {
            throw new NodeProblem("A recurrent layer after the head is not supported.");
        }
        if (x.Axes is not [var t and (SeqAxis.P0 or SeqAxis.P1), var b and (SeqAxis.P0 or SeqAxis.P1), SeqAxis.Feature] || t == b)
        {
            throw new NodeProblem($"X has axes [{string.Join(", ", x.Axes)}], not [steps, batch, features].");
        }
        if (_timeAxis is null)
        {
            _timeAxis = t;
        }
        else if (_timeAxis != t)
        {
            throw new NodeProblem("X has steps and batch the other way round from the previous recurrent layer.");
        }
        foreach (AttributeProto a in node.Attribute)
        {
            if (!s_recurrentAttributes.Contains(a.Name))
            {
                throw new NodeProblem($"Attribute '{a.Name}' is not supported.");
            }
        }
        if (Attribute(node, "clip") is not null)
        {
            throw new NodeProblem("Cell clipping ('clip') is not supported.");
        }
        if (IntAttribute(node, "layout", 0) != 0)
        {
            throw new NodeProblem("layout=1 (batch-major X and Y) is not supported; torch.onnx exports layout 0.");
        }
        if (IntAttribute(node, "input_forget", 0) != 0)
        {
            throw new NodeProblem("input_forget=1 (coupled input and forget gates) is not supported.");
        }
        if (cell == CellType.Gru && IntAttribute(node, "linear_before_reset", 0) != 1)
        {
            throw new NodeProblem("linear_before_reset=0 is not supported: Rnn.Fast's GRU is PyTorch's, which is ONNX's linear_before_reset=1 " +
                "(the reset gate multiplies R·h + Rb, not h).");
        }
        string direction = Attribute(node, "direction") is { } d ? d.S.ToStringUtf8() : "forward";
        int directions = direction switch
        {
            "forward" => 1,
            "bidirectional" => 2,
            "reverse" => throw new NodeProblem("direction=reverse alone is not supported (forward and bidirectional are)."),
            _ => throw new NodeProblem($"Unknown direction '{direction}'."),
        };
        if (Input(node, 4) is not null)
        {
            throw new NodeProblem("sequence_lens is not supported: every stream runs the full sequence.");
        }
        if (cell == CellType.Lstm && Input(node, 7) is not null)
        {
            throw new NodeProblem("Peephole weights (input P) are not supported.");
        }
        Chain chain = x.Chain;
        if (chain.Layers.Count > 0 && chain.Directions != directions)
        {
            throw new NodeProblem("Mixing unidirectional and bidirectional layers is not supported.");
        }

        int gates = LayerWeights.GatesOf(cell);
        int inputs = x.Features;
        ConstTensor w = Const(node, 1, "W");
        ConstTensor r = Const(node, 2, "R");
        if (!w.IsFloat || !r.IsFloat || w.Rank != 3 || r.Rank != 3 || w.Shape[0] != directions || r.Shape[0] != directions || r.Shape[1] % gates != 0)
        {
            throw new NodeProblem($"W and R must be float [{directions}, {gates}·H, I] and [{directions}, {gates}·H, H]; they are {w} and {r}.");
        }
        int hidden = r.Shape[1] / gates;
        long declared = IntAttribute(node, "hidden_size", hidden);
        if (hidden < 1 || declared != hidden || r.Shape[2] != hidden || w.Shape[1] != gates * hidden || w.Shape[2] != inputs)
        {
            throw new NodeProblem($"W {w} and R {r} do not fit hidden_size {declared} and {inputs} inputs.");
        }
        ConstTensor? bias = Input(node, 3) is null ? null : Const(node, 3, "B");
        if (bias is not null && (!bias.IsFloat || bias.Rank != 2 || bias.Shape[0] != directions || bias.Shape[1] != 2 * gates * hidden))
        {
            throw new NodeProblem($"B must be float [{directions}, {2 * gates * hidden}]; it is {bias}.");
        }
        Activation nonlinearity = CheckActivations(node, cell, directions);

        // ONNX gate blocks, in the order Rnn.Fast (PyTorch) wants them: LSTM i,o,f,c -> i,f,g(c),o; GRU z,r,h -> r,z,n.
        int[] from = cell switch
        {
            CellType.Lstm => [0, 2, 3, 1],
            CellType.Gru => [1, 0, 2],
            _ => [0],
        };
        LayerWeights Layer(int dir)
        {
            float[] wIh = Blocks(w.Floats!, dir * gates * hidden * inputs, from, hidden * inputs);
            float[] wHh = Blocks(r.Floats!, dir * gates * hidden * hidden, from, hidden * hidden);
            float[] bIh = bias is null ? new float[gates * hidden] : Blocks(bias.Floats!, dir * 2 * gates * hidden, from, hidden);
            float[] bHh = bias is null ? new float[gates * hidden] : Blocks(bias.Floats!, (dir * 2 + 1) * gates * hidden, from, hidden);
            return cell switch
            {
                CellType.Lstm => LayerWeights.Lstm(inputs, hidden, wIh, wHh, bIh, bHh),
                CellType.Gru => LayerWeights.Gru(inputs, hidden, wIh, wHh, bIh, bHh),
                _ => LayerWeights.Elman(inputs, hidden, nonlinearity, wIh, wHh, bIh, bHh),
            };
        }

        float[]? h0 = InitialState(Input(node, 5), directions, hidden, "initial_h");
        float[]? c0 = cell == CellType.Lstm ? InitialState(Input(node, 6), directions, hidden, "initial_c") : null;
        Chain next = chain with
        {
            Layers = chain.Layers.Add(Layer(0)),
            Reverse = directions == 2 ? chain.Reverse.Add(Layer(1)) : chain.Reverse,
            InitialHidden = chain.InitialHidden.Add(h0),
            InitialCell = chain.InitialCell.Add(c0),
            Directions = directions,
        };
        var y = new SeqValue([t, directions == 2 ? SeqAxis.Dir : SeqAxis.One, b, SeqAxis.Feature], hidden, next);
        return cell == CellType.Lstm ? [y, new FinalStateValue(), new FinalStateValue()] : [y, new FinalStateValue()];
    }

    private static float[] Blocks(float[] source, int offset, int[] from, int block)
    {
        var result = new float[from.Length * block];
        for (int j = 0; j < from.Length; j++)
        {
            source.AsSpan(offset + from[j] * block, block).CopyTo(result.AsSpan(j * block));
        }
        return result;
    }

    private static Activation CheckActivations(NodeProto node, CellType cell, int directions)
    {
        string[] expected = cell switch
        {
            CellType.Lstm => ["Sigmoid", "Tanh", "Tanh"],
            CellType.Gru => ["Sigmoid", "Tanh"],
            _ => ["Tanh"],
        };
        if (Attribute(node, "activations") is not { } attribute)
        {
            return Activation.Tanh;
        }
        string[] names = [.. attribute.Strings.Select(s => s.ToStringUtf8())];
        if (names.Length != expected.Length * directions)
        {
            throw new NodeProblem($"activations lists {names.Length} functions; {expected.Length * directions} expected.");
        }
        if (cell == CellType.Elman)
        {
            if (names.Distinct(StringComparer.OrdinalIgnoreCase).Count() != 1)
            {
                throw new NodeProblem("Different activations for the two directions are not supported.");
            }
            return names[0].ToUpperInvariant() switch
            {
                "TANH" => Activation.Tanh,
                "RELU" => Activation.Relu,
                _ => throw new NodeProblem($"RNN activation '{names[0]}' is not supported (Tanh and Relu are)."),
            };
        }
        for (int k = 0; k < names.Length; k++)
        {
            if (!string.Equals(names[k], expected[k % expected.Length], StringComparison.OrdinalIgnoreCase))
            {
                throw new NodeProblem($"{cell} activations [{string.Join(", ", names)}] are not supported; only the standard [{string.Join(", ", expected)}] are.");
            }
        }
        return Activation.Tanh;
    }

    /// <summary>
    /// The forward direction's initial state of a layer, from a constant (a learned state, or the zeros torch builds):
    /// null for zeros and for a run-time input. Rnn.Fast holds one initial state per layer for every stream, so the
    /// rows of all streams must agree, and the reverse direction's must be zero.
    /// </summary>
    private static float[]? InitialState(Value? value, int directions, int hidden, string what)
    {
        BroadcastValue b = value switch
        {
            null or RuntimeValue => null!,
            ConstValue { Tensor: { IsFloat: true } t } => new BroadcastValue(t, [.. t.Shape.Select(d => Dim.Of(d))]),
            BroadcastValue v => v,
            _ => throw new NodeProblem($"{what} is neither a constant nor a graph input."),
        };
        if (b is null)
        {
            return null;
        }
        if (b.Shape.Length != 3 || b.Shape[0] is not { Known: true } d || d.Value != directions || b.Shape[2] is not { Known: true } h || h.Value != hidden
            || b.Base.Rank > 3)
        {
            throw new NodeProblem($"{what} must be [{directions}, batch, {hidden}]; it is [{string.Join(", ", b.Shape)}].");
        }
        ConstTensor aligned = Aligned(b);
        int streams = aligned.Shape[1];
        int[] strides = ConstTensor.Strides(aligned.Shape);
        float At(int dir, int stream, int j) =>
            aligned.Floats![(aligned.Shape[0] == 1 ? 0 : dir) * strides[0] + stream * strides[1] + (aligned.Shape[2] == 1 ? 0 : j) * strides[2]];
        var forward = new float[hidden];
        bool nonZero = false;
        for (int j = 0; j < hidden; j++)
        {
            forward[j] = At(0, 0, j);
            nonZero |= forward[j] != 0;
            for (int s = 1; s < streams; s++)
            {
                if (At(0, s, j) != forward[j])
                {
                    throw new NodeProblem($"{what} differs between streams; Rnn.Fast has one initial state per layer for all streams.");
                }
            }
            for (int s = 0; s < streams && directions == 2; s++)
            {
                if (At(1, s, j) != 0)
                {
                    throw new NodeProblem($"{what} is non-zero for the reverse direction, which Rnn.Fast does not support.");
                }
            }
        }
        return nonZero ? forward : null;
    }

    // ---- head ----------------------------------------------------------------------------------------------------

    private static SeqValue HeadInput(Value? value, string op)
    {
        if (value is not SeqValue seq || seq.Chain.Layers.Count == 0)
        {
            throw new NodeProblem($"{op} is only supported as the head after the recurrent layers.");
        }
        if (seq.Axes.Length == 0 || seq.Axes[^1] != SeqAxis.Feature)
        {
            throw new NodeProblem($"{op} does not act on the feature axis.");
        }
        if (seq.Chain.HasHead || seq.Chain.HeadActivation is not null)
        {
            throw new NodeProblem($"A second dense layer ({op}) is not supported: Rnn.Fast has one linear head.");
        }
        return seq;
    }

    private Value MatMul(NodeProto node)
    {
        SeqValue seq = HeadInput(Required(node, 0), "MatMul");
        ConstTensor weight = Const(node, 1, "MatMul weight");
        if (!weight.IsFloat || weight.Rank != 2 || weight.Shape[0] != seq.Features)
        {
            throw new NodeProblem($"The MatMul weight must be float [{seq.Features}, O]; it is {weight}.");
        }
        float[] transposed = Folding.Transpose(weight, null).Floats!; // nn.Linear's [O, F]
        return WithHead(seq, weight.Shape[1], transposed, null);
    }

    private Value Gemm(NodeProto node)
    {
        SeqValue seq = HeadInput(Required(node, 0), "Gemm");
        if (seq.Axes.Length != 2)
        {
            throw new NodeProblem("Gemm input must be 2-D.");
        }
        if (IntAttribute(node, "transA", 0) != 0)
        {
            throw new NodeProblem("Gemm with transA=1 is not supported.");
        }
        float alpha = FloatAttribute(node, "alpha", 1f);
        float beta = FloatAttribute(node, "beta", 1f);
        ConstTensor b = Const(node, 1, "Gemm B");
        bool transB = IntAttribute(node, "transB", 0) != 0;
        if (!b.IsFloat || b.Rank != 2 || b.Shape[transB ? 1 : 0] != seq.Features)
        {
            throw new NodeProblem($"Gemm B must be float {(transB ? "[O, F]" : "[F, O]")} with F = {seq.Features}; it is {b}.");
        }
        float[] weight = (transB ? b : Folding.Transpose(b, null)).Floats!;
        int outputs = b.Shape[transB ? 0 : 1];
        float[] scaled = [.. weight.Select(v => alpha * v)];
        float[]? bias = Input(node, 2) is null ? null : BiasVector(Const(node, 2, "Gemm C"), outputs).Select(v => beta * v).ToArray();
        return WithHead(seq, outputs, scaled, bias);
    }

    private Value Add(NodeProto node)
    {
        Value a = Required(node, 0);
        Value b = Required(node, 1);
        (SeqValue? seq, ConstValue? constant) = (a, b) switch
        {
            (SeqValue s, ConstValue c) => (s, c),
            (ConstValue c, SeqValue s) => (s, c),
            _ => (null, null),
        };
        if (seq is null || constant is null || seq.Chain.Layers.Count == 0 || seq.Axes is [] || seq.Axes[^1] != SeqAxis.Feature)
        {
            throw new NodeProblem("Add is only supported as the bias of the head (the sequence plus a constant vector).");
        }
        if (seq.Chain.HeadBias is not null || seq.Chain.HeadActivation is not null)
        {
            throw new NodeProblem("Add after the head's bias or activation is not supported.");
        }
        float[] bias = BiasVector(constant.Tensor, seq.Features);
        if (!seq.Chain.HasHead)
        {
            return WithHead(seq, seq.Features, Identity(seq.Features), bias);
        }
        return new SeqValue(seq.Axes, seq.Features, seq.Chain with { HeadBias = bias });
    }

    private static float[] BiasVector(ConstTensor c, int outputs)
    {
        if (!c.IsFloat || !(c.Count == outputs && (c.Rank == 0 || c.Shape[..^1].All(d => d == 1)) || c.Count == 1))
        {
            throw new NodeProblem($"The bias must be a float vector of {outputs}; it is {c}.");
        }
        return c.Count == outputs ? c.Floats! : [.. Enumerable.Repeat(c.Floats![0], outputs)];
    }

    private static SeqValue WithHead(SeqValue seq, int outputs, float[] weight, float[]? bias) =>
        new(seq.Axes, outputs, seq.Chain with { HeadWeight = weight, HeadInputs = seq.Features, HeadOutputs = outputs, HeadBias = bias });

    private static float[] Identity(int size)
    {
        var eye = new float[size * size];
        for (int k = 0; k < size; k++)
        {
            eye[k * size + k] = 1;
        }
        return eye;
    }

    private Value Activate(NodeProto node, Activation activation)
    {
        if (Required(node, 0) is not SeqValue { Chain.Layers.Count: > 0 } seq)
        {
            throw new NodeProblem($"{node.OpType} is only supported after the recurrent layers (or their head).");
        }
        if (seq.Chain.HeadActivation is not null)
        {
            throw new NodeProblem("A second activation after the head is not supported.");
        }
        if (activation == Activation.Softmax)
        {
            int rank = seq.Axes.Length;
            int axis = Folding.Axis(IntAttribute(node, "axis", _opset >= 13 ? -1 : 1), rank, "Softmax axis");
            // Opset < 13 flattens the axes from `axis` on; that is the feature axis alone when the rest are size 1.
            bool overFeatures = _opset >= 13
                ? seq.Axes[axis] == SeqAxis.Feature
                : seq.Axes[axis..].Count(a => a == SeqAxis.Feature) == 1 && seq.Axes[axis..].All(a => a is SeqAxis.Feature or SeqAxis.One);
            if (!overFeatures)
            {
                throw new NodeProblem("Softmax over an axis other than the features is not supported.");
            }
        }
        Chain chain = seq.Chain.HasHead
            ? seq.Chain
            : seq.Chain with { HeadWeight = Identity(seq.Features), HeadInputs = seq.Features, HeadOutputs = seq.Features };
        return new SeqValue(seq.Axes, seq.Features, chain with { HeadActivation = activation });
    }
}
