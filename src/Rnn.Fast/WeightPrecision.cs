namespace Rnn.Fast;

/// <summary>
/// How a model stores the weight matrices of its recurrent layers and head (biases, state and activations stay
/// float32). Reduced precision reads fewer bytes per weight, which is what a step costs once the weights no longer fit
/// in L1: see <see cref="RnnModel.WithPrecision(WeightPrecision)"/> and <see cref="WeightQuantization"/> for the exact schemes.
/// </summary>
public enum WeightPrecision
{
    /// <summary>IEEE float32, as trained: the default.</summary>
    Float32 = 0,

    /// <summary>
    /// bfloat16: each float32 weight rounded to nearest-even to its upper 16 bits (<see cref="WeightQuantization.ToBFloat16"/>),
    /// widened back to float32 in registers; products accumulate in float32.
    /// </summary>
    BFloat16 = 1,

    /// <summary>
    /// int8, symmetric, one scale per output row of each PyTorch-layout matrix <c>[G·H, K]</c> (and the head's
    /// <c>[O, H]</c>): <c>s_r = max_j |W_rj| / 127</c>, <c>q = round-half-even(W / s_r)</c> clamped to ±127
    /// (<see cref="WeightQuantization.QuantizeInt8"/>). Products are exact integer dot products of q with the
    /// activations quantized per step to int16 (one scale per vector, <c>max |x| / 32767</c>), scaled back per row
    /// in float32.
    /// </summary>
    Int8 = 2,
}
