using System.Diagnostics;
using System.Text;
using Rnn.Fast.Cli;

namespace Rnn.Fast.Tests.Cli;

/// <summary>
/// The model-file fuzzing (<see cref="IO.ModelFileFuzzTests"/>) extended to the CLI's input formats: seeded random
/// mutations of valid .npy, .wav and .csv files (bit flips, truncation, insertion, deletion, digit edits aimed at the
/// headers) either read as a consistent signal that runs, or throw <see cref="SignalFormatException"/> naming the file;
/// nothing else, no crash, no hang, no allocation on a size the file only claims.
/// </summary>
public sealed class SignalFileFuzzTests
{
    private const int CasesPerFormat = 4000;

    public static TheoryData<string> Formats => ["npy", "wav", "csv"];

    private static byte[] Valid(string format)
    {
        var stream = new MemoryStream();
        float[] ramp = [.. Enumerable.Range(0, 24).Select(i => MathF.Sin(i * 0.7f) * 0.8f)];
        switch (format)
        {
            case "npy":
                NpyFile.Write(stream, new Signal(ramp, 4, 2, 3) { Rank = 3 });
                break;
            case "wav":
                WavFile.Write(stream, new Signal(ramp, 12, 1, 2), new WavFormat(44100, 24, false));
                break;
            default:
                CsvFile.Write(stream, new Signal(ramp, 8, 1, 3));
                return [.. "a,b,c\n"u8, .. stream.ToArray()];
        }
        return stream.ToArray();
    }

    private static Signal Read(string format, byte[] file) => format switch
    {
        "npy" => NpyFile.Read(file, "fuzz.npy"),
        "wav" => WavFile.Read(file, "fuzz.wav"),
        _ => CsvFile.Read(file, "fuzz.csv"),
    };

    [Theory]
    [MemberData(nameof(Formats))]
    public void Read_RandomMutations_OnlySignalFormatException(string format)
    {
        byte[] valid = Valid(format);
        // The structure lives in the header: the npy dict (up to the first 64-byte boundary), the WAV chunks' first 44 bytes.
        int headerEnd = format switch { "npy" => 64, "wav" => 44, _ => valid.Length };
        var random = new Random(format.Length * 7919 + format[0]);
        var models = new Dictionary<int, RnnModel>();
        var clock = Stopwatch.StartNew();
        int loaded = 0, rejected = 0;
        for (int i = 0; i < CasesPerFormat; i++)
        {
            byte[] mutated = Mutate(valid, headerEnd, random);
            try
            {
                Signal signal = Read(format, mutated);
                Assert.Equal((long)signal.Steps * signal.Batch * signal.Channels, signal.Data.Length);
                Assert.True(signal.Data.Length <= mutated.Length, $"{format} case {i}: {signal.Data.Length} values from {mutated.Length} bytes");
                if (signal.Wav is { } wav)
                {
                    Assert.InRange(wav.SampleRate, 1, WavFile.MaxSampleRate);
                }
                // A signal that reads must also run (or be refused as too large), as `rnnfast run` would.
                if (signal.Channels <= 8)
                {
                    if (!models.TryGetValue(signal.Channels, out RnnModel? model))
                    {
                        models[signal.Channels] = model = RnnModel.CreateLstm(signal.Channels, 2, outputSize: 1, seed: 1);
                    }
                    try
                    {
                        Assert.Equal((long)signal.Steps * signal.Batch, RunCommand.Process(model, signal).Length);
                    }
                    catch (SignalFormatException)
                    {
                        // too many streams for the state cap: refused with a message, as the CLI does
                    }
                }
                loaded++;
            }
            catch (SignalFormatException e)
            {
                Assert.StartsWith($"fuzz.{format}: ", e.Message);
                rejected++;
            }
            catch (Exception e)
            {
                Assert.Fail($"{format} case {i}: {e.GetType().Name}: {e.Message}\n{e.StackTrace}");
            }
        }
        Assert.Equal(CasesPerFormat, loaded + rejected);
        Assert.True(rejected > CasesPerFormat / 10, $"Only {rejected} of {CasesPerFormat} mutations were rejected; the mutator is too gentle.");
        Assert.True(loaded > CasesPerFormat / 20, $"Only {loaded} of {CasesPerFormat} mutations loaded; the mutator is too harsh to reach the data paths.");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"{CasesPerFormat} cases took {clock.Elapsed}.");
    }

    private static byte[] Mutate(byte[] valid, int headerEnd, Random random)
    {
        var bytes = new List<byte>(valid);
        int mutations = 1 + random.Next(3);
        for (int m = 0; m < mutations && bytes.Count > 0; m++)
        {
            int position = random.Next(2) == 0 ? random.Next(Math.Min(headerEnd, bytes.Count)) : random.Next(bytes.Count);
            switch (random.Next(8))
            {
                case 0: // bit flip
                    bytes[position] ^= (byte)(1 << random.Next(8));
                    break;
                case 1: // truncation
                    bytes.RemoveRange(position, bytes.Count - position);
                    break;
                case 2: // insertion of random bytes
                    bytes.InsertRange(position, Enumerable.Range(0, 1 + random.Next(8)).Select(_ => (byte)random.Next(256)));
                    break;
                case 3: // deletion
                    bytes.RemoveRange(position, Math.Min(1 + random.Next(8), bytes.Count - position));
                    break;
                case 4: // a digit changed: npy shapes, CSV numbers
                    int digit = bytes.FindIndex(position, b => b is >= (byte)'0' and <= (byte)'9');
                    if (digit >= 0)
                    {
                        bytes[digit] = (byte)('0' + random.Next(10));
                    }
                    break;
                case 5: // a digit string made huge or negative, or a special float
                    int at = bytes.FindIndex(position, b => b is >= (byte)'0' and <= (byte)'9');
                    if (at >= 0)
                    {
                        string[] insert = ["-", "99999999999", "0", "NaN", "1e400", ",", "\n"];
                        bytes.InsertRange(at, Encoding.ASCII.GetBytes(insert[random.Next(insert.Length)]));
                    }
                    break;
                case 6: // a little-endian size field (WAV chunk sizes, sample rate, npy header length) set to an extreme
                    int field = Math.Min(position, Math.Max(0, bytes.Count - 4));
                    uint[] extremes = [0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, (uint)random.Next()];
                    byte[] value = BitConverter.GetBytes(extremes[random.Next(extremes.Length)]);
                    for (int k = 0; k < 4 && field + k < bytes.Count; k++)
                    {
                        bytes[field + k] = value[k];
                    }
                    break;
                default: // a structural character of the npy dict or CSV
                    bytes.Insert(position, "{}(),:'\n\r \t"u8[random.Next(11)]);
                    break;
            }
        }
        return [.. bytes];
    }
}
