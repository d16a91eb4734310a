using System.Globalization;
using System.Text;

namespace Rnn.Fast.Cli;

/// <summary>
/// CSV sequences: one row per time step, comma-separated channel values (<c>[T, I]</c>). A first line that is not
/// numbers is taken as a header and skipped; blank lines are skipped. Written with round-trip float formatting.
/// </summary>
internal static class CsvFile
{
    public static Signal Read(string path) => Read(Rnn.Fast.IO.RegularFile.ReadAllBytes(path), Path.GetFileName(path));

    /// <summary>Reads UTF-8 text, with or without a byte order mark.</summary>
    public static Signal Read(byte[] file, string name)
    {
        ReadOnlySpan<byte> text = file.AsSpan().StartsWith("\uFEFF"u8) ? file.AsSpan(3) : file;
        return Read(Encoding.UTF8.GetString(text), name);
    }

    public static Signal Read(string text, string name)
    {
        var values = new List<float>();
        int columns = -1;
        int steps = 0;
        int lineNumber = 0;
        foreach (string rawLine in text.Split('\n'))
        {
            lineNumber++;
            string line = rawLine.Trim();
            if (line.Length == 0)
            {
                continue;
            }
            string[] cells = line.Split(',');
            if (steps == 0 && lineNumber == 1 && !float.TryParse(cells[0].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out _))
            {
                continue; // a header row
            }
            if (columns >= 0 && cells.Length != columns)
            {
                throw new SignalFormatException($"{name}: line {lineNumber} has {cells.Length} values but earlier rows have {columns}.");
            }
            columns = cells.Length;
            foreach (string cell in cells)
            {
                if (!float.TryParse(cell.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out float value))
                {
                    string shown = string.Concat(cell.Trim().Take(40).Select(c => char.IsControl(c) ? '?' : c));
                    throw new SignalFormatException($"{name}: line {lineNumber}: '{shown}' is not a number.");
                }
                values.Add(value);
            }
            steps++;
        }
        if (steps == 0)
        {
            throw new SignalFormatException($"{name}: no rows of numbers.");
        }
        return new Signal([.. values], steps, 1, columns);
    }

    public static void Write(Stream stream, Signal signal)
    {
        if (signal.Batch != 1)
        {
            throw new SignalFormatException($"CSV holds one stream per file; this output has batch {signal.Batch} (use .npy).");
        }
        using var writer = new StreamWriter(stream, new UTF8Encoding(false), 1 << 16, leaveOpen: true);
        var line = new StringBuilder();
        for (int t = 0; t < signal.Steps; t++)
        {
            line.Clear();
            for (int c = 0; c < signal.Channels; c++)
            {
                if (c > 0)
                {
                    line.Append(',');
                }
                line.Append(signal.Data[t * signal.Channels + c].ToString("R", CultureInfo.InvariantCulture));
            }
            writer.Write(line);
            writer.Write('\n');
        }
    }
}
