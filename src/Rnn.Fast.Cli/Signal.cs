namespace Rnn.Fast.Cli;

/// <summary>
/// A sequence as the model sees it: time-major <c>[Steps, Batch, Channels]</c> floats, plus the WAV format
/// it came from (if any) so the output can be written at the same sample rate and bit depth.
/// </summary>
internal sealed class Signal
{
    public Signal(float[] data, int steps, int batch, int channels, WavFormat? wav = null)
    {
        if ((long)steps * batch * channels != data.Length)
        {
            throw new ArgumentException($"{data.Length} values are not [{steps}, {batch}, {channels}].", nameof(data));
        }
        Data = data;
        Steps = steps;
        Batch = batch;
        Channels = channels;
        Wav = wav;
    }

    public float[] Data { get; }
    public int Steps { get; }
    public int Batch { get; }
    public int Channels { get; }
    public WavFormat? Wav { get; }

    /// <summary>The rank the signal was read with (npy keeps it on output): 1 for <c>[T]</c>, 2 for <c>[T, C]</c>, 3 for <c>[T, B, C]</c>.</summary>
    public int Rank { get; init; } = 2;
}

/// <summary>A WAV sample format: PCM of 16, 24 or 32 bits, or IEEE float 32.</summary>
internal sealed record WavFormat(int SampleRate, int BitsPerSample, bool IsFloat)
{
    public static WavFormat Float32(int sampleRate) => new(sampleRate, 32, true);

    public override string ToString() => IsFloat ? $"{SampleRate} Hz float32" : $"{SampleRate} Hz PCM {BitsPerSample}-bit";
}

/// <summary>A file that cannot be read as a signal, with the reason.</summary>
internal sealed class SignalFormatException(string message) : Exception(message);
