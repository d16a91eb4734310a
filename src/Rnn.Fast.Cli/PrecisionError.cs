using System.Globalization;
using Spectre.Console;

namespace Rnn.Fast.Cli;

/// <summary>
/// How far a reduced-precision model's outputs are from its float32 model's on one input, and what its weight matrices
/// take in memory. Absolute error <c>|Δ| = |y_p − y_fp32|</c> per output value; relative error
/// <c>|Δ| / max(|y_fp32|, floor)</c> with <c>floor = 0.1 · RMS(y_fp32)</c> (at least 1e-6), so that outputs crossing zero
/// (audio) do not divide by nearly nothing: below a tenth of the signal's RMS, the error is measured against that tenth.
/// </summary>
internal sealed record PrecisionErrorStats(
    WeightPrecision Precision, long WeightBytes, long Float32WeightBytes, int Steps, int Values,
    double MaxAbs, double MeanAbs, double MaxRel, double MeanRel, double Floor);

/// <summary>
/// The error of bf16 and int8 against float32 (<see cref="PrecisionErrorStats"/>): used by <c>rnnfast info</c> on the
/// seeded <see cref="Probe"/> and by <c>rnnfast precision-report</c> (docs/precision.md).
/// </summary>
internal static class PrecisionError
{
    /// <summary>The probe's seed (the issue's number).</summary>
    public const int ProbeSeed = 15;

    /// <summary>Steps of the probe for models up to about an LSTM at H = 256; larger ones get fewer (<see cref="ProbeSteps"/>).</summary>
    public const int MaxProbeSteps = 512;

    // Multiply-adds one model run of the probe may cost (~0.1 s on one core): keeps `info` fast on large models.
    private const long ProbeBudget = 1L << 28;

    /// <summary>The relative error's floor as a fraction of the float32 output's RMS.</summary>
    public const double FloorOfRms = 0.1;

    /// <summary>The precisions compared with float32, in table order.</summary>
    public static IReadOnlyList<WeightPrecision> Reduced { get; } = [WeightPrecision.BFloat16, WeightPrecision.Int8];

    /// <summary>
    /// Steps of the probe for <paramref name="model"/>: <see cref="MaxProbeSteps"/>, fewer for models whose weights would
    /// make the three runs (fp32, bf16, int8) take seconds, never fewer than 32.
    /// </summary>
    public static int ProbeSteps(RnnModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        long perStep = Math.Max(1, WeightCount(model));
        return (int)Math.Clamp(ProbeBudget / perStep, 32, MaxProbeSteps);
    }

    /// <summary>
    /// A seeded probe input <c>[steps, inputSize]</c>. One input (audio models): a plucked note at 48 kHz, 220 Hz with its
    /// 2nd and 3rd harmonics at 1/2 and 1/4, at most 0.6, decaying as e^(−3t/0.1 s), plus white noise of amplitude 0.01. Several inputs:
    /// uniform values in [−1, 1]. Both from <see cref="Random"/>(<paramref name="seed"/>).
    /// </summary>
    public static float[] Probe(int inputSize, int steps, int seed = ProbeSeed)
    {
        var random = new Random(seed);
        var x = new float[steps * inputSize];
        if (inputSize == 1)
        {
            for (int t = 0; t < steps; t++)
            {
                double s = t / 48_000.0;
                double note = Math.Sin(2 * Math.PI * 220 * s) + 0.5 * Math.Sin(2 * Math.PI * 440 * s) + 0.25 * Math.Sin(2 * Math.PI * 660 * s);
                x[t] = (float)(0.6 / 1.75 * Math.Exp(-30 * s) * note + 0.01 * (2 * random.NextDouble() - 1));
            }
        }
        else
        {
            for (int i = 0; i < x.Length; i++)
            {
                x[i] = (float)(2 * random.NextDouble() - 1);
            }
        }
        return x;
    }

