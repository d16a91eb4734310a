using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using Rnn.Fast.IO;

namespace Rnn.Fast.Tests.IO;

/// <summary>Export and re-load are lossless; every kind of malformed file gets a ModelFormatException saying what is wrong.</summary>
public sealed class SafetensorsTests
{
    public static TheoryData<string> RoundTripModels => ["lstm-head", "elman-mixed", "gru-bidirectional", "lstm-skip-initial"];

    internal static RnnModel Model(string kind)
    {
        var random = new Random(kind.Length);
        switch (kind)
        {
            case "lstm-head":
                return RnnModel.CreateLstm(3, 7, layers: 2, outputSize: 2, headActivation: Activation.Sigmoid, seed: 3);
            case "elman-mixed":
                return RnnModel.Create(
                    [LayerWeights.Random(CellType.Elman, 2, 5, random, Activation.Relu), LayerWeights.Random(CellType.Elman, 5, 4, random, Activation.Tanh)],
                    HeadWeights.Random(4, 3, random, Activation.Softmax));
            case "gru-bidirectional":
                return RnnModel.Create(
                    [LayerWeights.Random(CellType.Gru, 3, 4, random), LayerWeights.Random(CellType.Gru, 8, 4, random)], null, null,
                    new RnnModelOptions { ReverseLayers = [LayerWeights.Random(CellType.Gru, 3, 4, random), LayerWeights.Random(CellType.Gru, 8, 4, random)] });
            default:
                return RnnModel.Create(
                    [LayerWeights.Random(CellType.Lstm, 2, 3, random), LayerWeights.Random(CellType.Elman, 3, 3, random)],
                    HeadWeights.Random(3, 2, random), null,
                    new RnnModelOptions { Skip = 2, InitialHidden = [[0.1f, -0.2f, 0.3f], null], InitialCell = [[-1f, 0.5f, 0.25f], null] });
        }
    }

    [Theory]
    [MemberData(nameof(RoundTripModels))]
    public void SaveSafetensors_LoadBack_BitwiseEqualModel(string kind)
    {
        RnnModel model = Model(kind);
        var stream = new MemoryStream();
        ModelFile.SaveSafetensors(model, stream);
        RnnModel loaded = ModelFile.Load(stream.ToArray(), ModelFileFormat.Safetensors, kind);
        Assert.Equal(WeightPrecision.Float32, loaded.Precision);
        AssertSameModel(model, loaded);
    }

    /// <summary>Layers (both directions), head, skip and initial states bitwise equal.</summary>
    internal static void AssertSameModel(RnnModel model, RnnModel loaded)
    {
        AssertSameLayers(model.Layers, loaded.Layers);
        if (model.Options.ReverseLayers is { } reverse)
        {
            AssertSameLayers(reverse, loaded.Options.ReverseLayers!);
        }
        Assert.Equal(model.Head is null, loaded.Head is null);
        if (model.Head is { } head)
        {
            Assert.Equal(head.Activation, loaded.Head!.Activation);
            AssertBitwise(head.Weight, loaded.Head.Weight);
            AssertBitwise(head.Bias, loaded.Head.Bias);
        }
        Assert.Equal(model.Options.Skip, loaded.Options.Skip);
        AssertSameInitial(model.Options.InitialHidden, loaded.Options.InitialHidden);
        AssertSameInitial(model.Options.InitialCell, loaded.Options.InitialCell);
    }

    [Fact]
    public void SaveSafetensors_ToPath_WritesAtomicallyAndLoads()
    {
        string directory = TestFiles.TempDirectory();
        try
        {
            string path = Path.Combine(directory, "model.safetensors");
            RnnModel model = Model("lstm-head");
            ModelFile.SaveSafetensors(model, path);
            Assert.Equal(["model.safetensors"], Directory.GetFiles(directory).Select(Path.GetFileName));
            Assert.Equal(model.ParameterCount, ModelFile.Load(path).ParameterCount);
        }
        finally
        {
            Directory.Delete(directory, true);
        }
    }

    [Fact]
    public void Load_HeaderPaddedAndDataAligned()
    {
        var stream = new MemoryStream();
        ModelFile.SaveSafetensors(Model("elman-mixed"), stream);
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(stream.ToArray());
        Assert.Equal(0ul, n % 8);
    }

