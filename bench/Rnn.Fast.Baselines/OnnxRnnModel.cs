using Google.Protobuf;
using Onnx;

namespace Rnn.Fast.Baselines;

/// <summary>
/// Builds an ONNX model with a single <c>LSTM</c> node (a <c>GRU</c> node with <c>linear_before_reset = 1</c> for a
/// GRU layer, PyTorch's semantics; an <c>RNN</c> node with Tanh for an Elman layer) from PyTorch-layout weights, with
/// OnnxSharp's protobuf classes; the weights are graph initializers.
/// </summary>
/// <remarks>
/// <para>Inputs: <c>X [T, B, I]</c>, <c>initial_h [1, B, H]</c> and, for LSTM, <c>initial_c [1, B, H]</c>
/// (T and B are symbolic). Outputs: <c>Y [T, 1, B, H]</c>, <c>Y_h [1, B, H]</c>, <c>Y_c [1, B, H]</c> (LSTM);
/// with a head, also <c>y [1, B, O] = Y_h·Wᵀ + b</c> (the head of the last step; meant for T = 1).</para>
/// <para>Gate order: ONNX LSTM rows are i, o, f, c where PyTorch's are i, f, g, o, so
/// <c>W = [W_i; W_o; W_f; W_g]</c> (same for R and both halves of B); <c>B = [b_ih; b_hh]</c>, shape [1, 8H]. ONNX GRU
/// rows are z, r, h where PyTorch's are r, z, n: <c>W = [W_z; W_r; W_n]</c>, <c>B</c> [1, 6H].</para>
/// </remarks>
public static class OnnxRnnModel
{
    /// <summary>The ONNX opset the models declare.</summary>
    public const int Opset = 14;

    private const int FloatType = 1; // TensorProto.DataType.FLOAT

