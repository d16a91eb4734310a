namespace Rnn.Fast.Cli;

/// <summary>Reads and writes signals by extension (.npy, .csv, .wav); writing goes through a temporary file and a rename.</summary>
internal static class SignalFile
{
    public static Signal Read(string path) => Path.GetExtension(path).ToUpperInvariant() switch
    {
        ".NPY" => NpyFile.Read(path),
        ".CSV" => CsvFile.Read(path),
        ".WAV" => WavFile.Read(path),
        _ => throw new SignalFormatException($"'{path}': unknown input type; use .npy, .csv or .wav."),
    };

    /// <summary>Checks the extension before any work is done.</summary>
    public static void CheckWritable(string path)
    {
        if (Path.GetExtension(path).ToUpperInvariant() is not (".NPY" or ".CSV" or ".WAV"))
        {
            throw new SignalFormatException($"'{path}': unknown output type; use .npy, .csv or .wav.");
        }
    }

    /// <summary>
    /// Writes <paramref name="signal"/> to a temporary file beside <paramref name="path"/> and renames it into place,
    /// so a failure (full disk, bad format) never leaves a partial output. <paramref name="wav"/> is the WAV format.
    /// </summary>
    public static void Write(string path, Signal signal, WavFormat wav)
    {
        CheckWritable(path);
        string full = Path.GetFullPath(path);
        string temporary = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write))
            {
                switch (Path.GetExtension(path).ToUpperInvariant())
                {
                    case ".NPY":
                        NpyFile.Write(stream, signal);
                        break;
                    case ".CSV":
                        CsvFile.Write(stream, signal);
                        break;
                    default:
                        WavFile.Write(stream, signal, wav);
                        break;
                }
            }
            File.Move(temporary, full, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }
}
