using System.Globalization;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Exporters;
using BenchmarkDotNet.Loggers;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Rnn.Fast.Benchmarks;

/// <summary>
/// The roofline floor of one step of a square one-layer model (I = H, no head) in a weight precision, as
/// perf-results/README.md defines it: <c>max(flops / FMA peak, weight bytes / bandwidth of the cache level that holds
/// them)</c>. Flops are the products' <c>2·G·H·(I + H)</c> (a multiply-add is 2), counted against the float32 FMA peak
/// for every precision (the int8 products use 16-bit multiply-adds, which do two per 32-bit lane, so for int8 the flop
/// half is a loose bound). Biases, state and activations are left out (O(H); the same in every precision).
/// </summary>
/// <remarks>
/// <para>Bytes per weight matrix <c>[G·H, K]</c> are <see cref="Internals.ReducedMatrix"/>'s: float32 4 B per weight,
/// bfloat16 2 B, int8 1 B plus a 4-byte scale per row; K is rounded up to a pair. Exact for H a multiple of the
/// kernel's lanes (every size here); other H also pay the padding lanes.</para>
/// <para>A streaming step reads W_ih and W_hh once each, so they must stay in the cache that holds both. A sequence
/// (<c>Run</c>) reads W_hh every step and W_ih once per chunk of at least 64 steps (the blocked input projection of
/// <see cref="Internals.SequenceScratch"/>): per step W_hh + W_ih · ceil(T / 64) / T, from the cache that holds W_hh
/// (W_ih passes through once per chunk). Both choices make the floor a lower bound.</para>
/// <para>Cache capacities per core (Zen 4): L1d 32 KiB, L2 1 MiB, L3 32 MiB. Bandwidths, the ones the repository
/// already uses for this CPU (family 25, model 17): L1 166 GB/s and L2 83 GB/s (64 and 32 B/cycle at 2.6 GHz,
/// perf-results/AMD-EPYC-f25m17/realtime-step.md) and L3 98 GB/s (issue 15: "8 MB of weights per step at 98 GB/s is
/// 85.6 µs"). RNNFAST_ROOFLINE_GBPS="l1,l2,l3" replaces them (e.g. with bench/ceilings/ceilings.c's figures for another
/// CPU), RNNFAST_ROOFLINE_GBPS=measured with the read bandwidths measured in the reporting process, which the roofline
/// file prints beside the constants in any case. The FMA peak is measured in the process that writes the report
/// (twelve independent FMA chains, best of five, the larger of 256 and 512 bits, as the throughput harness does) unless
/// RNNFAST_FMA_PEAK (GFLOP/s) gives it; without x86 FMA it is 0 and the floor has no compute half.</para>
/// </remarks>
internal static class PrecisionRoofline
{
    public const long L1Bytes = 32 << 10, L2Bytes = 1 << 20, L3Bytes = 32 << 20;

    /// <summary>Steps per Run chunk at least (<see cref="Internals.SequenceScratch.MinChunkRows"/> at batch 1).</summary>
    private const int MinChunkSteps = Internals.SequenceScratch.MinChunkRows;

    private static readonly Lazy<double> s_fmaPeak = new(MeasureFmaPeak);
    private static readonly Lazy<double[]> s_bandwidths = new(ReadBandwidths);

    /// <summary>GFLOP/s of one core's FMA units (measured once per process, or RNNFAST_FMA_PEAK).</summary>
    public static double FmaPeak => s_fmaPeak.Value;

    /// <summary>Read bandwidth in GB/s of L1, L2 and L3.</summary>
    public static IReadOnlyList<double> Bandwidths => s_bandwidths.Value;

    /// <summary>Bytes of one weight matrix <c>[rows, columns]</c> stored in <paramref name="precision"/>.</summary>
    public static long MatrixBytes(WeightPrecision precision, int rows, int columns)
    {
        long paired = 2L * ((columns + 1) / 2);
        return precision switch
        {
            WeightPrecision.Float32 => 4L * rows * columns,
            WeightPrecision.BFloat16 => 2L * rows * paired,
            _ => rows * paired + 4L * rows,
        };
    }

