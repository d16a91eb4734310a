using System.Globalization;
using System.Reflection;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Rnn.Fast.Benchmarks;

/// <summary>
/// GFLOP/s of a row: <see cref="StepShapeAttribute.FlopsPerStep"/> times the method's
/// <see cref="FlopsFactorAttribute"/> (1 if absent) divided by the mean time per step (flop per ns is
/// GFLOP/s). Every benchmark reports time per step through OperationsPerInvoke. G comes from the
/// attribute, or from the benchmark's <c>Cell</c> parameter when the attribute says 0.
/// </summary>
internal sealed class GflopsColumn : IColumn
{
    public string Id => nameof(GflopsColumn);
    public string ColumnName => "GFLOP/s";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => "Flops of the step's matrix-vector products (2·G·H·(I+H) + 2·O·H; ×3 for training: backward = 2× forward) / mean time per step";

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    public bool IsAvailable(Summary summary) => true;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        double? meanNs = summary[benchmarkCase]?.ResultStatistics?.Mean;
        StepShapeAttribute? shape = benchmarkCase.Descriptor.Type.GetCustomAttribute<StepShapeAttribute>();
        object? hidden = benchmarkCase.Parameters["H"];
        if (meanNs is not > 0 || shape is null || hidden is not int h)
        {
            return "NA";
        }
        int gates = benchmarkCase.Parameters.Items.Any(p => p.Name == "Cell") && benchmarkCase.Parameters["Cell"] is CellType cell ? StepShapeAttribute.GatesOf(cell) : 0;
        if (shape.Gates == 0 && gates == 0)
        {
            return "NA";
        }
        double factor = benchmarkCase.Descriptor.WorkloadMethod.GetCustomAttribute<FlopsFactorAttribute>()?.Factor ?? 1.0;
        // A sequence benchmark's step is one time step of every stream.
        int batch = shape.StepCoversBatch && benchmarkCase.Parameters.Items.Any(p => p.Name == "Batch") && benchmarkCase.Parameters["Batch"] is int b ? b : 1;
        return (factor * batch * shape.FlopsPerStep(h, gates) / meanNs.Value).ToString("0.00", CultureInfo.InvariantCulture);
    }
}