    /// <summary>
    /// Runs <paramref name="model"/> as float32 (its dequantized values if it is reduced) and in
    /// <paramref name="precision"/> (the model itself when it already is: an int8 file keeps its own values and scales) over <paramref name="inputs"/> (<c>[steps, I]</c>, one stream, from the model's initial
    /// state) on the same kernel, and compares the outputs.
    /// </summary>
    /// <exception cref="ArgumentException">A weight <paramref name="precision"/> cannot hold (see <see cref="RnnModel.WithPrecision(WeightPrecision)"/>).</exception>
    public static PrecisionErrorStats Measure(RnnModel model, WeightPrecision precision, float[] inputs, int steps)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inputs);
        RnnModel reference = model.WithPrecision(WeightPrecision.Float32);
        float[] expected = Outputs(reference, inputs, steps);
        // From the model, not from its float32 twin: quantizing q · s again would measure other int8 values than a file's.
        float[] actual = Outputs(model.WithPrecision(precision), inputs, steps);
        return Compare(precision, expected, actual, steps, WeightBytes(model, precision), WeightBytes(model, WeightPrecision.Float32));
    }

    /// <summary>The statistics of <paramref name="actual"/> against <paramref name="expected"/> (see <see cref="PrecisionErrorStats"/>).</summary>
    internal static PrecisionErrorStats Compare(WeightPrecision precision, ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, int steps,
        long weightBytes, long float32WeightBytes)
    {
        if (expected.Length != actual.Length)
        {
            throw new ArgumentException($"Expected {expected.Length} outputs, got {actual.Length}.", nameof(actual));
        }
        double sumSquares = 0;
        foreach (float y in expected)
        {
            sumSquares += (double)y * y;
        }
        double rms = expected.Length == 0 ? 0 : Math.Sqrt(sumSquares / expected.Length);
        double floor = Math.Max(FloorOfRms * rms, 1e-6);
        double maxAbs = 0, sumAbs = 0, maxRel = 0, sumRel = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double delta = Math.Abs((double)actual[i] - expected[i]);
            double relative = delta / Math.Max(Math.Abs((double)expected[i]), floor);
            maxAbs = Math.Max(maxAbs, delta);
            maxRel = Math.Max(maxRel, relative);
            sumAbs += delta;
            sumRel += relative;   // a NaN output makes every statistic NaN (Math.Max keeps NaN too)
        }
        int n = Math.Max(expected.Length, 1);
        return new PrecisionErrorStats(precision, weightBytes, float32WeightBytes, steps, expected.Length, maxAbs, sumAbs / n, maxRel, sumRel / n, floor);
    }

    /// <summary>
    /// Bytes of the weight matrices (every layer's W_ih and W_hh, reverse layers, the head's W) in the scheme's own terms:
    /// 4, 2 or 1 per weight, plus for int8 one float32 scale per row. Biases (float32 in every precision) and the
    /// engine's padding to its lane width are not counted.
    /// </summary>
    public static long WeightBytes(RnnModel model, WeightPrecision precision)
    {
        ArgumentNullException.ThrowIfNull(model);
        long bytes = 0;
        void Add(long rows, long columns) => bytes += precision switch
        {
            WeightPrecision.Float32 => 4 * rows * columns,
            WeightPrecision.BFloat16 => 2 * rows * columns,
            _ => rows * columns + 4 * rows,
        };
        foreach (LayerWeights layer in model.Layers.Concat(model.Options.ReverseLayers ?? []))
        {
            long rows = (long)layer.GateCount * layer.HiddenSize;
            Add(rows, layer.InputSize);
            Add(rows, layer.HiddenSize);
        }
        if (model.Head is { } head)
        {
            Add(head.OutputSize, head.InputSize);
        }
        return bytes;
    }

    /// <summary>The weights a step multiplies (one direction per layer counted twice when bidirectional, and the head).</summary>
    private static long WeightCount(RnnModel model) => WeightBytes(model, WeightPrecision.Float32) / 4;

    private static float[] Outputs(RnnModel model, float[] inputs, int steps)
    {
        var outputs = new float[steps * model.OutputSize];
        model.Run(inputs, steps, model.CreateState(), outputs);
        return outputs;
    }

    /// <summary>A number for the tables: 3 significant digits, scientific below 0.001, 0 as "0".</summary>
    public static string Format(double value) =>
        value == 0 ? "0"
        : double.IsNaN(value) ? "NaN"
        : Math.Abs(value) < 1e-3 ? value.ToString("0.00e+0", CultureInfo.InvariantCulture)
        : value.ToString("0.####", CultureInfo.InvariantCulture);

    /// <summary>The table <c>info</c> prints: a float32 row (bytes only), then one row per measured precision.</summary>
    public static Table ToTable(IReadOnlyList<PrecisionErrorStats> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var table = new Table().AddColumn("Precision").AddColumn(new TableColumn("Weight bytes").RightAligned())
            .AddColumn(new TableColumn("× fp32").RightAligned())
            .AddColumn(new TableColumn("Max abs error").RightAligned()).AddColumn(new TableColumn("Mean abs error").RightAligned())
            .AddColumn(new TableColumn("Max rel error").RightAligned()).AddColumn(new TableColumn("Mean rel error").RightAligned());
        if (rows.Count > 0)
        {
            table.AddRow("fp32", rows[0].Float32WeightBytes.ToString("N0", CultureInfo.InvariantCulture), "1", "(reference)", "", "", "");
        }
        foreach (PrecisionErrorStats row in rows)
        {
            double ratio = row.Float32WeightBytes == 0 ? 1 : (double)row.WeightBytes / row.Float32WeightBytes;
            table.AddRow(PrecisionOption.Name(row.Precision), row.WeightBytes.ToString("N0", CultureInfo.InvariantCulture),
                ratio.ToString("0.00", CultureInfo.InvariantCulture),
                Format(row.MaxAbs), Format(row.MeanAbs), Format(row.MaxRel), Format(row.MeanRel));
        }
        return table;
    }
}