    /// <summary>The cache level that holds <paramref name="bytes"/> (0 = L1, 1 = L2, 2 = L3), or -1 past L3.</summary>
    public static int LevelOf(long bytes) => bytes <= L1Bytes ? 0 : bytes <= L2Bytes ? 1 : bytes <= L3Bytes ? 2 : -1;

    /// <summary>The floor of one step; <paramref name="sequenceSteps"/> is T of a Run, 0 for a streaming step.</summary>
    public static Floor Of(CellType cell, int hidden, WeightPrecision precision, int sequenceSteps)
    {
        int gates = StepShapeAttribute.GatesOf(cell);
        long wih = MatrixBytes(precision, gates * hidden, hidden), whh = MatrixBytes(precision, gates * hidden, hidden);
        double flops = 2.0 * gates * hidden * (hidden + hidden);
        long resident = sequenceSteps == 0 ? wih + whh : whh;
        double bytesPerStep = sequenceSteps == 0
            ? wih + whh
            : whh + (double)wih * ((sequenceSteps + MinChunkSteps - 1) / MinChunkSteps) / sequenceSteps;
        int level = LevelOf(resident);
        double computeNs = FmaPeak > 0 ? flops / FmaPeak : 0;                          // flop / (GFLOP/s) = ns
        double bandwidthNs = level < 0 ? double.NaN : bytesPerStep / Bandwidths[level]; // B / (GB/s) = ns
        return new Floor(wih + whh, level, computeNs, bandwidthNs);
    }

    /// <summary>A row's floor: the weights, where they live, and the two halves of the roofline in ns.</summary>
    public readonly record struct Floor(long WeightBytes, int Level, double ComputeNs, double BandwidthNs)
    {
        public double Ns => Math.Max(ComputeNs, BandwidthNs);
        public string LevelName => Level < 0 ? "DRAM" : $"L{Level + 1}";
    }

    private static double MeasureFmaPeak()
    {
        if (Environment.GetEnvironmentVariable("RNNFAST_FMA_PEAK") is { Length: > 0 } given)
        {
            return double.Parse(given, CultureInfo.InvariantCulture);
        }
        double peak512 = Vector512.IsHardwareAccelerated && Avx512F.IsSupported ? ThroughputHarness.FmaPeak512() : 0;
        double peak256 = Fma.IsSupported ? ThroughputHarness.FmaPeak256() : 0;
        return Math.Max(peak512, peak256);
    }

    private static double[] ReadBandwidths()
    {
        string? given = Environment.GetEnvironmentVariable("RNNFAST_ROOFLINE_GBPS");
        if (string.Equals(given, "measured", StringComparison.OrdinalIgnoreCase))
        {
            return [.. MeasuredBandwidths];
        }
        if (given is { Length: > 0 })
        {
            double[] values = [.. given.Split(',').Select(s => double.Parse(s, CultureInfo.InvariantCulture))];
            return values.Length == 3 ? values : throw new FormatException($"RNNFAST_ROOFLINE_GBPS needs three values (L1, L2, L3 in GB/s) or 'measured', got '{given}'.");
        }
        return [166, 83, 98];
    }

    private static readonly Lazy<double[]> s_measured = new(() => [ReadBandwidth.Measure(16 << 10, widest: false), ReadBandwidth.Measure(512 << 10, widest: false), ReadBandwidth.Measure(8 << 20, widest: false)]);

    /// <summary>
    /// Read bandwidth in GB/s measured in this process from buffers of 16 KiB, 512 KiB and 8 MiB (half of L1 and L2, a
    /// quarter of L3: the sizes of bench/ceilings/ceilings.c), for comparison with the constants; used for the floor only
    /// with RNNFAST_ROOFLINE_GBPS=measured.
    /// </summary>
    public static IReadOnlyList<double> MeasuredBandwidths => s_measured.Value;

