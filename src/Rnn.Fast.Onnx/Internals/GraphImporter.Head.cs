using Onnx;

namespace Rnn.Fast.Onnx.Internals;

// The head: MatMul, Gemm, Add and the output activation on the sequence.
internal sealed partial class GraphImporter
{
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