    private static void AssertSameLayers(IReadOnlyList<LayerWeights> expected, IReadOnlyList<LayerWeights> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (int l = 0; l < expected.Count; l++)
        {
            Assert.Equal(expected[l].Cell, actual[l].Cell);
            Assert.Equal(expected[l].Nonlinearity, actual[l].Nonlinearity);
            Assert.Equal(expected[l].InputSize, actual[l].InputSize);
            AssertBitwise(expected[l].WeightIh, actual[l].WeightIh);
            AssertBitwise(expected[l].WeightHh, actual[l].WeightHh);
            AssertBitwise(expected[l].BiasIh, actual[l].BiasIh);
            AssertBitwise(expected[l].BiasHh, actual[l].BiasHh);
        }
    }

    private static void AssertSameInitial(IReadOnlyList<float[]?>? expected, IReadOnlyList<float[]?>? actual)
    {
        Assert.Equal(expected is null, actual is null);
        for (int l = 0; l < (expected?.Count ?? 0); l++)
        {
            Assert.Equal(expected![l] is null, actual![l] is null);
            if (expected[l] is { } values)
            {
                AssertBitwise(values, actual[l]);
            }
        }
    }

    private static void AssertBitwise(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual) =>
        Assert.True(MemoryMarshal.AsBytes(expected).SequenceEqual(MemoryMarshal.AsBytes(actual)));

    // ---- malformed files ----

