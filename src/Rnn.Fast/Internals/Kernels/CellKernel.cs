namespace Rnn.Fast.Internals;

/// <summary>
/// The cell role: one recurrent step of LSTM, GRU or Elman units, with the gate activations and the state update
/// done in registers per block of <see cref="Lanes"/> units before one store; and the element-wise half of each
/// cell's backward step.
/// </summary>
/// <remarks>
/// <para>Shapes: V = <see cref="Lanes"/>, nb = ceil(H / V) blocks, Hp = nb·V, G gates (LSTM 4: i, f, g, o;
/// GRU 3: r, z, n; Elman 1). Every state row (h, c) is padded to Hp; padding units have zero weights and bias,
/// so the recurrence never has a tail. Weight matrices are <see cref="PackedMatrix"/> <c>[nb, K, G, V]</c>.</para>
/// <para>Two forms of forward step: <c>…StepFused</c> for one stream multiplies W_ih·x and W_hh·h in the same pass
/// (a streaming step, where nothing is precomputed); <c>…Steps</c> takes <c>pre = W_ih·x + b</c> already computed
/// for a chunk of rows (<see cref="ProductKernel.MultiplyRows"/>) and steps S streams together, so an
/// implementation may share each W_hh load between streams. Rows of consecutive streams are contiguous with
/// stride Hp (states) or the gate width (pre-activations). <c>cNext</c> may be <c>cPrev</c> itself (in place);
/// <c>hNext</c> must not overlap <c>hPrev</c> (every block reads all of h).</para>
/// </remarks>
internal abstract class CellKernel
{
    /// <summary>Hidden units per block (floats per register).</summary>
    public abstract int Lanes { get; }

    /// <summary>One LSTM step of one stream: gates = bias + W_ih·x + W_hh·h; c' = f⊙c + i⊙g; h' = o⊙tanh(c').</summary>
    public abstract void LstmStepFused(
        ReadOnlySpan<float> x,      // [I]
        ReadOnlySpan<float> hPrev,  // [Hp]
        ReadOnlySpan<float> cPrev,  // [Hp]
        PackedMatrix wx,            // [nb, I, 4, V]
        PackedMatrix wh,            // [nb, H, 4, V]
        ReadOnlySpan<float> bias,   // [nb, 4, V]
        Span<float> cNext,          // [Hp]
        Span<float> hNext);         // [Hp]

    /// <summary>One LSTM step of S streams from precomputed input projections; optionally keeps i, f, g, o for backward.</summary>
    public abstract void LstmSteps(
        ReadOnlySpan<float> pre,    // [S, nb, 4, V]: W_ih·x + bias per stream
        ReadOnlySpan<float> hPrev,  // [S, Hp]
        ReadOnlySpan<float> cPrev,  // [S, Hp]
        PackedMatrix wh,            // [nb, H, 4, V]
        int streams,                // S
        Span<float> cNext,          // [S, Hp]
        Span<float> hNext,          // [S, Hp]
        Span<float> gates);         // [S, nb, 4, V] i, f, g, o; empty to skip

    /// <summary>
    /// One GRU step of one stream (PyTorch nn.GRU): r, z = σ(x and h parts together),
    /// n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), h' = (1 − z) ⊙ n + z ⊙ h.
    /// </summary>
    public abstract void GruStepFused(
        ReadOnlySpan<float> x,      // [I]
        ReadOnlySpan<float> hPrev,  // [Hp]
        PackedMatrix wx,            // [nb, I, 3, V]
        PackedMatrix wh,            // [nb, H, 3, V]
        ReadOnlySpan<float> bias,   // [nb, 3, V]: b_ir+b_hr, b_iz+b_hz, b_in
        ReadOnlySpan<float> biasHn, // [Hp]
        Span<float> hNext);         // [Hp]

    /// <summary>One GRU step of S streams from precomputed input projections; optionally keeps r, z, n, W_hn h + b_hn.</summary>
    public abstract void GruSteps(
        ReadOnlySpan<float> pre,    // [S, nb, 3, V]
        ReadOnlySpan<float> hPrev,  // [S, Hp]
        PackedMatrix wh,            // [nb, H, 3, V]
        ReadOnlySpan<float> biasHn, // [Hp]
        int streams,                // S
        Span<float> hNext,          // [S, Hp]
        Span<float> gates);         // [S, nb, 4, V] r, z, n, W_hn h + b_hn; empty to skip

    /// <summary>One Elman step of one stream: h' = f(bias + W_ih·x + W_hh·h).</summary>
    public abstract void ElmanStepFused(
        Activation nonlinearity,    // f: tanh, ReLU or sigmoid
        ReadOnlySpan<float> x,      // [I]
        ReadOnlySpan<float> hPrev,  // [Hp]
        PackedMatrix wx,            // [nb, I, 1, V]
        PackedMatrix wh,            // [nb, H, 1, V]
        ReadOnlySpan<float> bias,   // [nb, 1, V]
        Span<float> hNext);         // [Hp]

    /// <summary>One Elman step of S streams from precomputed input projections.</summary>
    public abstract void ElmanSteps(
        Activation nonlinearity,
        ReadOnlySpan<float> pre,    // [S, Hp]
        ReadOnlySpan<float> hPrev,  // [S, Hp]
        PackedMatrix wh,            // [nb, H, 1, V]
        int streams,                // S
        Span<float> hNext);         // [S, Hp]

    /// <summary>
    /// LSTM backward, element-wise part, for n units (any number of whole streams): from dL/dh(t), dL/dc arriving
    /// from step t+1 and the kept gates, the gradients of the four pre-activations; dc becomes dL/dc(t−1).
    /// </summary>
    public abstract void LstmBackward(
        ReadOnlySpan<float> dh,     // [n] dL/dh(t), all paths
        ReadOnlySpan<float> gates,  // [n/V, 4, V] i, f, g, o of step t
        ReadOnlySpan<float> c,      // [n] c(t)
        ReadOnlySpan<float> cPrev,  // [n] c(t−1)
        Span<float> dc,             // [n] in: dL/dc(t) from step t+1; out: dL/dc(t−1)
        Span<float> dPre);          // [n/V, 4, V]

    /// <summary>
    /// GRU backward, element-wise part: gradients of the input-side and hidden-side pre-activations (they differ in
    /// the n rows, where r scales the hidden side), and dhBase = dhBelow + z ⊙ dh, the direct path to h(t−1) to
    /// which W_hhᵀ·dPreHidden is added afterwards.
    /// </summary>
    public abstract void GruBackward(
        ReadOnlySpan<float> dh,      // [n] dL/dh(t)
        ReadOnlySpan<float> gates,   // [n/V, 4, V] r, z, n, W_hn h + b_hn of step t
        ReadOnlySpan<float> hPrev,   // [n] h(t−1)
        ReadOnlySpan<float> dhBelow, // [n] gradient reaching h(t−1) from the output or the next layer
        Span<float> dPreInput,       // [n/V, 3, V]
        Span<float> dPreHidden,      // [n/V, 3, V]
        Span<float> dhBase);         // [n]

    /// <summary>Elman backward, element-wise part: dPre = dh ⊙ f'(pre), with f' from the kept output h = f(pre).</summary>
    public abstract void ElmanBackward(
        Activation nonlinearity,
        ReadOnlySpan<float> h,      // [n] h(t)
        ReadOnlySpan<float> dh,     // [n]
        Span<float> dPre);          // [n]
}
