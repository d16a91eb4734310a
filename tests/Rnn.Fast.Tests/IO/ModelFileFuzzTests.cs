using System.Diagnostics;
using System.Text;
using Rnn.Fast.IO;

namespace Rnn.Fast.Tests.IO;

/// <summary>
/// Seeded random mutations of valid model files (bit flips, truncation, insertion, deletion, edits of the header
/// text): the readers either load a model that runs, or throw <see cref="ModelFormatException"/>; nothing else,
/// no crash, no hang. Safetensors is fuzzed as saved from a float32, a bf16 (BF16 matrices) and an int8 model (I8
/// matrices and F32 scales).
/// </summary>
public sealed class ModelFileFuzzTests
{
    private const int CasesPerFormat = 4000;

    public static TheoryData<string> Formats => ["safetensors", "safetensors-bf16", "safetensors-int8", "nam", "json"];

    private static (byte[] File, ModelFileFormat Format) Valid(string format)
    {
        switch (format)
        {
            case "safetensors":
            case "safetensors-bf16":
            case "safetensors-int8":
                WeightPrecision precision = format switch
                {
                    "safetensors-bf16" => WeightPrecision.BFloat16,
                    "safetensors-int8" => WeightPrecision.Int8,
                    _ => WeightPrecision.Float32,
                };
                var stream = new MemoryStream();
                ModelFile.SaveSafetensors(SafetensorsTests.Model("lstm-skip-initial").WithPrecision(precision), stream);
                return (stream.ToArray(), ModelFileFormat.Safetensors);
            case "nam":
                return (File.ReadAllBytes(TestFiles.Fixture("nam-lstm-example.nam")), ModelFileFormat.Nam);
            default:
                string json = StateDictJsonTests.Json(RnnModel.CreateGru(1, 3, outputSize: 1, seed: 2), "GRU", 1);
                return (Encoding.UTF8.GetBytes(json), ModelFileFormat.StateDictJson);
        }
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void Load_RandomMutations_OnlyModelFormatException(string format)
    {
        (byte[] valid, ModelFileFormat fileFormat) = Valid(format);
        var random = new Random((format == "safetensors-int8" ? 17 : format.Length) * 7919);
        var clock = Stopwatch.StartNew();
        int loaded = 0;
        int rejected = 0;
        for (int i = 0; i < CasesPerFormat; i++)
        {
            byte[] mutated = Mutate(valid, random, fileFormat);
            try
            {
                RnnModel model = ModelFile.Load(mutated, fileFormat, "fuzz");
                // A file that loads must also run.
                var y = new float[3 * model.OutputSize];
                model.Run(new float[3 * model.InputSize], 3, model.CreateState(), y);
                loaded++;
            }
            catch (ModelFormatException e)
            {
                Assert.StartsWith("fuzz: ", e.Message);
                rejected++;
            }
            catch (Exception e)
            {
                Assert.Fail($"{format} case {i}: {e.GetType().Name}: {e.Message}\n{e.StackTrace}");
            }
        }
        Assert.Equal(CasesPerFormat, loaded + rejected);
        Assert.True(rejected > CasesPerFormat / 4, $"Only {rejected} of {CasesPerFormat} mutations were rejected; the mutator is too gentle.");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"{CasesPerFormat} cases took {clock.Elapsed}.");
    }

    /// <summary>
    /// The header kept, only the data of a bf16 or int8 file mutated (bit flips, bytes set to 0x80 = int8 −128 or to the
    /// top byte of a NaN/infinity, random bytes): every case reaches the value checks (scales, −128, non-finite bf16),
    /// which whole-file mutations mostly stop before.
    /// </summary>
    [Theory]
    [InlineData("safetensors-bf16")]
    [InlineData("safetensors-int8")]
    public void Load_ReducedDataMutations_OnlyModelFormatException(string format)
    {
        (byte[] valid, ModelFileFormat fileFormat) = Valid(format);
        int dataStart = 8 + (int)BitConverter.ToUInt64(valid, 0);
        var random = new Random(format.Length * 104729 + format[^1]);
        int loaded = 0, rejected = 0;
        for (int i = 0; i < CasesPerFormat; i++)
        {
            byte[] mutated = (byte[])valid.Clone();
            for (int m = 1 + random.Next(3); m > 0; m--)
            {
                int position = dataStart + random.Next(valid.Length - dataStart);
                mutated[position] = random.Next(4) switch
                {
                    0 => (byte)(mutated[position] ^ (1 << random.Next(8))),
                    1 => 0x80,
                    2 => (byte)(0x7F | (mutated[position] & 0x80)),
                    _ => (byte)random.Next(256),
                };
            }
            try
            {
                RnnModel model = ModelFile.Load(mutated, fileFormat, "fuzz");
                Assert.Equal(format.EndsWith("int8", StringComparison.Ordinal) ? WeightPrecision.Int8 : WeightPrecision.BFloat16, model.Precision);
                var y = new float[3 * model.OutputSize];
                model.Run(new float[3 * model.InputSize], 3, model.CreateState(), y);
                loaded++;
            }
            catch (ModelFormatException e)
            {
                Assert.StartsWith("fuzz: '", e.Message);   // always names the tensor
                rejected++;
            }
            catch (Exception e)
            {
                Assert.Fail($"{format} data case {i}: {e.GetType().Name}: {e.Message}\n{e.StackTrace}");
            }
        }
        Assert.Equal(CasesPerFormat, loaded + rejected);
        Assert.True(rejected > CasesPerFormat / 10 && loaded > CasesPerFormat / 10, $"{loaded} loaded, {rejected} rejected: the mutations miss the checks.");
    }

    private static byte[] Mutate(byte[] valid, Random random, ModelFileFormat format)
    {
        var bytes = new List<byte>(valid);
        int mutations = 1 + random.Next(4);
        // For safetensors, aim most edits at the 8-byte length and the JSON header, where the structure lives.
        int headerEnd = format == ModelFileFormat.Safetensors ? Math.Min(valid.Length, 8 + (int)BitConverter.ToUInt64(valid, 0)) : valid.Length;
        for (int m = 0; m < mutations && bytes.Count > 0; m++)
        {
            int position = random.Next(2) == 0 ? random.Next(Math.Min(headerEnd, bytes.Count)) : random.Next(bytes.Count);
            switch (random.Next(7))
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
                case 4: // a digit changed: sizes, offsets and numbers in the JSON
                    int digit = bytes.FindIndex(position, b => b is >= (byte)'0' and <= (byte)'9');
                    if (digit >= 0)
                    {
                        bytes[digit] = (byte)('0' + random.Next(10));
                    }
                    break;
                case 5: // a JSON-significant character inserted
                    bytes.Insert(position, "{}[],:\"-.e9 "u8[random.Next(12)]);
                    break;
                default: // a digit string made huge or negative
                    int at = bytes.FindIndex(position, b => b is >= (byte)'0' and <= (byte)'9');
                    if (at >= 0)
                    {
                        bytes.InsertRange(at, random.Next(2) == 0 ? "-"u8.ToArray() : "99999999999"u8.ToArray());
                    }
                    break;
            }
        }
        return [.. bytes];
    }
}
