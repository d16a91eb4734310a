namespace Rnn.Fast.Internals;

/// <summary>
/// Where a bf16 or int8 matrix runs through the reduced products and where through the float32 kernels on its
/// dequantized values. Both compute the same weights (the float32 kernels on the dequantized values are the
/// reference semantics, and skip only the int16 rounding of activations that int8 products allow themselves); what
/// differs is speed. Reduced products pay where a step streams its weights from L2 or further; a small layer is held
/// in L1 either way, where the float32 latency kernels (whole step fused, head included) are faster. So a small reduced
/// layer keeps float32 copies of its dequantized weights and runs as float32: a reduced model is never slower than the
/// float32 one.
/// </summary>
internal static class ReducedExecution
{
    /// <summary>
    /// float32 bytes of a layer's W_ih + W_hh (or of the head) above which its reduced matrices run through the reduced
    /// products. Measured on Zen 4 (perf-results/AMD-EPYC-f25m17/precision.md).
    /// </summary>
    public const long Float32BytesThreshold = 64 * 1024;

    /// <summary>
    /// Whether a matrix set of <paramref name="float32Bytes"/> (as float32) should use the reduced products:
    /// <paramref name="forced"/> if given (<see cref="ReducedProducts.Always"/> or <see cref="ReducedProducts.Never"/>),
    /// else the size rule.
    /// </summary>
    public static bool UseReducedProducts(long float32Bytes, bool? forced) => forced ?? float32Bytes > Float32BytesThreshold;
}
