using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Rnn.Fast.Internals;

/// <summary>
/// The ordered list of kernels (fastest first), filtered to what this CPU and runtime support.
/// Scalar is always present. <c>RNNFAST_KERNEL=Name</c> forces the default; an unknown or unsupported
/// name is an error at start-up rather than a silent fallback.
/// </summary>
internal static class KernelRegistry
{
    /// <summary>The environment variable that forces the default kernel.</summary>
    public const string EnvironmentVariable = "RNNFAST_KERNEL";

    private static readonly RnnKernel[] s_available = CreateAvailable();
    private static readonly Lazy<RnnKernel> s_default = new(ChooseDefault);

    /// <summary>Every kernel this machine can run, fastest first; the last is always Scalar.</summary>
    public static IReadOnlyList<RnnKernel> Available => s_available;

    /// <summary>The kernel new models use unless told otherwise.</summary>
    public static RnnKernel Default => s_default.Value;

    /// <summary>Every kernel name the library knows, available here or not.</summary>
    public static IReadOnlyList<string> AllNames { get; } = ["Avx512", "Avx2Fma", "Vector128", "Scalar"];

    private static RnnKernel[] CreateAvailable()
    {
        var kernels = new List<RnnKernel>(4);
        if (Vector512.IsHardwareAccelerated && Avx512F.IsSupported)
        {
            kernels.Add(new RnnKernel("Avx512", new GateInterleavedCellsAvx512(), new BlockedProductsAvx512(), new ElementwiseAvx512(),
                streamCells: new StreamTiledCellsAvx512(), latency: new LatencyCellsAvx512(), reduced: new PairWidenedProductsAvx512()));
        }
        if (Vector256.IsHardwareAccelerated && Avx2.IsSupported && Fma.IsSupported)
        {
            kernels.Add(new RnnKernel("Avx2Fma", new GateInterleavedCellsAvx2Fma(), new BlockedProductsAvx2Fma(), new ElementwiseAvx2Fma(),
                streamCells: new StreamTiledCellsAvx2Fma(), latency: new LatencyCellsAvx2Fma(), reduced: new PairWidenedProductsAvx2Fma()));
        }
        if (Vector128.IsHardwareAccelerated)
        {
            kernels.Add(new RnnKernel("Vector128", new GateInterleavedCellsVector128(), new BlockedProductsVector128(), new ElementwiseVector128(),
                streamCells: new StreamTiledCellsVector128(), latency: new LatencyCellsVector128(), reduced: new PairWidenedProductsVector128()));
        }
        kernels.Add(new RnnKernel("Scalar", new GateInterleavedCellsScalar(), new BlockedProductsScalar(), new ElementwiseScalar(),
                streamCells: new StreamTiledCellsScalar(), latency: new LatencyCellsScalar()));
        return [.. kernels];
    }

    /// <summary>
    /// The kernel for a model whose caller named none: <see cref="Default"/>, or, when <c>RNNFAST_KERNEL</c> is not
    /// set, a narrower vector kernel (8 lanes or more) that packs every layer into as many blocks as the default
    /// does: a layer with H ≤ 8 steps in 8-lane blocks rather than half-empty 16-lane ones. Where a 512-bit operation
    /// costs two 256-bit ones (<see cref="CpuFeatures.Splits512"/>: Zen 4), an LSTM also where 8-lane blocks pad less
    /// (H = 24, 40: measured faster on a quiet Zen 4); on a 512-bit datapath (Intel Emerald Rapids) those sizes measured
    /// faster in 16-lane blocks (audio LSTM H = 24: 186–197 vs 211–275 ns; H = 40: 350–375 vs 429–455 ns).
    /// </summary>
    public static RnnKernel DefaultFor(IEnumerable<LayerWeights> layers, IEnumerable<LayerWeights>? reverse = null)
    {
        RnnKernel chosen = Default;
        if (!string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(EnvironmentVariable)) || chosen != s_available[0])
        {
            HotPath.Prepare(chosen);
            return chosen;
        }
        LayerWeights[] all = [.. layers.Concat(reverse ?? []).Where(l => l is not null)];
        foreach (RnnKernel narrower in s_available)
        {
            if (narrower.Lanes < chosen.Lanes && narrower.Lanes >= 8 && all.All(l => Narrower(l, narrower.Lanes, chosen.Lanes)))
            {
                chosen = narrower;
            }
        }
        HotPath.Prepare(chosen);
        return chosen;
    }

    private static int Blocks(int units, int lanes) => (units + lanes - 1) / lanes;

    // Same block count, or (LSTM) fewer padded units: an LSTM's four gates give each block enough independent work
    // that its extra narrower blocks overlap, so less padding wins. Quiet BenchmarkDotNet runs on Zen 4, audio LSTM:
    // H = 24 158–172 ns in 8-lane blocks vs 183–185 ns in 16-lane ones, H = 40 304–306 vs 352–443 ns; the GRU was
    // mixed at those sizes (perf-results/AMD-EPYC-f25m17/realtime-quiet/), so it keeps the block-count rule.
    private static bool Narrower(LayerWeights layer, int narrow, int wide) =>
        Blocks(layer.HiddenSize, narrow) == Blocks(layer.HiddenSize, wide)
        || (CpuFeatures.Splits512 && layer.Cell == CellType.Lstm && Blocks(layer.HiddenSize, narrow) * narrow < Blocks(layer.HiddenSize, wide) * wide);

    private static RnnKernel ChooseDefault() => Choose(Environment.GetEnvironmentVariable(EnvironmentVariable));

    /// <summary>The default for a value of <c>RNNFAST_KERNEL</c>: the fastest available when unset or blank.</summary>
    /// <exception cref="ArgumentException">The value names an unknown or unsupported kernel.</exception>
    internal static RnnKernel Choose(string? forced) => string.IsNullOrWhiteSpace(forced) ? s_available[0] : Get(forced.Trim());

    /// <summary>Finds an available kernel by name (case-insensitive).</summary>
    /// <exception cref="ArgumentException">The name is unknown or the kernel cannot run on this machine.</exception>
    public static RnnKernel Get(string name)
    {
        foreach (RnnKernel kernel in s_available)
        {
            if (string.Equals(kernel.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                HotPath.Prepare(kernel);
                return kernel;
            }
        }
        string available = string.Join(", ", s_available.Select(k => k.Name));
        throw AllNames.Contains(name, StringComparer.OrdinalIgnoreCase)
            ? new ArgumentException($"Kernel '{name}' is not supported on this machine; available: {available}.", nameof(name))
            : new ArgumentException($"Unknown kernel '{name}'; known kernels: {string.Join(", ", AllNames)}; available here: {available}.", nameof(name));
    }
}
