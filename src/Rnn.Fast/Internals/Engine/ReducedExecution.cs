namespace Rnn.Fast.Internals;

/// <summary>
/// Where a bf16 or int8 matrix runs through the reduced products and where through the float32 kernels on its
/// dequantized values. Both compute the same weights (the float32 kernels on the dequantized values are the
/// reference semantics, and skip only the int16 rounding of activations that int8 products allow themselves); what
/// differs is speed. Reduced products pay where a step streams its weights from L2 or further; for a small layer the
/// float32 latency kernels (whole step fused, head included) are faster, and they still are while L2 feeds them fast
/// enough. So a reduced layer under the threshold below keeps float32 copies of its dequantized weights and runs as
/// float32: a reduced model is not slower than the float32 one.
/// </summary>
internal static class ReducedExecution
{
    /// <summary>
    /// float32 bytes of a layer's W_ih + W_hh (or of the head) from which its reduced matrices run through the reduced
    /// products. Measured on Zen 4 (Stopwatch, batch-1 Step, int8 against float32, notes in
    /// perf-results/AMD-EPYC-f25m17/precision.md): at 131 KB and above the reduced step won every shape tried (square
    /// LSTM H = 64 1.2×, audio LSTM H = 96, square GRU H = 80, audio GRU H = 128, square Elman H = 128); below it the
    /// float32 kernels tied or won (audio LSTM H = 64 at 66 KB: 690–750 vs 900–940 ns; audio GRU H = 96 at 111 KB),
    /// because the fused float32 step (latency kernels, head included) still streams that much from L2 fast enough.
    /// </summary>
    public const long Int8Threshold = 128 * 1024;

    /// <summary>
    /// The same for bf16, whose products do as many FMAs as float32 (they only read half the bytes): it won clearly only
    /// from about 256 KB (square LSTM H = 96, 295 KB: 2.27 vs 2.83 µs), and lost at 131–197 KB on three of five shapes.
    /// </summary>
    public const long BFloat16Threshold = 256 * 1024;

    /// <summary>
    /// Whether a matrix set of <paramref name="float32Bytes"/> (as float32) should use the reduced products:
    /// <paramref name="forced"/> if given (<see cref="ReducedProducts.Always"/> or <see cref="ReducedProducts.Never"/>),
    /// else the size rule.
    /// </summary>
    public static bool UseReducedProducts(long float32Bytes, WeightPrecision precision, bool? forced) =>
        forced ?? float32Bytes >= (precision == WeightPrecision.BFloat16 ? BFloat16Threshold : Int8Threshold);
}
