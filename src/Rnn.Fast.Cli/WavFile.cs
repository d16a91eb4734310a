using System.Buffers.Binary;
using Rnn.Fast.IO;

namespace Rnn.Fast.Cli;

/// <summary>
/// RIFF WAVE audio: reads PCM 16/24/32-bit and IEEE float 32 (plain or WAVE_FORMAT_EXTENSIBLE), interleaved
/// channels as <c>[T, C]</c> floats in [-1, 1); writes the same formats.
/// </summary>
internal static class WavFile
{
    private const ushort FormatPcm = 1;
    private const ushort FormatFloat = 3;
    private const ushort FormatExtensible = 0xFFFE;

    /// <summary>The highest sample rate read or written: above any audio format in use (768 kHz), and low enough that
    /// the header's byte rate (rate × bytes per frame) cannot overflow for any channel count and sample size.</summary>
    public const int MaxSampleRate = 1_000_000;

    public static Signal Read(string path) => Read(RegularFile.ReadAllBytes(path), Path.GetFileName(path));

    public static Signal Read(byte[] file, string name)
    {
        ReadOnlySpan<byte> span = file;
        if (span.Length < 12 || !span[..4].SequenceEqual("RIFF"u8) || !span[8..12].SequenceEqual("WAVE"u8))
        {
            throw new SignalFormatException($"{name}: not a RIFF WAVE file.");
        }
        WavFormat? format = null;
        int channels = 0;
        int position = 12;
        while (position + 8 <= span.Length)
        {
            ReadOnlySpan<byte> id = span.Slice(position, 4);
            uint size = BinaryPrimitives.ReadUInt32LittleEndian(span[(position + 4)..]);
            int body = position + 8;
            if (size > (uint)(span.Length - body))
            {
                throw new SignalFormatException($"{name}: the '{System.Text.Encoding.ASCII.GetString(id)}' chunk claims {size} bytes but only {span.Length - body} remain (truncated file?).");
            }
            if (id.SequenceEqual("fmt "u8))
            {
                (format, channels) = ReadFormat(span.Slice(body, (int)size), name);
            }
            else if (id.SequenceEqual("data"u8))
            {
                if (format is null)
                {
                    throw new SignalFormatException($"{name}: the data chunk comes before the fmt chunk.");
                }
                return Decode(span.Slice(body, (int)size), format, channels, name);
            }
            // Chunks are padded to an even length.
            position = body + (int)size + (int)(size & 1);
        }
        throw new SignalFormatException($"{name}: no {(format is null ? "fmt" : "data")} chunk.");
    }

    private static (WavFormat Format, int Channels) ReadFormat(ReadOnlySpan<byte> chunk, string name)
    {
        if (chunk.Length < 16)
        {
            throw new SignalFormatException($"{name}: the fmt chunk is {chunk.Length} bytes, too short.");
        }
        ushort tag = BinaryPrimitives.ReadUInt16LittleEndian(chunk);
        int channels = BinaryPrimitives.ReadUInt16LittleEndian(chunk[2..]);
        uint sampleRate = BinaryPrimitives.ReadUInt32LittleEndian(chunk[4..]);
        int blockAlign = BinaryPrimitives.ReadUInt16LittleEndian(chunk[12..]);
        int bits = BinaryPrimitives.ReadUInt16LittleEndian(chunk[14..]);
        if (tag == FormatExtensible && chunk.Length >= 26)
        {
            // The sub-format GUID starts with the plain format tag.
            tag = BinaryPrimitives.ReadUInt16LittleEndian(chunk[24..]);
        }
        bool isFloat = tag == FormatFloat;
        if (!(tag == FormatPcm && bits is 16 or 24 or 32) && !(isFloat && bits == 32))
        {
            throw new SignalFormatException($"{name}: format tag {tag} with {bits} bits is not supported (PCM 16/24/32-bit or IEEE float 32).");
        }
        if (channels < 1 || blockAlign != channels * bits / 8)
        {
            throw new SignalFormatException($"{name}: {channels} channels with block align {blockAlign} do not fit {bits}-bit samples.");
        }
        if (sampleRate is 0 or > MaxSampleRate)
        {
            throw new SignalFormatException($"{name}: the sample rate {sampleRate} Hz is not between 1 and {MaxSampleRate} Hz.");
        }
        return (new WavFormat((int)sampleRate, bits, isFloat), channels);
    }