    /// <summary>Serialized model bytes for one layer and an optional identity head.</summary>
    public static byte[] Build(LayerWeights layer, HeadWeights? head = null)
    {
        ArgumentNullException.ThrowIfNull(layer);
        bool lstm = layer.Cell == CellType.Lstm, gru = layer.Cell == CellType.Gru;
        if (!lstm && !gru && (layer.Cell != CellType.Elman || layer.Nonlinearity != Activation.Tanh))
        {
            throw new ArgumentException("Only LSTM, GRU and Elman (tanh) layers have an ONNX baseline here.", nameof(layer));
        }
        if (head is not null && head.Activation != Activation.Identity)
        {
            throw new ArgumentException("Only an identity head has an ONNX baseline here.", nameof(head));
        }
        int h = layer.HiddenSize, i = layer.InputSize;
        int gates = lstm ? 4 : gru ? 3 : 1;
        // PyTorch gate block k goes to ONNX block order[k]... expressed as: ONNX block j takes PyTorch block from[j].
        int[] from = lstm ? [0, 3, 1, 2] : gru ? [1, 0, 2] : [0];
        string op = lstm ? "LSTM" : gru ? "GRU" : "RNN";
        float[] w = Reorder(layer.WeightIh, from, h * i);
        float[] r = Reorder(layer.WeightHh, from, h * h);
        float[] b = [.. Reorder(layer.BiasIh, from, h), .. Reorder(layer.BiasHh, from, h)];

        var graph = new GraphProto { Name = op.ToLowerInvariant() };
        graph.Initializer.Add(Tensor("W", [1, gates * h, i], w));
        graph.Initializer.Add(Tensor("R", [1, gates * h, h], r));
        graph.Initializer.Add(Tensor("B", [1, 2 * gates * h], b));
        graph.Input.Add(Value("X", "T", "B", i));
        graph.Input.Add(Value("initial_h", "1", "B", h));
        var node = new NodeProto { OpType = op, Name = op.ToLowerInvariant() };
        node.Input.AddRange(lstm ? ["X", "W", "R", "B", "", "initial_h", "initial_c"] : ["X", "W", "R", "B", "", "initial_h"]);
        node.Output.AddRange(lstm ? ["Y", "Y_h", "Y_c"] : ["Y", "Y_h"]);
        node.Attribute.Add(new AttributeProto { Name = "hidden_size", Type = AttributeProto.Types.AttributeType.Int, I = h });
        if (gru)
        {
            // PyTorch applies the reset gate after W_hn h + b_hn.
            node.Attribute.Add(new AttributeProto { Name = "linear_before_reset", Type = AttributeProto.Types.AttributeType.Int, I = 1 });
        }
        else if (!lstm)
        {
            var activations = new AttributeProto { Name = "activations", Type = AttributeProto.Types.AttributeType.Strings };
            activations.Strings.Add(ByteString.CopyFromUtf8("Tanh"));
            node.Attribute.Add(activations);
        }
        graph.Node.Add(node);
        graph.Output.Add(Value4("Y", h));
        graph.Output.Add(Value("Y_h", "1", "B", h));
        if (lstm)
        {
            graph.Input.Add(Value("initial_c", "1", "B", h));
            graph.Output.Add(Value("Y_c", "1", "B", h));
        }
        if (head is not null)
        {
            // y = Y_h · Wᵀ + b: MatMul takes [H, O], so transpose nn.Linear's [O, H].
            int o = head.OutputSize;
            var wt = new float[h * o];
            for (int k = 0; k < o; k++)
            {
                for (int j = 0; j < h; j++)
                {
                    wt[j * o + k] = head.Weight[k * h + j];
                }
            }
            graph.Initializer.Add(Tensor("head_wt", [h, o], wt));
            graph.Initializer.Add(Tensor("head_b", [o], head.Bias.ToArray()));
            var matMul = new NodeProto { OpType = "MatMul", Name = "head_matmul" };
            matMul.Input.AddRange(["Y_h", "head_wt"]);
            matMul.Output.Add("head_mm");
            var add = new NodeProto { OpType = "Add", Name = "head_add" };
            add.Input.AddRange(["head_mm", "head_b"]);
            add.Output.Add("y");
            graph.Node.Add(matMul);
            graph.Node.Add(add);
            graph.Output.Add(Value("y", "1", "B", o));
        }
        var model = new ModelProto { IrVersion = 7, ProducerName = "Rnn.Fast.Baselines", Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        return model.ToByteArray();
    }

    private static float[] Reorder(ReadOnlySpan<float> pytorch, int[] from, int block)
    {
        var onnx = new float[pytorch.Length];
        for (int j = 0; j < from.Length; j++)
        {
            pytorch.Slice(from[j] * block, block).CopyTo(onnx.AsSpan(j * block, block));
        }
        return onnx;
    }

    private static TensorProto Tensor(string name, long[] dims, float[] values)
    {
        var tensor = new TensorProto { Name = name, DataType = FloatType };
        tensor.Dims.AddRange(dims);
        tensor.FloatData.AddRange(values);
        return tensor;
    }

    private static ValueInfoProto Value(string name, string dim0, string dim1, int dim2) =>
        ValueOf(name, Dim(dim0), Dim(dim1), Dim(dim2));

    private static ValueInfoProto Value4(string name, int hidden) => ValueOf(name, Dim("T"), Dim("1"), Dim("B"), Dim(hidden));

    private static ValueInfoProto ValueOf(string name, params TensorShapeProto.Types.Dimension[] dims)
    {
        var shape = new TensorShapeProto();
        shape.Dim.AddRange(dims);
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = FloatType, Shape = shape } },
        };
    }

    private static TensorShapeProto.Types.Dimension Dim(string value) =>
        long.TryParse(value, out long n) ? Dim(n) : new TensorShapeProto.Types.Dimension { DimParam = value };

    private static TensorShapeProto.Types.Dimension Dim(long value) => new() { DimValue = value };
}
