using Rnn.Fast.IO;

namespace Rnn.Fast.Cli;

/// <summary>
/// Reads and writes signals by extension (.npy, .csv, .wav). Inputs must be regular files and are never read past
/// their real length; outputs go through a temporary file and a rename, so a failure never leaves a partial output.
/// </summary>
internal static class SignalFile
{
    /// <summary>The extensions a signal file can have.</summary>
    public static bool IsKnownExtension(string path) => Path.GetExtension(path).ToUpperInvariant() is ".NPY" or ".CSV" or ".WAV";

    /// <exception cref="SignalFormatException">The content is not a signal, or the extension is unknown.</exception>
    /// <exception cref="IOException">Not a regular file, or unreadable.</exception>
    public static Signal Read(string path)
    {
        if (!IsKnownExtension(path))
        {
            throw new SignalFormatException($"{path}: unknown input type; use .npy, .csv or .wav.");
        }
        byte[] content = RegularFile.ReadAllBytes(path);
        string name = Path.GetFileName(path);
        return Path.GetExtension(path).ToUpperInvariant() switch
        {
            ".NPY" => NpyFile.Read(content, name),
            ".CSV" => CsvFile.Read(content, name),
            _ => WavFile.Read(content, name),
        };
    }

    /// <summary>Checks the extension before any work is done.</summary>
    public static void CheckWritable(string path)
    {
        if (!IsKnownExtension(path))
        {
            throw new SignalFormatException($"{path}: unknown output type; use .npy, .csv or .wav.");
        }
    }

    /// <summary>
    /// Checks an output path before any work is done and returns the file to replace. A symbolic link is written
    /// through: its final target is replaced and the link stays a link. Refused: a path that resolves to one of
    /// <paramref name="inputs"/> (the run would destroy its own input), a directory, a device or FIFO (such as
    /// <c>/dev/full</c>: the output must be a regular file or a new one), or a path whose folder does not exist.
    /// </summary>
    /// <exception cref="UsageException">The output is one of the inputs.</exception>
    /// <exception cref="IOException">The output cannot be a regular file there.</exception>
    public static string PrepareOutput(string path, params string[] inputs)
    {
        CheckWritable(path);
        string destination = Canonical(path);
        foreach (string input in inputs)
        {
            if (File.Exists(input) && SamePath(destination, Canonical(input)))
            {
                throw new UsageException(destination == Path.GetFullPath(path)
                    ? $"--output {path} is the input file {input}; writing it would destroy the input. Choose another output path."
                    : $"--output {path} leads to {destination}, the input file {input}; writing it would destroy the input. Choose another output path.");
            }
        }
        if (Directory.Exists(destination))
        {
            throw new IOException($"{path}: is a directory; the output must be a file.");
        }
        if (File.Exists(destination) && RegularFile.KindOf(destination) is { } kind and not "regular file")
        {
            string what = destination == Path.GetFullPath(path) ? $"is a {kind}" : $"leads to {destination}, a {kind}";
            throw new IOException($"{path}: {what}; the output must be a regular file or a new path.");
        }
        string? folder = Path.GetDirectoryName(destination);
        if (folder is null || !Directory.Exists(folder))
        {
            throw new IOException(File.Exists(folder) ? $"{path}: {folder} is a file, not a folder." : $"{path}: the folder {folder} does not exist.");
        }
        return destination;
    }

    /// <summary>
    /// Writes <paramref name="signal"/> to a temporary file beside <paramref name="path"/> (or beside the target of the
    /// symbolic link it is) and renames it into place, so a failure (full disk, bad format) never leaves a partial
    /// output. Errors name <paramref name="path"/>, never the temporary file. <paramref name="wav"/> is the WAV format.
    /// </summary>
    public static void Write(string path, Signal signal, WavFormat wav)
    {
        CheckWritable(path);
        string destination = Canonical(path);
        // Named after the output so a file left by a killed process explains itself, but short enough that an output
        // name near the 255-byte limit still leaves room.
        string stem = Path.GetFileName(destination);
        string temporary = Path.Combine(Path.GetDirectoryName(destination)!, $".{stem[..Math.Min(stem.Length, 160)]}.{Guid.NewGuid():N}.tmp");
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
                // Surface a full disk here, while the temporary file can still be thrown away.
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, destination, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"{path}: cannot write the output: {Messages.Of(e).Replace(temporary, path, StringComparison.Ordinal)}", e);
        }
        finally
        {
            try
            {
                File.Delete(temporary);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The folder itself is unwritable: there is no temporary file to remove.
            }
        }
    }

    /// <summary>
    /// The absolute path with every symbolic link resolved, in the folders and at the end (like POSIX realpath, but the
    /// last part need not exist).
    /// </summary>
    /// <exception cref="IOException">A chain of links is too long or loops.</exception>
    public static string Canonical(string path) => Canonical(Path.GetFullPath(path), 0);

    private static string Canonical(string full, int depth)
    {
        if (depth > 40)
        {
            throw new IOException($"{full}: too many levels of symbolic links.");
        }
        string? parent = Path.GetDirectoryName(full);
        if (parent is null)
        {
            return full; // the root
        }
        string folder = Canonical(parent, depth);
        string candidate = Path.Combine(folder, Path.GetFileName(full));
        string? target = new FileInfo(candidate).LinkTarget;
        return target is null ? candidate : Canonical(Path.GetFullPath(target, folder), depth + 1);
    }

    private static bool SamePath(string a, string b) =>
        string.Equals(a, b, OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);
}
