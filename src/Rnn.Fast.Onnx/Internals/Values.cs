using System.Collections.Immutable;

namespace Rnn.Fast.Onnx.Internals;

/// <summary>
/// The axes of a sequence tensor, as the importer tracks them. The graph input is <c>[P0, P1, I]</c>; the first
/// recurrent node decides which of P0/P1 is time (its X is <c>[T, B, I]</c>), so batch-first exports (a Transpose
/// before the RNN) come out right without guessing. <see cref="P0P1"/>/<see cref="P1P0"/> are the two flattened
/// into one axis (P0 outer), as before a Gemm head; <see cref="Dir"/> is the direction axis of a bidirectional
/// node's Y; <see cref="One"/> a size-1 axis.
/// </summary>
internal enum SeqAxis
{
    P0,
    P1,
    P0P1,
    P1P0,
    Dir,
    Feature,
    One,
}

/// <summary>One entry of a shape vector: a known size (<see cref="Value"/> ≥ 0), and/or a sequence axis it stands for.</summary>
internal readonly record struct Dim(long Value, SeqAxis? Symbol)
{
    public bool Known => Value >= 0;

    public static Dim Of(long value) => new(value, null);

    public override string ToString() => Symbol is { } s ? (Known ? $"{s}={Value}" : $"{s}") : $"{Value}";
}

/// <summary>What a graph value is, as far as the importer needs to know.</summary>
internal abstract class Value;

/// <summary>A constant: an initializer, a Constant node, or something folded from them.</summary>
internal sealed class ConstValue(ConstTensor tensor) : Value
{
    public ConstTensor Tensor { get; } = tensor;
}

/// <summary>A 0-D or 1-D integer tensor some of whose entries are the (run-time) sizes of sequence axes: what Shape of the input gives.</summary>
internal sealed class DimsValue(Dim[] dims, bool scalar) : Value
{
    public Dim[] Dims { get; } = dims;

    public bool Scalar { get; } = scalar;
}

/// <summary>
/// A small constant <see cref="Base"/> broadcast (numpy rules, right-aligned) to <see cref="Shape"/>, which may name
/// sequence axes: the zero initial states torch builds with ConstantOfShape/Expand from the input's batch size.
/// Never materialized, so a huge claimed shape costs nothing.
/// </summary>
internal sealed class BroadcastValue(ConstTensor @base, Dim[] shape) : Value
{
    public ConstTensor Base { get; } = @base;

    public Dim[] Shape { get; } = shape;
}

/// <summary>The sequence flowing through the model: the graph input, after 0..n recurrent layers and maybe the head.</summary>
internal sealed class SeqValue(SeqAxis[] axes, int features, Chain chain) : Value
{
    public SeqAxis[] Axes { get; } = axes;

    /// <summary>Size of the <see cref="SeqAxis.Feature"/> axis.</summary>
    public int Features { get; } = features;

    public Chain Chain { get; } = chain;
}

/// <summary>Derived from a graph input other than the sequence (h0/c0 given by the caller at run time).</summary>
internal sealed class RuntimeValue(string input) : Value
{
    public string Input { get; } = input;
}

/// <summary>Derived from a recurrent node's Y_h/Y_c: the final state, which Rnn.Fast keeps in its RnnState.</summary>
internal sealed class FinalStateValue : Value;

/// <summary>The model built so far along the sequence: layers, initial states, head, activation. Immutable.</summary>
internal sealed record Chain(
    ImmutableList<LayerWeights> Layers,
    ImmutableList<LayerWeights> Reverse,
    ImmutableList<float[]?> InitialHidden,
    ImmutableList<float[]?> InitialCell,
    int Directions,
    float[]? HeadWeight, // [O, F]
    int HeadInputs,
    int HeadOutputs,
    float[]? HeadBias,
    Activation? HeadActivation)
{
    public static readonly Chain Empty = new([], [], [], [], 0, null, 0, 0, null, null);

    public bool HasHead => HeadWeight is not null;
}
