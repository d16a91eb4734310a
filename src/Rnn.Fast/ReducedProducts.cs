namespace Rnn.Fast;

/// <summary>
/// Where a bf16 or int8 model's matrices run through the reduced-precision products (see
/// <see cref="RnnModel.WithPrecision(WeightPrecision, ReducedProducts)"/>). Either way the model computes with the same
/// quantized weights; only the kernels differ.
/// </summary>
public enum ReducedProducts
{
    /// <summary>
    /// By size: a matrix set small enough that the fused float32 step streams it fast enough (a layer's W_ih + W_hh, or the
    /// head, under 128 KB as float32; measured on Zen 4) runs on the float32 kernels with its dequantized values; larger ones
    /// read their bf16/int8 bytes. A reduced model is then not slower than its float32 twin.
    /// </summary>
    Auto = 0,

    /// <summary>Every matrix through the reduced products, whatever its size (to verify or time those kernels).</summary>
    Always = 1,

    /// <summary>Every matrix on the float32 kernels with its dequantized values (the same weights, float32 bandwidth).</summary>
    Never = 2,
}