    /// <summary>The floor of a benchmark case of the precision suites (method name = precision).</summary>
    public static Floor? Of(BenchmarkCase benchmarkCase)
    {
        if (!Enum.TryParse(benchmarkCase.Descriptor.WorkloadMethod.Name, out WeightPrecision precision)
            || benchmarkCase.Parameters["Cell"] is not CellType cell || benchmarkCase.Parameters["H"] is not int h)
        {
            return null;
        }
        bool sequence = benchmarkCase.Descriptor.Type == typeof(PrecisionSequenceBenchmarks);
        return Of(cell, h, precision, sequence ? PrecisionSequenceBenchmarks.T : 0);
    }

    /// <summary>The constants a report's floors were computed with, for its roofline file.</summary>
    public static string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"FMA peak {FmaPeak:0.0} GFLOP/s ({(Environment.GetEnvironmentVariable("RNNFAST_FMA_PEAK") is { Length: > 0 } ? "RNNFAST_FMA_PEAK" : "measured in this run, one core")}); " +
        $"read bandwidth L1 {Bandwidths[0]:0} GB/s (≤ 32 KiB), L2 {Bandwidths[1]:0} GB/s (≤ 1 MiB), L3 {Bandwidths[2]:0} GB/s (≤ 32 MiB) " +
        $"({BandwidthSource()}); measured in this run for comparison (16 KiB / 512 KiB / 8 MiB buffers): " +
        $"{MeasuredBandwidths[0]:0} / {MeasuredBandwidths[1]:0} / {MeasuredBandwidths[2]:0} GB/s");

    private static string BandwidthSource() => Environment.GetEnvironmentVariable("RNNFAST_ROOFLINE_GBPS") switch
    {
        { Length: > 0 } given when given.Equals("measured", StringComparison.OrdinalIgnoreCase) => "RNNFAST_ROOFLINE_GBPS=measured",
        { Length: > 0 } => "RNNFAST_ROOFLINE_GBPS",
        _ => "the repository's figures for Zen 4: realtime-step.md for L1/L2, issue 15 for L3",
    };
}

/// <summary>The precision suites' config: the speed-up and roofline columns and the roofline file.</summary>
internal sealed class PrecisionConfig : ManualConfig
{
    public PrecisionConfig()
    {
        AddColumn(new SpeedupColumn(), new PrecisionRooflineColumn(PrecisionRooflineColumn.Kind.Weights),
            new PrecisionRooflineColumn(PrecisionRooflineColumn.Kind.Floor), new PrecisionRooflineColumn(PrecisionRooflineColumn.Kind.TimesFloor));
        AddExporter(new PrecisionRooflineExporter());
    }
}

/// <summary>The float32 (baseline) mean over this row's mean: the speed-up the issue's targets are stated in.</summary>
internal sealed class SpeedupColumn : IColumn
{
    public string Id => nameof(SpeedupColumn);
    public string ColumnName => "× fp32";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 1;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => "Speed-up over the float32 row of the same cell and H: baseline mean / this mean";

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    public bool IsAvailable(Summary summary) => true;
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        BenchmarkCase? baseline = summary.GetBaseline(summary.GetLogicalGroupKey(benchmarkCase));
        double? mine = summary[benchmarkCase]?.ResultStatistics?.Mean;
        double? theirs = baseline is null ? null : summary[baseline]?.ResultStatistics?.Mean;
        return mine is > 0 && theirs is > 0 ? (theirs.Value / mine.Value).ToString("0.00", CultureInfo.InvariantCulture) : "NA";
    }
}

/// <summary>Weight bytes and level, the roofline floor (ns per step), and mean / floor (<see cref="PrecisionRoofline"/>).</summary>
internal sealed class PrecisionRooflineColumn(PrecisionRooflineColumn.Kind kind) : IColumn
{
    public enum Kind { Weights, Floor, TimesFloor }

