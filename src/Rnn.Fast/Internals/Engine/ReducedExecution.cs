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
    /// Set to <c>always</c> or <c>never</c> to force reduced products on or off for every reduced matrix (to measure
    /// the crossover); unset, the size rule below decides.
    /// </summary>
    public const string EnvironmentVariable = "RNNFAST_REDUCED_PRODUCTS";

    /// <summary>
    /// float32 bytes of a layer's W_ih + W_hh (or of the head) above which its reduced matrices run through the reduced
    /// products. Measured on Zen 4 (perf-results/AMD-EPYC-f25m17/precision.md).
    /// </summary>
    public const long Float32BytesThreshold = 64 * 1024;

    /// <summary>
    /// Whether a matrix set of <paramref name="float32Bytes"/> (as float32) should use the reduced products:
    /// <paramref name="forced"/> if given (tests), else the environment variable, else the size rule.
    /// </summary>
    /// <remarks>Read at each model creation (never on a hot path), so a tool may set the variable for one run.</remarks>
    public static bool UseReducedProducts(long float32Bytes, bool? forced) =>
        forced ?? Environment.GetEnvironmentVariable(EnvironmentVariable)?.Trim().ToLowerInvariant() switch
    {
        "always" => true,
        "never" => false,
        _ => float32Bytes > Float32BytesThreshold,
    };
}
