namespace Rnn.Fast.Tests.Internals.Kernels;

/// <summary>
/// The forward error bounds the op tests use as tolerances, stated once: the derivation of docs/tolerances.md
/// (which bounds one whole model step) applied to one kernel op at a time, following the op's own operations.
/// </summary>
/// <remarks>
/// <para><b>Model.</b> Float arithmetic rounds to nearest: fl(a ∘ b) = (a ∘ b)(1 + δ) with |δ| ≤ u = 2⁻²⁴, for
/// ∘ ∈ {+, −, ×, ÷} and for a fused multiply-add as a whole (one δ). Gradual underflow adds at most an absolute
/// η = 2⁻¹⁴⁹ per operation (the smallest subnormal); it only matters for results near zero.</para>
/// <para><b>Sums (<see cref="Sum"/>).</b> A kernel sums n terms t_j (products w_j·x_j of exact floats, plus start
/// values such as a bias, which are exact floats) in some order of its choosing: chains, several accumulators,
/// pairwise lane sums, fused or unfused multiply-adds. Every such order is a binary tree with n leaves, so a leaf
/// passes through at most n − 1 additions plus one rounding of its product (none when fused):
/// fl(Σ t_j) = Σ t_j Π_{k ≤ n}(1 + δ_k), and |Π(1 + δ_k) − 1| ≤ γ_n = n·u / (1 − n·u) (Higham, Accuracy and
/// Stability of Numerical Algorithms, Lemma 3.1). Hence |fl(Σ t_j) − Σ t_j| ≤ γ_n·Σ|t_j| + n·η, whatever the order.
/// Zero leaves (padding weights, zeroed accumulators) add no error.</para>
/// <para><b>After the sum (<see cref="Approx"/>).</b> The gate math after the products is a handful of operations;
/// <see cref="Approx"/> carries a value (exact, in double) with a bound on the float result's distance from it,
/// adding one rounding per operation (an overcount where the kernel fuses two into an FMA). An activation f with
/// a stated bound of k ulp (see the XML docs in <c>src/Rnn.Fast/Internals/SimdMath.cs</c>: exp 2, tanh 3,
/// sigmoid 3) whose input carries error e turns it into L·e + k·ulp(f), with L the Lipschitz constant of f around
/// the input (tanh, ReLU, identity 1; sigmoid 1/4; exp e^(x + e)), and ulp(y) ≤ 2u·|y| + η.</para>
/// <para>The reference itself is double precision (53-bit), so <see cref="Allowed"/> adds a slack of 1e-12
/// relative for its own rounding; that is 10⁴ times smaller than one float ulp.</para>
/// </remarks>
internal static class ErrorBound
{
    /// <summary>Unit roundoff of float: 2⁻²⁴.</summary>
    public const double U = 1.0 / (1 << 24);

    /// <summary>The smallest subnormal float, 2⁻¹⁴⁹: the absolute error underflow may add to one operation.</summary>
    public const double Eta = float.Epsilon;

    public const double ExpUlp = 2;
    public const double TanhUlp = 3;
    public const double SigmoidUlp = 3;

    /// <summary>γ_n = n·u / (1 − n·u).</summary>
    public static double Gamma(int n) => n * U / (1 - n * U);

    /// <summary>|fl(Σ t_j) − Σ t_j| for a float sum of <paramref name="terms"/> terms in any order.</summary>
    public static double Sum(int terms, double sumOfMagnitudes) => Gamma(terms) * sumOfMagnitudes + terms * Eta;

    /// <summary>The error of an activation with a stated ulp bound, at an output of magnitude |y|.</summary>
    public static double Ulps(double ulps, double magnitude) => ulps * (2 * U * magnitude + Eta);

    /// <summary>The tolerance for comparing a float result with a reference <see cref="Approx"/>.</summary>
    public static double Allowed(Approx expected) => expected.Error + 1e-12 * Math.Abs(expected.Value);

    /// <summary>True when <paramref name="actual"/> is within the bound (false for NaN).</summary>
    public static bool Within(float actual, Approx expected) => Math.Abs(actual - expected.Value) <= Allowed(expected);
}

/// <summary>
/// A reference value (double precision, from exact float inputs) with a bound on the error of the float computation
/// that follows the same formula: see <see cref="ErrorBound"/>. Operators add the propagated input errors (first
/// order plus the product of errors) and one rounding of the result.
/// </summary>
internal readonly record struct Approx(double Value, double Error)
{
    public static Approx Exact(double value) => new(value, 0);

    /// <summary>A float sum of <paramref name="terms"/> terms with exact value <paramref name="value"/>.</summary>
    public static Approx Sum(double value, double sumOfMagnitudes, int terms) => new(value, ErrorBound.Sum(terms, sumOfMagnitudes));

    public static implicit operator Approx(float value) => Exact(value);

    public static Approx operator +(Approx a, Approx b) => Rounded(a.Value + b.Value, a.Error + b.Error);

    public static Approx operator -(Approx a, Approx b) => Rounded(a.Value - b.Value, a.Error + b.Error);

    public static Approx operator *(Approx a, Approx b) =>
        Rounded(a.Value * b.Value, Math.Abs(a.Value) * b.Error + Math.Abs(b.Value) * a.Error + a.Error * b.Error);

    /// <summary>1 / a, for |a| larger than its error: |1/â − 1/a| ≤ e / (|a| (|a| − e)).</summary>
    public static Approx Reciprocal(Approx a)
    {
        double floor = Math.Abs(a.Value) - a.Error;
        return Rounded(1 / a.Value, floor > 0 ? a.Error / (Math.Abs(a.Value) * floor) : double.PositiveInfinity);
    }

    public static Approx Tanh(Approx a) => Activation(Math.Tanh(a.Value), 1, a.Error, ErrorBound.TanhUlp);

    public static Approx Sigmoid(Approx a) => Activation(SigmoidOf(a.Value), 0.25, a.Error, ErrorBound.SigmoidUlp);

    public static Approx Exp(Approx a) => Activation(Math.Exp(a.Value), Math.Exp(a.Value + a.Error), a.Error, ErrorBound.ExpUlp);

    /// <summary>max(a, 0) and the identity are computed exactly: only the input's error carries over (L = 1).</summary>
    public static Approx Relu(Approx a) => new(Math.Max(a.Value, 0), a.Error);

    public static double SigmoidOf(double x) => 1 / (1 + Math.Exp(-x));

    // The computed input is within e of the exact one: f moves by at most L·e, then the float f adds k ulp of its
    // own output (whose magnitude is at most |f| + L·e).
    private static Approx Activation(double value, double lipschitz, double inputError, double ulps)
    {
        double propagated = lipschitz * inputError;
        return new Approx(value, propagated + ErrorBound.Ulps(ulps, Math.Abs(value) + propagated));
    }

    // One rounding of a result whose computed magnitude is at most |value| + error.
    private static Approx Rounded(double value, double error) =>
        new(value, error + ErrorBound.U * (Math.Abs(value) + error) + ErrorBound.Eta);

    public override string ToString() => $"{Value:R} ± {Error:G3}";
}
