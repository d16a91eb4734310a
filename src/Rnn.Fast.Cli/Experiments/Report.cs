using System.Globalization;
using System.Text;

namespace Rnn.Fast.Cli.Experiments;

/// <summary>What every experiment gets: where to write, how long to run, the seed, the kernel, progress.</summary>
/// <param name="OutputDirectory">Folder for the CSV, PNG and markdown files (created if missing); null writes nothing (tests).</param>
/// <param name="Full">Full-length runs instead of the quick ones.</param>
/// <param name="Seed">Seed of every weight and data set.</param>
/// <param name="Kernel">Kernel name, or null for the default.</param>
/// <param name="Progress">Progress bars.</param>
internal sealed record ExperimentContext(string? OutputDirectory, bool Full, int Seed, string? Kernel, IExperimentProgress Progress)
{
    /// <summary>A context that writes nothing and shows nothing (tests).</summary>
    public static ExperimentContext Silent(int seed = 1, bool full = false) => new(null, full, seed, null, NullProgress.Instance);

    /// <summary>The full path of an output file, or null when nothing is written.</summary>
    public string? PathOf(string fileName) => OutputDirectory is null ? null : Path.Combine(OutputDirectory, fileName);
}

/// <summary>An experiment's result for the console and for index.md.</summary>
/// <param name="Name">Command name (<c>gradients</c>, <c>adding</c>, ...).</param>
/// <param name="Markdown">The report section, images referenced by file name.</param>
/// <param name="Summary">Short findings for the console.</param>
internal sealed record ExperimentReport(string Name, string Markdown, IReadOnlyList<string> Summary);

/// <summary>CSV and markdown writing, invariant culture throughout.</summary>
internal static class ReportFiles
{
    /// <summary>Writes rows of a CSV (header first); does nothing when <paramref name="path"/> is null.</summary>
    public static void WriteCsv(string? path, string header, IEnumerable<IEnumerable<object?>> rows)
    {
        if (path is null)
        {
            return;
        }
        var text = new StringBuilder();
        text.Append(header).Append('\n');
        foreach (IEnumerable<object?> row in rows)
        {
            text.AppendJoin(',', row.Select(Format)).Append('\n');
        }
        File.WriteAllText(path, text.ToString());
    }

    /// <summary>A value as CSV text: numbers in round-trippable invariant form, empty for null or NaN.</summary>
    public static string Format(object? value) => value switch
    {
        null => "",
        double d => double.IsNaN(d) ? "" : d.ToString("G6", CultureInfo.InvariantCulture),
        float f => float.IsNaN(f) ? "" : f.ToString("G6", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    /// <summary>Invariant-culture formatting for markdown and console text.</summary>
    public static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    /// <summary>A markdown table.</summary>
    public static string Table(IReadOnlyList<string> header, IEnumerable<IReadOnlyList<string>> rows)
    {
        var text = new StringBuilder();
        text.Append("| ").AppendJoin(" | ", header).Append(" |\n");
        text.Append('|').AppendJoin('|', header.Select(_ => " --- ")).Append("|\n");
        foreach (IReadOnlyList<string> row in rows)
        {
            text.Append("| ").AppendJoin(" | ", row).Append(" |\n");
        }
        return text.ToString();
    }

    /// <summary>A markdown image line (the file sits next to the markdown).</summary>
    public static string Image(string fileName, string alt) => $"![{alt}]({fileName})\n";
}
