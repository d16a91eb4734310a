using System.Runtime.InteropServices;

namespace Rnn.Fast.IO;

/// <summary>
/// Reads untrusted input files safely: only regular files (never a device, FIFO, socket or directory, which could
/// block forever or never end), and never more bytes than the file really has.
/// </summary>
/// <remarks>
/// This file is compiled into the library and, as a link, into the <c>rnnfast</c> CLI (which reads its signal files the
/// same way), so keep it self-contained.
/// </remarks>
internal static partial class RegularFile
{
    /// <summary>The largest file read whole: the longest byte array .NET allows.</summary>
    public static readonly long MaxLength = Array.MaxLength;

    /// <summary>
    /// The whole content of <paramref name="path"/>, after checking that it is a regular file of at most
    /// <see cref="MaxLength"/> bytes. Nothing is opened before the check, so a FIFO with no writer cannot hang the call.
    /// </summary>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    /// <exception cref="IOException">It is not a regular file, is too large, or cannot be read.</exception>
    public static byte[] ReadAllBytes(string path)
    {
        Check(path);
        if (new FileInfo(path).Length == 0)
        {
            // Also the safe answer where the kind cannot be told: devices and FIFOs report length 0, and are not opened.
            return [];
        }
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
        // The length comes from the open file; a regular file reports its real size, so this is the cap.
        long length = stream.Length;
        if (length > MaxLength)
        {
            throw new IOException($"{path}: the file is {length:N0} bytes; the largest this reads is {MaxLength:N0}.");
        }
        var content = new byte[length];
        try
        {
            stream.ReadExactly(content);
        }
        catch (EndOfStreamException)
        {
            throw new IOException($"{path}: the file became shorter while it was read.");
        }
        return content;
    }

    /// <summary>Throws unless <paramref name="path"/> exists and is a regular file (symbolic links are followed).</summary>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    /// <exception cref="IOException">It is a directory, device, FIFO or socket.</exception>
    public static void Check(string path)
    {
        if (Directory.Exists(path))
        {
            throw new IOException($"{path}: is a directory, not a file.");
        }
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path}: no such file.", path);
        }
        if (KindOf(path) is { } kind and not "regular file")
        {
            throw new IOException($"{path}: is a {kind}, not a regular file.");
        }
    }

    /// <summary>
    /// What <paramref name="path"/> is (following links): "regular file", "directory", "character device", "FIFO"...;
    /// null when it does not exist or this platform cannot tell.
    /// </summary>
    public static string? KindOf(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            // Windows has no device or FIFO paths that File.Exists accepts; directories are told apart by attributes.
            return Directory.Exists(path) ? "directory" : File.Exists(path) ? "regular file" : null;
        }
        int mode;
        try
        {
            mode = Stat(path);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
        return mode < 0 ? null : (mode & 0xF000) switch
        {
            0x8000 => "regular file",
            0x4000 => "directory",
            0x2000 => "character device",
            0x6000 => "block device",
            0x1000 => "FIFO",
            0xC000 => "socket",
            _ => "special file",
        };
    }

    // .NET itself has no public way to tell a device or a FIFO from a regular file (FileAttributes says Normal for
    // all three), and libc's struct stat differs by platform and architecture. The runtime's own native shim,
    // which File.Exists uses underneath, has one layout everywhere: { int Flags; int Mode; ... } with the POSIX
    // S_IFMT type bits in Mode. The buffer is generously larger than that struct.
    private static int Stat(string path)
    {
        Span<byte> status = stackalloc byte[512];
        return SystemNativeStat(path, ref MemoryMarshal.GetReference(status)) != 0 ? -1 : MemoryMarshal.Read<int>(status[4..]);
    }

    [LibraryImport("libSystem.Native", EntryPoint = "SystemNative_Stat", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SystemNativeStat(string path, ref byte status);
}