    /// <summary>A file from a header JSON and raw data bytes, exactly as given.</summary>
    internal static byte[] Build(string header, byte[] data)
    {
        byte[] json = Encoding.UTF8.GetBytes(header);
        var file = new byte[8 + json.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)json.Length);
        json.CopyTo(file, 8);
        data.CopyTo(file, 8 + json.Length);
        return file;
    }

    /// <summary>A valid Elman layer (I 1, H 2): weight_ih [2,1] then weight_hh [2,2], 24 bytes of F32.</summary>
    private static string Elman(string ihOffsets = "[0,8]", string hhOffsets = "[8,24]", string ihShape = "[2,1]", string hhShape = "[2,2]", string dtype = "F32") =>
        $"\"rnn.weight_ih_l0\":{{\"dtype\":\"{dtype}\",\"shape\":{ihShape},\"data_offsets\":{ihOffsets}}}," +
        $"\"rnn.weight_hh_l0\":{{\"dtype\":\"F32\",\"shape\":{hhShape},\"data_offsets\":{hhOffsets}}}";

    private static byte[] Floats(params float[] values) => MemoryMarshal.AsBytes(values.AsSpan()).ToArray();

    private static readonly byte[] s_sixFloats = Floats(0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f);

    public static TheoryData<string, byte[], string> Malformed => new()
    {
        { "shorter than the length prefix", [1, 2, 3, 4], "8-byte header length" },
        { "header length beyond the file", Build("{" + Elman() + "}", s_sixFloats)[..40], "only" },
        { "header length absurd", [255, 255, 255, 255, 255, 255, 255, 127, (byte)'{', (byte)'}'], "only" },
        { "header not JSON", Build("{\"rnn.weight", s_sixFloats), "not valid JSON" },
        { "header not an object", Build("[1,2]   ", []), "must be a JSON object" },
        { "truncated data", Build("{" + Elman() + "}", s_sixFloats[..20]), "beyond" },
        { "offsets out of range", Build("{" + Elman(hhOffsets: "[8,2392]", hhShape: "[2,298]") + "}", s_sixFloats), "beyond" },
        { "overlapping offsets", Build("{" + Elman(hhOffsets: "[4,20]") + "}", s_sixFloats), "overlap" },
        { "hole between tensors", Build("{" + Elman(hhOffsets: "[12,28]") + "}", Floats(1, 2, 3, 4, 5, 6, 7)), "hole" },
        { "trailing bytes", Build("{" + Elman() + "}", Floats(1, 2, 3, 4, 5, 6, 7)), "data section" },
        { "offsets disagree with shape", Build("{" + Elman(ihShape: "[3,1]") + "}", s_sixFloats), "needs" },
        { "negative offsets", Build("{" + Elman(ihOffsets: "[-8,0]") + "}", s_sixFloats), "begin <= end" },
        { "unsupported dtype", Build("{" + Elman(dtype: "I64") + "}", s_sixFloats), "I64" },
        { "huge declared shape", Build("{" + Elman(hhShape: "[2000000000,2000000000]") + "}", s_sixFloats), "more elements" },
        { "negative dimension", Build("{" + Elman(hhShape: "[-2,2]") + "}", s_sixFloats), "non-negative" },
        { "missing data_offsets", Build("{\"rnn.weight_hh_l0\":{\"dtype\":\"F32\",\"shape\":[1,1]}}", Floats(1)), "data_offsets" },
        { "metadata not strings", Build("{\"__metadata__\":{\"rnnfast.skip\":1}," + Elman() + "}", s_sixFloats), "strings" },
        { "NaN weight", Build("{" + Elman() + "}", Floats(0.1f, float.NaN, 0.3f, 0.4f, 0.5f, 0.6f)), "finite" },
        { "infinite weight", Build("{" + Elman() + "}", Floats(0.1f, 0.2f, 0.3f, float.PositiveInfinity, 0.5f, 0.6f)), "finite" },
        { "missing weight_ih", Build("{\"rnn.weight_hh_l0\":{\"dtype\":\"F32\",\"shape\":[1,1],\"data_offsets\":[0,4]}}", Floats(1)), "weight_ih_l0" },
        { "no recurrent layer", Build("{\"lin.weight\":{\"dtype\":\"F32\",\"shape\":[1,1],\"data_offsets\":[0,4]}}", Floats(1)), "No recurrent layer" },
        { "unknown tensor", Build("{" + Elman() + ",\"rnn.weight_hr_l0\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[24,28]}}", Floats(1, 2, 3, 4, 5, 6, 7)), "Not a tensor" },
        { "gate ratio 2", Build("{" + Elman(ihShape: "[4,1]", hhShape: "[4,2]", ihOffsets: "[0,16]", hhOffsets: "[16,48]") + "}", new byte[48]), "G = 1" },
        { "ih rows differ from hh", Build("{" + Elman(ihShape: "[1,2]") + "}", s_sixFloats), "does not match" },
        { "head wrong width", Build("{" + Elman() + ",\"lin.weight\":{\"dtype\":\"F32\",\"shape\":[1,3],\"data_offsets\":[24,36]}}", new byte[36]), "lin.weight" },
        { "layer gap", Build("{" + Elman().Replace("_l0", "_l1") + "}", s_sixFloats), "without gaps" },
        { "bad skip metadata", Build("{\"__metadata__\":{\"rnnfast.skip\":\"-1\"}," + Elman() + "}", s_sixFloats), "rnnfast.skip" },
        { "skip beyond outputs", Build("{\"__metadata__\":{\"rnnfast.skip\":\"5\"}," + Elman() + "}", s_sixFloats), "Skip" },
        { "bad nonlinearity", Build("{\"__metadata__\":{\"rnnfast.nonlinearity\":\"gelu\"}," + Elman() + "}", s_sixFloats), "gelu" },
        { "duplicate tensor name", Build("{" + Elman() + "," + Elman() + "}", s_sixFloats), "twice" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Load_MalformedSafetensors_ThrowsModelFormatExceptionNamingProblem(string what, byte[] file, string expected)
    {
        var e = Assert.Throws<ModelFormatException>(() => ModelFile.Load(file, ModelFileFormat.Safetensors, "bad.safetensors"));
        Assert.StartsWith("bad.safetensors: ", e.Message);
        Assert.True(e.Message.Contains(expected, StringComparison.Ordinal), $"{what}: '{e.Message}' should mention '{expected}'.");
    }

    [Fact]
    public void Load_ValidHandBuiltFile_Works()
    {
        RnnModel model = ModelFile.Load(Build("{" + Elman() + "}", s_sixFloats), ModelFileFormat.Safetensors, "ok.safetensors");
        Assert.Equal(CellType.Elman, model.Layers[0].Cell);
        Assert.Equal(2, model.OutputSize);
    }

    [Fact]
    public void Load_MetadataAndOptions_SetWhatTensorsCannotSay()
    {
        byte[] file = Build("{\"__metadata__\":{\"rnnfast.nonlinearity\":\"relu\",\"rnnfast.skip\":\"1\"}," + Elman() + "}", s_sixFloats);
        RnnModel fromMetadata = ModelFile.Load(file, ModelFileFormat.Safetensors, "m");
        Assert.Equal(Activation.Relu, fromMetadata.Layers[0].Nonlinearity);
        Assert.Equal(1, fromMetadata.Options.Skip);
        RnnModel overridden = ModelFile.Load(file, ModelFileFormat.Safetensors, "m", new ModelLoadOptions { Nonlinearity = Activation.Tanh, Skip = 0 });
        Assert.Equal(Activation.Tanh, overridden.Layers[0].Nonlinearity);
        Assert.Equal(0, overridden.Options.Skip);
    }

    [Fact]
    public void FormatOf_UnknownExtension_Throws() =>
        Assert.Throws<ArgumentException>(() => ModelFile.FormatOf("model.onnx"));
}
