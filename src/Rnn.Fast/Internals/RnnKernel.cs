namespace Rnn.Fast.Internals;

/// <summary>
/// One ISA's implementation of every hot loop. A model packs its weights for one kernel (the block
/// width is the kernel's <see cref="Lanes"/>) and calls it through this class; the virtual call is
/// made once per layer step, never per element.
/// </summary>
/// <remarks>
/// Packed layouts, with V = <see cref="Lanes"/>, nb = ceil(H / V) blocks of hidden units and G gates
/// (LSTM 4 in PyTorch order i, f, g, o; GRU 3 in order r, z, n; Elman 1): an input matrix W [G*H, K] becomes
/// <c>[nb][K][G][V]</c> (column k of all gates of V hidden units is contiguous, so one broadcast of
/// input k feeds G fused multiply-adds into registers that hold the gates of the same units), and the
/// bias becomes <c>[nb][G][V]</c>. Padding units have zero weights and bias. State buffers are padded
/// to nb*V so the recurrence never has a tail.
/// </remarks>
internal abstract class RnnKernel
{
    /// <summary>Registry name: ISA and technique (<c>Avx512</c>, <c>Avx2Fma</c>, <c>Vector128</c>, <c>Scalar</c>).</summary>
    public abstract string Name { get; }

    /// <summary>Hidden units per block (floats per register).</summary>
    public abstract int Lanes { get; }

    /// <summary>
    /// One LSTM step for one stream: gates = init + Wx·x + Wh·hPrev, then c = f⊙c + i⊙g (in place) and
    /// hNext = o⊙tanh(c), all in registers per block.
    /// </summary>
    public abstract void LstmStep(
        ReadOnlySpan<float> init,   // [nb, 4, V] bias, or per-step precomputed Wx·x + bias
        ReadOnlySpan<float> wx,     // [nb, I, 4, V]; empty when init already holds Wx·x
        ReadOnlySpan<float> x,      // [I]
        ReadOnlySpan<float> wh,     // [nb, H, 4, V]
        ReadOnlySpan<float> hPrev,  // [H]
        Span<float> c,              // [nb*V], updated in place
        Span<float> hNext);         // [nb*V], must not overlap hPrev

    /// <summary>One Elman step for one stream: hNext = f(init + Wx·x + Wh·hPrev).</summary>
    public abstract void ElmanStep(
        Activation nonlinearity,
        ReadOnlySpan<float> init,   // [nb, V]
        ReadOnlySpan<float> wx,     // [nb, I, V]; empty when init already holds Wx·x
        ReadOnlySpan<float> x,      // [I]
        ReadOnlySpan<float> wh,     // [nb, H, V]
        ReadOnlySpan<float> hPrev,  // [H]
        Span<float> hNext);         // [nb*V], must not overlap hPrev

    /// <summary>
    /// One GRU step for one stream (PyTorch nn.GRU): r = σ(.), z = σ(.) of x and h parts together,
    /// n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), hNext = (1 − z) ⊙ n + z ⊙ hPrev.
    /// </summary>
    public abstract void GruStep(
        ReadOnlySpan<float> init,   // [nb, 3, V]: b_ir+b_hr, b_iz+b_hz, b_in, or per-step Wx·x + that
        ReadOnlySpan<float> biasHn, // [nb, V]: b_hn, kept apart because r scales it
        ReadOnlySpan<float> wx,     // [nb, I, 3, V]; empty when init already holds Wx·x
        ReadOnlySpan<float> x,      // [I]
        ReadOnlySpan<float> wh,     // [nb, H, 3, V]
        ReadOnlySpan<float> hPrev,  // [nb*V]: the blend reads whole blocks of it
        int hidden,                 // H: columns of wh
        Span<float> hNext);         // [nb*V], must not overlap hPrev

    /// <summary>
    /// The input projection of a whole chunk of steps as one blocked matrix product:
    /// output[r] = bias + W·x[r] for every row r, in the packed gate layout.
    /// </summary>
    public abstract void ProjectInputs(
        ReadOnlySpan<float> x,      // [rows, xStride], first k columns used
        int rows,
        int k,
        int xStride,
        ReadOnlySpan<float> packed, // [nb, k, G, V]
        ReadOnlySpan<float> bias,   // [nb, G, V]
        int gates,
        Span<float> output);        // [rows, nb*G*V]

    /// <summary>Dense head: y = g(W·h + b) with W packed as [O, Hp] (rows zero-padded to the state width).</summary>
    public abstract void Dense(
        Activation activation,
        ReadOnlySpan<float> weight, // [O, Hp]
        ReadOnlySpan<float> bias,   // [O]
        ReadOnlySpan<float> h,      // [Hp]
        Span<float> y);             // [O]

    /// <summary>Applies an activation in place (softmax over the whole span).</summary>
    public abstract void Activate(Activation activation, Span<float> values);

    /// <summary>e^x in place, with the same exp the activations use (exposed for verification).</summary>
    public abstract void Exp(Span<float> values);

    /// <inheritdoc />
    public override string ToString() => Name;
}
