using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Rnn.Fast.IO;

namespace Rnn.Fast.Cli;

/// <summary>
/// NumPy <c>.npy</c> arrays: read float32/float64 (either byte order, C order) of shape <c>[T]</c>, <c>[T, I]</c> or
/// <c>[T, B, I]</c>; write float32 little-endian, format version 1.0.
/// </summary>
internal static partial class NpyFile
{
    // Not a u8 literal: "\x93" there would be the UTF-8 encoding of U+0093, two bytes.
    private static ReadOnlySpan<byte> Magic => [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    [GeneratedRegex(@"'descr'\s*:\s*'(?<descr>[^']*)'")]
    private static partial Regex Descr();

    [GeneratedRegex(@"'fortran_order'\s*:\s*(?<order>True|False)")]
    private static partial Regex FortranOrder();

    [GeneratedRegex(@"'shape'\s*:\s*\((?<shape>[^)]*)\)")]
    private static partial Regex Shape();

    public static Signal Read(string path) => Read(RegularFile.ReadAllBytes(path), Path.GetFileName(path));

    public static Signal Read(byte[] file, string name)
    {
        if (file.Length < 10 || !file.AsSpan(0, 6).SequenceEqual(Magic))
        {
            throw new SignalFormatException($"{name}: not a .npy file (no \\x93NUMPY magic).");
        }
        int major = file[6];
        int headerStart = major == 1 ? 10 : 12;
        if (major is < 1 or > 3 || file.Length < headerStart)
        {
            throw new SignalFormatException($"{name}: unsupported .npy version {major}.{file[7]}.");
        }
        long headerLength = major == 1 ? BinaryPrimitives.ReadUInt16LittleEndian(file.AsSpan(8)) : BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(8));
        if (headerStart + headerLength > file.Length)
        {
            throw new SignalFormatException($"{name}: the header length {headerLength} goes beyond the end of the file.");
        }
        string header = Encoding.Latin1.GetString(file, headerStart, (int)headerLength);
        Match descr = Descr().Match(header);
        Match order = FortranOrder().Match(header);
        Match shapeMatch = Shape().Match(header);
        if (!descr.Success || !order.Success || !shapeMatch.Success)
        {
            string missing = !descr.Success ? "descr" : !order.Success ? "fortran_order" : "shape";
            throw new SignalFormatException($"{name}: the header has no readable '{missing}': {Printable(header.Trim())}");
        }
        if (order.Groups["order"].Value == "True")
        {
            throw new SignalFormatException($"{name}: Fortran-order arrays are not supported; save with numpy.ascontiguousarray.");
        }
        string type = descr.Groups["descr"].Value;
        (int size, bool bigEndian) = type switch
        {
            "<f4" or "|f4" or "=f4" => (4, false),
            ">f4" => (4, true),
            "<f8" or "|f8" or "=f8" => (8, false),
            ">f8" => (8, true),
            _ => throw new SignalFormatException($"{name}: dtype '{type}' is not supported; use float32 or float64."),
        };
        string shapeText = Printable(shapeMatch.Groups["shape"].Value.Trim());
        string[] dims = shapeMatch.Groups["shape"].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (dims.Length is < 1 or > 3)
        {
            throw new SignalFormatException($"{name}: shape ({shapeText}) is not [T], [T, I] or [T, B, I].");
        }
        var shape = new int[dims.Length];
        for (int d = 0; d < dims.Length; d++)
        {
            if (!int.TryParse(dims[d], NumberStyles.None, CultureInfo.InvariantCulture, out shape[d]))
            {
                throw new SignalFormatException(dims[d].All(char.IsAsciiDigit)
                    ? $"{name}: dimension {d} of shape ({shapeText}) is too large (at most {int.MaxValue})."
                    : $"{name}: dimension {d} of shape ({shapeText}) is '{Printable(dims[d])}', not a non-negative integer.");
            }
        }
        // Steps may be 0 (an empty sequence); a stream or channel axis of 0 is a sequence of nothing that could still
        // claim any number of steps without a byte of data.
        string[] axes = shape.Length == 3 ? ["steps", "batch", "channels"] : ["steps", "channels"];
        for (int d = 1; d < shape.Length; d++)
        {
            if (shape[d] == 0)
            {
                throw new SignalFormatException($"{name}: shape ({shapeText}) has {axes[d]} (axis {d}) 0; every step needs at least one value.");
            }
        }
        // Three int dimensions can overflow a long; the data size is checked against the bytes the file really has
        // before anything is allocated on it.
        Int128 needed = shape.Aggregate((Int128)1, (a, d) => a * d) * size;
        long available = file.Length - headerStart - headerLength;
        if (needed != available)
        {
            throw new SignalFormatException($"{name}: shape ({shapeText}) needs {needed} data bytes but the file has {available}.");
        }
        long count = (long)(needed / size);
        var data = new float[count];
        ReadOnlySpan<byte> bytes = file.AsSpan((int)(headerStart + headerLength));
        for (int i = 0; i < data.Length; i++)
        {
            ReadOnlySpan<byte> item = bytes.Slice(i * size, size);
            data[i] = (size, bigEndian) switch
            {
                (4, false) => BinaryPrimitives.ReadSingleLittleEndian(item),
                (4, true) => BinaryPrimitives.ReadSingleBigEndian(item),
                (_, false) => (float)BinaryPrimitives.ReadDoubleLittleEndian(item),
                _ => (float)BinaryPrimitives.ReadDoubleBigEndian(item),
            };
        }
        return shape.Length switch
        {
            1 => new Signal(data, shape[0], 1, 1) { Rank = 1 },
            2 => new Signal(data, shape[0], 1, shape[1]) { Rank = 2 },
            _ => new Signal(data, shape[0], shape[1], shape[2]) { Rank = 3 },
        };
    }

    /// <summary>Header text fit for a one-line message: control characters shown as '?', and at most 200 characters.</summary>
    private static string Printable(string text)
    {
        string clean = string.Concat(text.Select(c => char.IsControl(c) ? '?' : c));
        return clean.Length <= 200 ? clean : clean[..200] + "...";
    }

    /// <summary>Writes float32 with the signal's rank: <c>[T]</c> (one channel), <c>[T, C]</c> or <c>[T, B, C]</c>.</summary>
    public static void Write(Stream stream, Signal signal)
    {
        string shape = signal.Rank switch
        {
            1 when signal.Batch == 1 && signal.Channels == 1 => $"({signal.Steps},)",
            3 => $"({signal.Steps}, {signal.Batch}, {signal.Channels})",
            _ when signal.Batch == 1 => $"({signal.Steps}, {signal.Channels})",
            _ => $"({signal.Steps}, {signal.Batch}, {signal.Channels})",
        };
        string header = $"{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}";
        // The data starts 64-byte aligned, as NumPy writes it: magic (6) + version (2) + length (2) + header + '\n'.
        int total = 10 + header.Length + 1;
        header += new string(' ', (64 - total % 64) % 64) + "\n";
        Span<byte> prefix = stackalloc byte[10];
        Magic.CopyTo(prefix);
        prefix[6] = 1;
        prefix[7] = 0;
        BinaryPrimitives.WriteUInt16LittleEndian(prefix[8..], (ushort)header.Length);
        stream.Write(prefix);
        stream.Write(Encoding.Latin1.GetBytes(header));
        var buffer = new byte[4 * signal.Data.Length];
        for (int i = 0; i < signal.Data.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(buffer.AsSpan(4 * i), signal.Data[i]);
        }
        stream.Write(buffer);
    }
}