    private static Signal Decode(ReadOnlySpan<byte> data, WavFormat format, int channels, string name)
    {
        int bytes = format.BitsPerSample / 8;
        int frame = bytes * channels;
        if (data.Length % frame != 0)
        {
            throw new SignalFormatException($"{name}: the data chunk ({data.Length} bytes) is not whole frames of {frame} bytes.");
        }
        var samples = new float[data.Length / bytes];
        for (int i = 0; i < samples.Length; i++)
        {
            ReadOnlySpan<byte> s = data.Slice(i * bytes, bytes);
            samples[i] = format.IsFloat
                ? BinaryPrimitives.ReadSingleLittleEndian(s)
                : bytes switch
                {
                    2 => BinaryPrimitives.ReadInt16LittleEndian(s) / 32768f,
                    // Assemble the 24-bit sample in the top of an int so the shift back sign-extends it.
                    3 => ((s[0] << 8 | s[1] << 16 | s[2] << 24) >> 8) / 8388608f,
                    _ => (float)(BinaryPrimitives.ReadInt32LittleEndian(s) / 2147483648.0),
                };
        }
        return new Signal(samples, samples.Length / channels, 1, channels, format);
    }

    /// <summary>Writes <c>[T, C]</c> samples; PCM values are clipped to the format's range and rounded to nearest.</summary>
    public static void Write(Stream stream, Signal signal, WavFormat format)
    {
        if (signal.Batch != 1)
        {
            throw new SignalFormatException($"WAV holds one stream per file; this output has batch {signal.Batch} (use .npy).");
        }
        if (format.SampleRate is < 1 or > MaxSampleRate)
        {
            throw new SignalFormatException($"A WAV sample rate must be between 1 and {MaxSampleRate} Hz, not {format.SampleRate}.");
        }
        if (signal.Channels > ushort.MaxValue / 4)
        {
            throw new SignalFormatException($"The output has {signal.Channels} channels; a WAV file holds at most {ushort.MaxValue / 4} (use .npy).");
        }
        int bytes = format.BitsPerSample / 8;
        long dataLength = (long)signal.Data.Length * bytes;
        if (dataLength > uint.MaxValue - 44)
        {
            throw new SignalFormatException($"The output ({dataLength} bytes) is too large for a WAV file.");
        }
        var header = new byte[44];
        "RIFF"u8.CopyTo(header);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(4), (uint)(36 + dataLength));
        "WAVE"u8.CopyTo(header.AsSpan(8));
        "fmt "u8.CopyTo(header.AsSpan(12));
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(16), 16);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(20), format.IsFloat ? FormatFloat : FormatPcm);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(22), (ushort)signal.Channels);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(24), (uint)format.SampleRate);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(28), (uint)((long)format.SampleRate * bytes * signal.Channels));
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(32), (ushort)(bytes * signal.Channels));
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(34), (ushort)format.BitsPerSample);
        "data"u8.CopyTo(header.AsSpan(36));
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(40), (uint)dataLength);
        stream.Write(header);

        var buffer = new byte[bytes * signal.Data.Length];
        for (int i = 0; i < signal.Data.Length; i++)
        {
            Span<byte> s = buffer.AsSpan(i * bytes, bytes);
            float x = signal.Data[i];
            if (format.IsFloat)
            {
                BinaryPrimitives.WriteSingleLittleEndian(s, x);
                continue;
            }
            double scale = bytes switch { 2 => 32768.0, 3 => 8388608.0, _ => 2147483648.0 };
            // NaN becomes 0 rather than an arbitrary integer; everything else clips to the PCM range.
            long v = double.IsNaN(x) ? 0 : (long)Math.Clamp(Math.Round(x * scale), -scale, scale - 1);
            switch (bytes)
            {
                case 2:
                    BinaryPrimitives.WriteInt16LittleEndian(s, (short)v);
                    break;
                case 3:
                    s[0] = (byte)v;
                    s[1] = (byte)(v >> 8);
                    s[2] = (byte)(v >> 16);
                    break;
                default:
                    BinaryPrimitives.WriteInt32LittleEndian(s, (int)v);
                    break;
            }
        }
        stream.Write(buffer);
    }
}
