namespace Rnn.Fast;

/// <summary>
/// An activation function. Recurrent nonlinearities (Elman <c>f</c>) may be <see cref="Tanh"/>,
/// <see cref="Relu"/> or <see cref="Sigmoid"/>; an output head (<c>g</c>) may use any of them.
/// </summary>
/// <remarks>
/// The vectorised implementations are accurate, not approximations: against double precision,
/// tanh and sigmoid are within 3 ulp and exp within 2 ulp over the whole float range, subnormals
/// included (measured maxima: tanh 2.4, sigmoid 2.3, exp 1.7 ulp; asserted by the tests for every kernel); ±0, ±Inf, NaN and subnormals are handled (NaN in, NaN out; never NaN from overflow).
/// </remarks>
public enum Activation
{
    /// <summary><c>g(x) = x</c>.</summary>
    Identity,
    /// <summary><c>tanh(x)</c>.</summary>
    Tanh,
    /// <summary><c>max(x, 0)</c> (NaN stays NaN, as in PyTorch).</summary>
    Relu,
    /// <summary><c>1 / (1 + e^-x)</c>.</summary>
    Sigmoid,
    /// <summary><c>e^(x_i - max x) / Σ_j e^(x_j - max x)</c> over one step's outputs; heads only.</summary>
    Softmax,
}
