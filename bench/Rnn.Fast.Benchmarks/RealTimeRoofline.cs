using System.Globalization;
using System.Runtime.Intrinsics;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Exporters;
using BenchmarkDotNet.Loggers;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Rnn.Fast.Benchmarks;

/// <summary>
/// The roofline floor of one real-time <c>Step</c> as issue 10 defines it: flops at the measured FMA peak <b>plus</b>
/// weight bytes at the bandwidth of the cache level that holds them (a sum, not the max: at these sizes a step is a
/// chain of dependent blocks, so its loads and its arithmetic do not overlap as a long loop's would). Measured on the
/// machine that runs the report, so it holds on any CPU.
/// </summary>
/// <remarks>
/// <para>Flops: <c>2·G·H·(I + H)</c> per stream for the products plus <c>2·H·O</c> for the head (a multiply-add is 2);
/// B streams multiply it by B. Bytes: every float32 parameter a step reads (W_ih, W_hh, both biases, the head),
/// once per call however many streams share it. Activations, cell update and state traffic are left out, so the
/// floor is a lower bound that ignores the activations' serial chain (which dominates below H ≈ 32).</para>
/// <para>FMA peak: twelve independent FMA chains, best of five, the wider of 256 and 512 bits (as the throughput
/// harness measures it), or RNNFAST_FMA_PEAK (GFLOP/s). Cache sizes: this CPU's L1d and L2 from
/// /sys/devices/system/cpu/cpu0/cache (Zen 4's 32 KiB and 1 MiB if unreadable). Bandwidth: read bandwidth measured in
/// this process (<see cref="ReadBandwidth"/>) with the widest vector loads the runtime accelerates, from buffers of half of L1d and of four times
/// L1d (at most half of L2): the real-time models that spill L1 are a few times its size, and on Emerald Rapids a
/// 1 MiB buffer read at about half the bandwidth of a 192 KiB one (61 vs 117 GB/s, bench/ceilings), which made the
/// "floor" of those rows slower than the measured step.</para>
/// </remarks>
internal static class RealTimeRoofline
{
    private static readonly Lazy<(long L1, long L2)> s_caches = new(ReadCacheSizes);
    private static readonly Lazy<double[]> s_bandwidths = new(() =>
        [ReadBandwidth.Measure((int)(CacheBytes.L1 / 2), widest: true), ReadBandwidth.Measure((int)Math.Min(CacheBytes.L2 / 2, 4 * CacheBytes.L1), widest: true)]);

    public static (long L1, long L2) CacheBytes => s_caches.Value;

    /// <summary>Read bandwidth in GB/s of L1 and L2, measured once per process.</summary>
    public static IReadOnlyList<double> Bandwidths => s_bandwidths.Value;

    /// <summary>The floor of one call stepping <paramref name="streams"/> streams of a one-layer model.</summary>
    public static Floor Of(CellType cell, int inputs, int hidden, int outputs, int streams)
    {
        int gates = StepShapeAttribute.GatesOf(cell);
        long parameters = (long)gates * hidden * (inputs + hidden) + 2L * gates * hidden + (long)outputs * (hidden + 1);
        long bytes = 4 * parameters;
        double flops = streams * (2.0 * gates * hidden * (inputs + hidden) + 2.0 * hidden * outputs);
        int level = bytes <= CacheBytes.L1 ? 0 : bytes <= CacheBytes.L2 ? 1 : -1;
        double computeNs = PrecisionRoofline.FmaPeak > 0 ? flops / PrecisionRoofline.FmaPeak : 0;   // flop / (GFLOP/s) = ns
        double bandwidthNs = level < 0 ? double.NaN : bytes / Bandwidths[level];                     // B / (GB/s) = ns
        return new Floor(bytes, level, computeNs, bandwidthNs);
    }

