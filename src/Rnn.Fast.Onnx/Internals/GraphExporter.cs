using Google.Protobuf;
using Onnx;

namespace Rnn.Fast.Onnx.Internals;

/// <summary>
/// Writes an <see cref="RnnModel"/> as the ONNX graph torch.onnx.export would write for the same PyTorch module:
/// one LSTM/GRU/RNN node per layer (bidirectional when the model is), Squeeze or Transpose+Reshape between layers,
/// MatMul+Add for the head and its activation node; x and y are <c>[steps, batch, features]</c> with dynamic
/// steps and batch. Initial states become constants expanded to the run-time batch; the residual (Skip) is a MatMul
/// of x with a 0/1 selection matrix added to the output.
/// </summary>
internal static class GraphExporter
{
    public const int Opset = 17;
    private const int FloatType = 1;
    private const int Int64Type = 7;

    public static ModelProto Build(RnnModel model)
    {
        var graph = new GraphProto { Name = "rnnfast" };
        var nodes = new Builder(graph);
        graph.Input.Add(Sequence("x", model.InputSize));
        int directions = model.IsBidirectional ? 2 : 1;
        string current = "x";
        string? batch = null; // [1] int64: the run-time batch size, built on first use
        for (int l = 0; l < model.Layers.Count; l++)
        {
            LayerWeights forward = model.Layers[l];
            LayerWeights? reverse = model.Options.ReverseLayers?[l];
            LayerWeights[] layers = reverse is null ? [forward] : [forward, reverse];
            int h = forward.HiddenSize;
            int gates = forward.GateCount;
            // ONNX gate block j takes Rnn.Fast (PyTorch) block from[j]: LSTM i,o,f,c from i,f,g,o; GRU z,r,h from r,z,n.
            int[] from = forward.Cell switch
            {
                CellType.Lstm => [0, 3, 1, 2],
                CellType.Gru => [1, 0, 2],
                _ => [0],
            };
            string w = nodes.Initializer($"layer{l}.W", [directions, gates * h, forward.InputSize],
                [.. layers.SelectMany(x => Blocks(x.WeightIh, from, h * forward.InputSize))]);
            string r = nodes.Initializer($"layer{l}.R", [directions, gates * h, h], [.. layers.SelectMany(x => Blocks(x.WeightHh, from, h * h))]);
            string b = nodes.Initializer($"layer{l}.B", [directions, 2 * gates * h],
                [.. layers.SelectMany(x => Blocks(x.BiasIh, from, h).Concat(Blocks(x.BiasHh, from, h)))]);
            string h0 = "";
            string c0 = "";
            if (model.Options.InitialHidden?[l] is { } initialH)
            {
                batch ??= BatchSize(nodes);
                h0 = InitialState(nodes, $"layer{l}.initial_h", initialH, directions, batch);
            }
            if (model.Options.InitialCell?[l] is { } initialC)
            {
                batch ??= BatchSize(nodes);
                c0 = InitialState(nodes, $"layer{l}.initial_c", initialC, directions, batch);
            }
            string op = forward.Cell switch
            {
                CellType.Lstm => "LSTM",
                CellType.Gru => "GRU",
                _ => "RNN",
            };
            NodeProto node = nodes.Node(op, $"layer{l}", [current, w, r, b, "", h0, .. forward.Cell == CellType.Lstm ? new[] { c0 } : []], $"layer{l}.Y");
            node.Attribute.Add(new AttributeProto { Name = "hidden_size", Type = AttributeProto.Types.AttributeType.Int, I = h });
            if (directions == 2)
            {
                node.Attribute.Add(new AttributeProto { Name = "direction", Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8("bidirectional") });
            }
            if (forward.Cell == CellType.Gru)
            {
                node.Attribute.Add(new AttributeProto { Name = "linear_before_reset", Type = AttributeProto.Types.AttributeType.Int, I = 1 });
            }
            if (forward.Cell == CellType.Elman)
            {
                var activations = new AttributeProto { Name = "activations", Type = AttributeProto.Types.AttributeType.Strings };
                string name = forward.Nonlinearity == Activation.Relu ? "Relu" : "Tanh";
                activations.Strings.AddRange(Enumerable.Repeat(ByteString.CopyFromUtf8(name), directions));
                node.Attribute.Add(activations);
            }
            // Y [T, D, B, H] -> [T, B, D·H]: forward then reverse features, as the next layer and the head take them.
            current = directions == 1
                ? nodes.Node("Squeeze", $"layer{l}.squeeze", [$"layer{l}.Y", nodes.Ints($"layer{l}.axes", [1])], $"layer{l}.out").Output[0]
                : nodes.Node("Reshape", $"layer{l}.reshape",
                    [nodes.Node("Transpose", $"layer{l}.transpose", [$"layer{l}.Y"], $"layer{l}.YT", ("perm", [0, 2, 1, 3])).Output[0],
                     nodes.Ints($"layer{l}.shape", [0, 0, -1])], $"layer{l}.out").Output[0];
        }
        if (model.Head is { } head)
        {
            float[] transposed = new float[head.InputSize * head.OutputSize]; // MatMul takes [F, O]; nn.Linear's is [O, F]
            for (int o = 0; o < head.OutputSize; o++)
            {
                for (int f = 0; f < head.InputSize; f++)
                {
                    transposed[f * head.OutputSize + o] = head.Weight[o * head.InputSize + f];
                }
            }
            current = nodes.Node("MatMul", "head.matmul", [current, nodes.Initializer("head.weight_t", [head.InputSize, head.OutputSize], transposed)], "head.mm").Output[0];
            current = nodes.Node("Add", "head.add", [current, nodes.Initializer("head.bias", [head.OutputSize], head.Bias.ToArray())], "head.out").Output[0];
            string? activation = head.Activation switch
            {
                Activation.Sigmoid => "Sigmoid",
                Activation.Tanh => "Tanh",
                Activation.Relu => "Relu",
                Activation.Softmax => "Softmax",
                _ => null,
            };
            if (activation is not null)
            {
                NodeProto act = nodes.Node(activation, "head.activation", [current], "head.act");
                if (head.Activation == Activation.Softmax)
                {
                    act.Attribute.Add(new AttributeProto { Name = "axis", Type = AttributeProto.Types.AttributeType.Int, I = -1 });
                }
                current = act.Output[0];
            }
        }
        if (model.Options.Skip > 0)
        {
            // y[j] += x[j] for j < Skip: x · S with S[j, j] = 1 selects those inputs into the first outputs.
            var select = new float[model.InputSize * model.OutputSize];
            for (int j = 0; j < model.Options.Skip; j++)
            {
                select[j * model.OutputSize + j] = 1;
            }
            string skipped = nodes.Node("MatMul", "skip.matmul", ["x", nodes.Initializer("skip.select", [model.InputSize, model.OutputSize], select)], "skip.x").Output[0];
            current = nodes.Node("Add", "skip.add", [current, skipped], "skip.out").Output[0];
        }
        nodes.Node("Identity", "output", [current], "y");
        graph.Output.Add(Sequence("y", model.OutputSize));

        var proto = new ModelProto { IrVersion = 8, ProducerName = "Rnn.Fast.Onnx", ProducerVersion = "0.1.0", Graph = graph };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        return proto;
    }

