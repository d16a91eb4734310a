using System.Globalization;
using ScottPlot;

namespace Rnn.Fast.Cli.Experiments;

/// <summary>One line of a plot: a label for the legend and its points (non-finite points are left out).</summary>
internal sealed record Series(string Label, IReadOnlyList<double> X, IReadOnlyList<double> Y);

/// <summary>A horizontal or vertical reference line with a legend label.</summary>
internal sealed record ReferenceLine(string Label, double Value, bool Vertical = false);

/// <summary>
/// Line charts as PNG (ScottPlot renders headless through SkiaSharp). A log axis is drawn by plotting
/// log10 of the values with decade ticks labelled as the original values, so quantities spanning many
/// decades (gradient norms, losses) stay readable.
/// </summary>
internal static class Plotting
{
    public const int Width = 900;
    public const int Height = 540;

    /// <summary>Writes a line chart to <paramref name="path"/>.</summary>
    /// <param name="path">The PNG file.</param>
    /// <param name="title">Plot title.</param>
    /// <param name="xLabel">X axis label, with units.</param>
    /// <param name="yLabel">Y axis label, with units.</param>
    /// <param name="series">The lines.</param>
    /// <param name="logY">Log10 scale on Y (values ≤ 0 and non-finite values are left out).</param>
    /// <param name="lines">Reference lines (baselines, thresholds, events).</param>
    /// <param name="logX">Log10 scale on X.</param>
    public static void Lines(string path, string title, string xLabel, string yLabel, IEnumerable<Series> series,
        bool logY = false, IEnumerable<ReferenceLine>? lines = null, bool logX = false)
    {
        var plot = new Plot();
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);

        foreach (Series s in series)
        {
            var xs = new List<double>();
            var ys = new List<double>();
            for (int i = 0; i < Math.Min(s.X.Count, s.Y.Count); i++)
            {
                double x = logX ? Math.Log10(s.X[i]) : s.X[i];
                double y = logY ? Math.Log10(s.Y[i]) : s.Y[i];
                if (double.IsFinite(x) && double.IsFinite(y))
                {
                    xs.Add(x);
                    ys.Add(y);
                }
            }
            if (xs.Count == 0)
            {
                continue;
            }
            var scatter = plot.Add.Scatter(xs.ToArray(), ys.ToArray());
            scatter.LegendText = s.Label;
            scatter.LineWidth = 2;
            // Sparse series (e.g. one point per pass) get markers, so they stay visible under denser ones.
            scatter.MarkerSize = xs.Count <= 40 ? 7 : 0;
        }

        foreach (ReferenceLine line in lines ?? [])
        {
            double value = line.Vertical ? (logX ? Math.Log10(line.Value) : line.Value) : (logY ? Math.Log10(line.Value) : line.Value);
            if (!double.IsFinite(value))
            {
                continue;
            }
            if (line.Vertical)
            {
                var v = plot.Add.VerticalLine(value);
                v.LegendText = line.Label;
                v.LinePattern = LinePattern.Dotted;
                v.LineWidth = 2;
            }
            else
            {
                var h = plot.Add.HorizontalLine(value);
                h.LegendText = line.Label;
                h.LinePattern = LinePattern.Dashed;
                h.LineWidth = 2;
            }
        }

        if (logY)
        {
            plot.Axes.Left.TickGenerator = LogTicks();
        }
        if (logX)
        {
            plot.Axes.Bottom.TickGenerator = LogTicks();
        }
        plot.ShowLegend(Edge.Right);
        plot.SavePng(path, Width, Height);
    }

    /// <summary>Major ticks at whole decades labelled with the value, minor ticks at 2..9 × each decade.</summary>
    private static ScottPlot.TickGenerators.NumericAutomatic LogTicks() => new()
    {
        MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
        IntegerTicksOnly = true,
        LabelFormatter = DecadeLabel,
    };

    /// <summary>10^exponent as a short label: 0.01, 1, 1000 near 1; 1e-20, 1e+30 far from it.</summary>
    internal static string DecadeLabel(double exponent)
    {
        int e = (int)Math.Round(exponent);
        return e is >= -3 and <= 4
            ? Math.Pow(10, e).ToString("0.###", CultureInfo.InvariantCulture)
            : string.Create(CultureInfo.InvariantCulture, $"1e{e:+0;-0}");
    }
}