    /// <summary>The floor of a case of the real-time suites, from its parameters; null for other suites.</summary>
    public static Floor? Of(BenchmarkCase benchmarkCase)
    {
        Type type = benchmarkCase.Descriptor.Type;
        if (benchmarkCase.Parameters["Cell"] is not CellType cell)
        {
            return null;
        }
        if (type == typeof(AudioStepBenchmarks) && benchmarkCase.Parameters["H"] is int audioH)
        {
            return Of(cell, 1, audioH, 1, 1);
        }
        if (type == typeof(SquareStepBenchmarks) && benchmarkCase.Parameters["H"] is int squareH)
        {
            return Of(cell, squareH, squareH, 0, 1);
        }
        if (type == typeof(MultiChannelStepBenchmarks) && benchmarkCase.Parameters["B"] is int streams)
        {
            return Of(cell, 1, MultiChannelStepBenchmarks.H, 1, streams);
        }
        return null;
    }

    /// <summary>A row's floor: the parameter bytes, the level that holds them, and the two halves in ns.</summary>
    public readonly record struct Floor(long WeightBytes, int Level, double ComputeNs, double BandwidthNs)
    {
        public double Ns => ComputeNs + BandwidthNs;
        public string LevelName => Level < 0 ? "L3+" : $"L{Level + 1}";
    }

    public static string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"FMA peak {PrecisionRoofline.FmaPeak:0.0} GFLOP/s ({(Environment.GetEnvironmentVariable("RNNFAST_FMA_PEAK") is { Length: > 0 } ? "RNNFAST_FMA_PEAK" : "measured in this run, one core")}); " +
        $"L1d {CacheBytes.L1 >> 10} KiB at {Bandwidths[0]:0} GB/s, L2 {CacheBytes.L2 >> 10} KiB at {Bandwidths[1]:0} GB/s " +
        $"(sizes from sysfs; read bandwidth measured in this run with {(Vector512.IsHardwareAccelerated ? 512 : 256)}-bit loads from {CacheBytes.L1 / 2 >> 10} KiB and {Math.Min(CacheBytes.L2 / 2, 4 * CacheBytes.L1) >> 10} KiB buffers)");

    private static (long, long) ReadCacheSizes()
    {
        long l1 = 32 << 10, l2 = 1 << 20;
        try
        {
            foreach (string index in Directory.GetDirectories("/sys/devices/system/cpu/cpu0/cache", "index*"))
            {
                string type = File.ReadAllText(Path.Combine(index, "type")).Trim();
                int level = int.Parse(File.ReadAllText(Path.Combine(index, "level")).Trim(), CultureInfo.InvariantCulture);
                string size = File.ReadAllText(Path.Combine(index, "size")).Trim();
                long bytes = size.EndsWith('K') ? long.Parse(size[..^1], CultureInfo.InvariantCulture) << 10
                    : size.EndsWith('M') ? long.Parse(size[..^1], CultureInfo.InvariantCulture) << 20
                    : long.Parse(size, CultureInfo.InvariantCulture);
                if (level == 1 && type == "Data")
                {
                    l1 = bytes;
                }
                else if (level == 2)
                {
                    l2 = bytes;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            // Not Linux, or no sysfs: keep Zen 4's sizes (the floor then says which level it assumed).
        }
        return (l1, l2);
    }
}

/// <summary>The real-time suites' config: parameter bytes and level, the floor, mean / floor, and the roofline file.</summary>
internal sealed class RealTimeRooflineConfig : ManualConfig
{
    public RealTimeRooflineConfig()
    {
        AddColumn(new RealTimeRooflineColumn(RealTimeRooflineColumn.Kind.Weights), new RealTimeRooflineColumn(RealTimeRooflineColumn.Kind.Floor),
            new RealTimeRooflineColumn(RealTimeRooflineColumn.Kind.TimesFloor));
        AddExporter(new RealTimeRooflineExporter());
    }
}

/// <summary>One of the roofline columns of <see cref="RealTimeRoofline"/>.</summary>
internal sealed class RealTimeRooflineColumn(RealTimeRooflineColumn.Kind kind) : IColumn
{
    public enum Kind { Weights, Floor, TimesFloor }

    public string Id => $"{nameof(RealTimeRooflineColumn)}.{kind}";
    public string ColumnName => kind switch { Kind.Weights => "Params", Kind.Floor => "Floor ns", _ => "× floor" };
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 2 + (int)kind;
    public bool IsNumeric => kind != Kind.Weights;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => kind switch
    {
        Kind.Weights => "Bytes of the parameters a step reads, and the cache level that holds them",
        Kind.Floor => "Roofline floor per call: flops / FMA peak + parameter bytes / bandwidth of that level; see the -roofline.md file",
        _ => "Median time per call / floor",
    };

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    public bool IsAvailable(Summary summary) => true;
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        if (RealTimeRoofline.Of(benchmarkCase) is not { } floor)
        {
            return "NA";
        }
        CultureInfo c = CultureInfo.InvariantCulture;
        switch (kind)
        {
            case Kind.Weights:
                return $"{(floor.WeightBytes / 1024.0).ToString("0.0", c)} KiB {floor.LevelName}";
            case Kind.Floor:
                return double.IsNaN(floor.Ns) ? "NA" : floor.Ns.ToString(floor.Ns < 100 ? "0.0" : "0", c);
            default:
                // The median: on a shared VM the mean carries preemptions that are not the code's.
                double? median = summary[benchmarkCase]?.ResultStatistics?.Median;
                return median is > 0 && !double.IsNaN(floor.Ns) ? (median.Value / floor.Ns).ToString("0.00", c) : "NA";
        }
    }
}

