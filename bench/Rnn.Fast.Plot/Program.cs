using System.Globalization;
using ScottPlot;
using ScottPlot.TickGenerators;

// ns/step against H, one line per implementation, log-log, from a BenchmarkDotNet CSV report with Impl,
// H and Mean columns (the streaming suites):
//   dotnet run --project bench/Rnn.Fast.Plot -- <report.csv> <out.png> "<title>"
if (args.Length < 3)
{
    Console.Error.WriteLine("usage: Rnn.Fast.Plot <report.csv> <out.png> <title>");
    return 2;
}
string[] lines = File.ReadAllLines(args[0]);
string[] header = Split(lines[0]);
int impl = Array.IndexOf(header, "Impl"), hidden = Array.IndexOf(header, "H"), mean = Array.IndexOf(header, "Mean");
var series = new SortedDictionary<string, SortedDictionary<int, double>>(StringComparer.Ordinal);
foreach (string line in lines.Skip(1))
{
    string[] cells = Split(line);
    double ns = Number(cells[mean]);
    if (double.IsNaN(ns))
    {
        continue;
    }
    string name = cells[impl];
    if (!series.TryGetValue(name, out SortedDictionary<int, double>? points))
    {
        series[name] = points = [];
    }
    points[int.Parse(cells[hidden], CultureInfo.InvariantCulture)] = ns;
}

var plot = new Plot();
MarkerShape[] markers = [MarkerShape.FilledCircle, MarkerShape.FilledSquare, MarkerShape.FilledTriangleUp, MarkerShape.FilledDiamond, MarkerShape.OpenCircle, MarkerShape.OpenSquare];
int k = 0;
foreach ((string name, SortedDictionary<int, double> points) in series)
{
    var scatter = plot.Add.Scatter(points.Keys.Select(h => Math.Log10(h)).ToArray(), points.Values.Select(Math.Log10).ToArray());
    scatter.LegendText = name;
    scatter.MarkerShape = markers[k++ % markers.Length];
    scatter.MarkerSize = 7;
    scatter.LineWidth = 2;
}
static string Power(double exponent) => Math.Pow(10, exponent).ToString("#,0.##", CultureInfo.InvariantCulture);
plot.Axes.Bottom.TickGenerator = new NumericManual([.. series.Values.SelectMany(p => p.Keys).Distinct().Order().Select(h => new Tick(Math.Log10(h), h.ToString(CultureInfo.InvariantCulture)))]);
plot.Axes.Left.TickGenerator = new NumericAutomatic { MinorTickGenerator = new LogMinorTickGenerator(), IntegerTicksOnly = true, LabelFormatter = Power };
plot.Grid.MajorLineColor = Colors.Black.WithOpacity(0.15);
plot.Grid.MinorLineColor = Colors.Black.WithOpacity(0.05);
plot.Grid.MinorLineWidth = 1;
plot.Title(args[2]);
plot.XLabel("H (I = H), log scale");
plot.YLabel("ns per step (BenchmarkDotNet mean), log scale");
plot.ShowLegend(Alignment.UpperLeft);
plot.SavePng(args[1], 1000, 650);
Console.WriteLine($"wrote {args[1]} ({series.Count} series)");
return 0;

static string[] Split(string line)
{
    var cells = new List<string>();
    var cell = new System.Text.StringBuilder();
    bool quoted = false;
    foreach (char c in line)
    {
        if (c == '"')
        {
            quoted = !quoted;
        }
        else if (c == ',' && !quoted)
        {
            cells.Add(cell.ToString());
            cell.Clear();
        }
        else
        {
            cell.Append(c);
        }
    }
    cells.Add(cell.ToString());
    return [.. cells];
}

// "1,234.5 ns" -> 1234.5; anything else (NA, empty) -> NaN.
static double Number(string text)
{
    string digits = new([.. text.Where(c => char.IsDigit(c) || c is '.' or '-')]);
    return double.TryParse(digits, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) ? value : double.NaN;
}
