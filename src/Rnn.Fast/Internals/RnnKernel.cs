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
        Span<float> hNext,          // [nb*V], must not overlap hPrev
        Span<float> activations = default); // [nb, 4, V] i, f, g, o for training; empty to skip

    /// <summary>
    /// The recurrent half of an LSTM step for two streams at once (the sequence API's batch loop): gates =
    /// init + Wh·hPrev per stream, then the same cell update as <see cref="LstmStep"/>. Each weight vector is
    /// loaded once for both streams.
    /// </summary>
    public abstract void LstmStepPair(
        ReadOnlySpan<float> init0, ReadOnlySpan<float> init1,   // [nb, 4, V] per-step Wx·x + bias
        ReadOnlySpan<float> wh,                                 // [nb, H, 4, V]
        ReadOnlySpan<float> hPrev0, ReadOnlySpan<float> hPrev1, // [H]
        Span<float> c0, Span<float> c1,                         // [nb*V], updated in place
        Span<float> hNext0, Span<float> hNext1,                 // [nb*V]
        Span<float> activations0, Span<float> activations1);    // [nb, 4, V] for training, or both empty

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
        Span<float> hNext,          // [nb*V], must not overlap hPrev
        Span<float> activations = default); // [nb, 4, V] r, z, n, W_hn h + b_hn for training; empty to skip

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

    /// <summary>
    /// LSTM backward, element-wise part, one step of one stream: from dL/dh(t), dL/dc(t+1→t) and the cached
    /// activations, the gradients of the four pre-activations; dc becomes dL/dc(t−1).
    /// </summary>
    public abstract void LstmBackward(
        ReadOnlySpan<float> dh,          // [nb*V] dL/dh(t), all paths
        ReadOnlySpan<float> activations, // [nb, 4, V] i, f, g, o of step t
        ReadOnlySpan<float> c,           // [nb*V] c(t)
        ReadOnlySpan<float> cPrev,       // [nb*V] c(t−1)
        Span<float> dc,                  // [nb*V] in: dL/dc(t) from step t+1; out: dL/dc(t−1)
        Span<float> dPre);               // [nb, 4, V] dL/d(pre-activation)

    /// <summary>
    /// GRU backward, element-wise part: gradients of the input-side and hidden-side pre-activations
    /// (they differ in the n rows, where r scales the hidden side), and dhBase = dhBelow + z ⊙ dh, the
    /// direct path to h(t−1) to which W_hhᵀ·dPreHidden is added afterwards.
    /// </summary>
    public abstract void GruBackward(
        ReadOnlySpan<float> dh,          // [nb*V] dL/dh(t)
        ReadOnlySpan<float> activations, // [nb, 4, V] r, z, n, W_hn h + b_hn of step t
        ReadOnlySpan<float> hPrev,       // [nb*V] h(t−1)
        ReadOnlySpan<float> dhBelow,     // [nb*V] gradient reaching h(t−1) from above (output or next layer); empty = 0
        Span<float> dPreInput,           // [nb, 3, V]
        Span<float> dPreHidden,          // [nb, 3, V]
        Span<float> dhBase);             // [nb*V]

    /// <summary>dPre = dh ⊙ f'(pre), with f' computed from the cached output h = f(pre).</summary>
    public abstract void ActivationBackward(Activation activation, ReadOnlySpan<float> output, ReadOnlySpan<float> dOutput, Span<float> dInput);

    /// <summary>
    /// Weight gradient of a packed matrix as one blocked product over rows: grad[q][j] += Σ_r x[r][j] · d[r][q]
    /// for every register column q (block, gate), in the packed layout <c>[nb, k, G, V]</c>.
    /// </summary>
    public abstract void AccumulateOuter(
        ReadOnlySpan<float> d,       // [rows, nb*G*V]
        ReadOnlySpan<float> x,       // [rows, xStride], first k columns used
        int rows,
        int k,
        int xStride,
        int gates,
        Span<float> grad);           // [nb, k, G, V], accumulated

    /// <summary>y += a·x, element-wise (lengths equal).</summary>
    public abstract void MultiplyAdd(float a, ReadOnlySpan<float> x, Span<float> y);

    /// <summary>sum[j] += Σ_r d[r][j] over rows of width sum.Length.</summary>
    public abstract void AccumulateRows(ReadOnlySpan<float> d, int rows, Span<float> sum);

    /// <summary>Applies an activation in place (softmax over the whole span).</summary>
    public abstract void Activate(Activation activation, Span<float> values);

    /// <summary>e^x in place, with the same exp the activations use (exposed for verification).</summary>
    public abstract void Exp(Span<float> values);

    /// <inheritdoc />
    public override string ToString() => Name;
}