/// <summary>Writes <c>&lt;Type&gt;-roofline.md</c>: the peak, caches and bandwidths behind the floors, and each row's halves.</summary>
internal sealed class RealTimeRooflineExporter : ExporterBase
{
    protected override string FileExtension => "md";
    protected override string FileCaption => "roofline";

    public override void ExportToLog(Summary summary, ILogger logger)
    {
        CultureInfo c = CultureInfo.InvariantCulture;
        logger.WriteLine($"# Roofline of {summary.Title}");
        logger.WriteLine();
        logger.WriteLine(RealTimeRoofline.Describe() + ".");
        logger.WriteLine();
        logger.WriteLine("Floor per call = flops / FMA peak + parameter bytes / bandwidth of the level that holds them (issue 10's definition); "
            + "flops 2·G·H·(I + H) + 2·H·O per stream, bytes of every float32 parameter once per call. The activations are not in it.");
        logger.WriteLine();
        logger.WriteLine("| Suite | Cell | H or B | Kernel | bytes | level | compute ns | bandwidth ns | floor ns | median ns | × floor |");
        logger.WriteLine("|---|---|---:|---|---:|---|---:|---:|---:|---:|---:|");
        foreach (BenchmarkCase benchmarkCase in summary.BenchmarksCases)
        {
            if (RealTimeRoofline.Of(benchmarkCase) is not { } floor)
            {
                continue;
            }
            double? median = summary[benchmarkCase]?.ResultStatistics?.Median;
            string size = benchmarkCase.HasParameters && benchmarkCase.Parameters.Items.Any(p => p.Name == "B") ? $"B={benchmarkCase.Parameters["B"]}" : $"{benchmarkCase.Parameters["H"]}";
            string kernel = benchmarkCase.Parameters.Items.Any(p => p.Name == "Kernel") ? $"{benchmarkCase.Parameters["Kernel"]}" : "default";
            logger.WriteLine(string.Create(c,
                $"| {benchmarkCase.Descriptor.Type.Name} | {benchmarkCase.Parameters["Cell"]} | {size} | {kernel} | {floor.WeightBytes} | {floor.LevelName} | {floor.ComputeNs:0.0} | {floor.BandwidthNs:0.0} | {floor.Ns:0.0} | {(median is > 0 ? median.Value.ToString("0.0", c) : "NA")} | {(median is > 0 ? (median.Value / floor.Ns).ToString("0.00", c) : "NA")} |"));
        }
    }
}