    public string Id => $"{nameof(PrecisionRooflineColumn)}.{kind}";
    public string ColumnName => kind switch { Kind.Weights => "Weights", Kind.Floor => "Floor ns", _ => "× floor" };
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 2 + (int)kind;
    public bool IsNumeric => kind != Kind.Weights;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => kind switch
    {
        Kind.Weights => "Bytes of W_ih and W_hh in this precision, and the cache level that holds what a step re-reads",
        Kind.Floor => "Roofline floor per step: max(flops / FMA peak, weight bytes / bandwidth of that level); see the -roofline.md file",
        _ => "Mean time per step / floor",
    };

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    public bool IsAvailable(Summary summary) => true;
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    private static string Size(long bytes)
    {
        double kib = bytes / 1024.0;
        return kib < 1024 ? $"{kib.ToString("0.0", CultureInfo.InvariantCulture)} KiB" : $"{(kib / 1024).ToString("0.00", CultureInfo.InvariantCulture)} MiB";
    }

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        if (PrecisionRoofline.Of(benchmarkCase) is not { } floor)
        {
            return "NA";
        }
        CultureInfo c = CultureInfo.InvariantCulture;
        switch (kind)
        {
            case Kind.Weights:
                // A Run's level is W_hh's alone (see PrecisionRoofline): say so, or "2.00 MiB L2" reads as a contradiction.
                return Size(floor.WeightBytes) + (benchmarkCase.Descriptor.Type == typeof(PrecisionSequenceBenchmarks)
                    ? $", W_hh {floor.LevelName}" : $" {floor.LevelName}");
            case Kind.Floor:
                return double.IsNaN(floor.Ns) ? "NA" : floor.Ns.ToString(floor.Ns < 100 ? "0.0" : "0", c);
            default:
                double? mean = summary[benchmarkCase]?.ResultStatistics?.Mean;
                return mean is > 0 && !double.IsNaN(floor.Ns) ? (mean.Value / floor.Ns).ToString("0.00", c) : "NA";
        }
    }
}

/// <summary>
/// Writes <c>&lt;Type&gt;-roofline.md</c> beside the reports: the FMA peak and bandwidths the floors were computed with
/// (the GitHub markdown report has no legend), and each row's compute and bandwidth halves.
/// </summary>
internal sealed class PrecisionRooflineExporter : ExporterBase
{
    protected override string FileExtension => "md";
    protected override string FileCaption => "roofline";

    public override void ExportToLog(Summary summary, ILogger logger)
    {
        CultureInfo c = CultureInfo.InvariantCulture;
        logger.WriteLine($"# Roofline of {summary.Title}");
        logger.WriteLine();
        logger.WriteLine(PrecisionRoofline.Describe() + ".");
        logger.WriteLine();
        logger.WriteLine("Floor per step = max(flops / FMA peak, weight bytes per step / bandwidth of the level that holds them): "
            + "a streaming Step reads W_ih and W_hh (both must stay cached); a Run reads W_hh every step and W_ih once per chunk "
            + "of at least 64 steps (the level is W_hh's). Weights in bytes; flops 2·G·H·(I + H) at the float32 FMA peak for every precision.");
        logger.WriteLine();
        logger.WriteLine("| Method | Cell | H | weights | level | compute floor ns | bandwidth floor ns | floor ns | mean ns | × floor |");
        logger.WriteLine("|---|---|---:|---:|---|---:|---:|---:|---:|---:|");
        foreach (BenchmarkCase benchmarkCase in summary.BenchmarksCases)
        {
            if (PrecisionRoofline.Of(benchmarkCase) is not { } floor)
            {
                continue;
            }
            double? mean = summary[benchmarkCase]?.ResultStatistics?.Mean;
            logger.WriteLine(string.Create(c,
                $"| {benchmarkCase.Descriptor.WorkloadMethod.Name} | {benchmarkCase.Parameters["Cell"]} | {benchmarkCase.Parameters["H"]} | {floor.WeightBytes} | {floor.LevelName} | {floor.ComputeNs:0.0} | {floor.BandwidthNs:0.0} | {floor.Ns:0.0} | {(mean is > 0 ? mean.Value.ToString("0.0", c) : "NA")} | {(mean is > 0 ? (mean.Value / floor.Ns).ToString("0.00", c) : "NA")} |"));
        }
    }
}