    // [1]: x's batch size at run time.
    private static string BatchSize(Builder nodes)
    {
        string shape = nodes.Node("Shape", "batch.shape", ["x"], "batch.x_shape").Output[0];
        return nodes.Node("Slice", "batch.slice", [shape, nodes.Ints("batch.start", [1]), nodes.Ints("batch.end", [2])], "batch.size").Output[0];
    }

    // [D, B, H]: the forward direction's initial state for every stream, zeros for the reverse direction.
    private static string InitialState(Builder nodes, string name, float[] values, int directions, string batch)
    {
        float[] data = directions == 1 ? values : [.. values, .. new float[values.Length]];
        string constant = nodes.Initializer(name + ".value", [directions, 1, values.Length], data);
        string shape = nodes.Node("Concat", name + ".concat", [nodes.Ints(name + ".d", [directions]), batch, nodes.Ints(name + ".h", [values.Length])],
            name + ".shape", ("axis", [0])).Output[0];
        return nodes.Node("Expand", name + ".expand", [constant, shape], name).Output[0];
    }

    private static float[] Blocks(ReadOnlySpan<float> pytorch, int[] from, int block)
    {
        var onnx = new float[pytorch.Length];
        for (int j = 0; j < from.Length; j++)
        {
            pytorch.Slice(from[j] * block, block).CopyTo(onnx.AsSpan(j * block, block));
        }
        return onnx;
    }

    private static ValueInfoProto Sequence(string name, int features)
    {
        var shape = new TensorShapeProto();
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = "steps" });
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = "batch" });
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = features });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = FloatType, Shape = shape } },
        };
    }

    private sealed class Builder(GraphProto graph)
    {
        public string Initializer(string name, long[] dims, float[] values)
        {
            var tensor = new TensorProto { Name = name, DataType = FloatType };
            tensor.Dims.AddRange(dims);
            tensor.FloatData.AddRange(values);
            graph.Initializer.Add(tensor);
            return name;
        }

        public string Ints(string name, long[] values)
        {
            var tensor = new TensorProto { Name = name, DataType = Int64Type };
            tensor.Dims.Add(values.Length);
            tensor.Int64Data.AddRange(values);
            graph.Initializer.Add(tensor);
            return name;
        }

        public NodeProto Node(string op, string name, string[] inputs, string output, (string Name, long[] Values)? ints = null)
        {
            var node = new NodeProto { OpType = op, Name = name };
            node.Input.AddRange(inputs.Reverse().SkipWhile(i => i.Length == 0).Reverse()); // no trailing "" (absent optional inputs)
            node.Output.Add(output);
            if (ints is { } a)
            {
                var attribute = new AttributeProto { Name = a.Name };
                if (a.Name == "axis")
                {
                    attribute.Type = AttributeProto.Types.AttributeType.Int;
                    attribute.I = a.Values[0];
                }
                else
                {
                    attribute.Type = AttributeProto.Types.AttributeType.Ints;
                    attribute.Ints.AddRange(a.Values);
                }
                node.Attribute.Add(attribute);
            }
            graph.Node.Add(node);
            return node;
        }
    }
}
