namespace Rnn.Fast.Internals;

/// <summary>
/// One ISA's kernels, grouped by role: <see cref="Cells"/> (recurrent steps and their element-wise backward),
/// <see cref="Products"/> (packed matrix products over many rows) and <see cref="Elementwise"/> (activations,
/// derivatives, axpy, row sums). A model packs its weights for one kernel (blocks of <see cref="Lanes"/> units)
/// and calls its roles through virtual calls made once per layer step, never per element.
/// </summary>
/// <remarks>
/// A new family joins as a role implementation, not a new contract: a latency family (one or a few streams,
/// head fused) or a register-blocked multi-stream family (S streams × a block of units per tile) implements
/// <see cref="CellKernel"/>'s <c>…Steps</c> ops for its tile shapes, and a GEMM-class product family implements
/// <see cref="ProductKernel"/>.
/// </remarks>
internal sealed class RnnKernel(string name, CellKernel cells, ProductKernel products, ElementwiseKernel elementwise,
    CellKernel? streamCells = null, LatencyCells? latency = null, ReducedProductKernel? reduced = null)
{
    /// <summary>Registry name: the ISA (<c>Avx512</c>, <c>Avx2Fma</c>, <c>Vector128</c>, <c>Scalar</c>).</summary>
    public string Name { get; } = name;

    /// <summary>Hidden units per block (floats per register).</summary>
    public int Lanes => Cells.Lanes;

    /// <summary>The cell family for one stream (streaming steps, batch-1 sequences).</summary>
    public CellKernel Cells { get; } = cells;

    /// <summary>The cell family for steps of two or more streams together (batched sequences, batch states, training).</summary>
    public CellKernel StreamCells { get; } = streamCells ?? cells;

    /// <summary>The whole-step family for <c>Step</c> of one stream or a few (head fused); null to use the cells.</summary>
    public LatencyCells? Latency { get; } = latency;

    public ProductKernel Products { get; } = products;

    /// <summary>Products with bfloat16 or int8 weights (reduced-precision models).</summary>
    public ReducedProductKernel Reduced { get; } = reduced ?? new ReducedProductsScalar(cells.Lanes);

    public ElementwiseKernel Elementwise { get; } = elementwise;

    /// <inheritdoc />
    public override string ToString() => Name;
}
