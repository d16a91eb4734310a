using Onnx;

namespace Rnn.Fast.Onnx.Internals;

// Recurrent layers: LSTM, GRU and RNN nodes, their gate blocks, activations and initial states.
internal sealed partial class GraphImporter
{
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
}
