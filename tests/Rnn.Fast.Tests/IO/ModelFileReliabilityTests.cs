using System.Text;
using Rnn.Fast.IO;

namespace Rnn.Fast.Tests.IO;

/// <summary>
/// Issue 12, the model-file side: hostile paths and contents give the documented exception naming the file, and what
/// a file cannot say (the nn.RNN nonlinearity) is reported as assumed rather than silently guessed.
/// </summary>
public sealed class ModelFileReliabilityTests : IDisposable
{
    private readonly string _directory = TestFiles.TempDirectory();

    public void Dispose() => Directory.Delete(_directory, true);

    private string PathOf(string name) => Path.Combine(_directory, name);

    // ---- 8, 9, 18: only regular files are read ----

    [Fact]
    public void Load_DeviceBehindAModelExtension_IOExceptionBeforeReading()
    {
        if (!File.Exists("/dev/zero"))
        {
            return; // Linux only
        }
        File.CreateSymbolicLink(PathOf("zero.safetensors"), "/dev/zero");
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<IOException>(() => ModelFile.Load(PathOf("zero.safetensors")));
        Assert.Contains("zero.safetensors", e.Message);
        Assert.Contains("is a character device, not a regular file", e.Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 16 << 20);
    }

    [Fact]
    public void Load_Directory_IOExceptionSaysSo()
    {
        Directory.CreateDirectory(PathOf("m.nam"));
        var e = Assert.Throws<IOException>(() => ModelFile.Load(PathOf("m.nam")));
        Assert.Contains("m.nam: is a directory, not a file", e.Message);
        Assert.IsType<FileNotFoundException>(Assert.ThrowsAny<IOException>(() => ModelFile.Load(PathOf("none.nam"))));
    }

    [Fact]
    public void Load_EmptyFile_ModelFormatException()
    {
        File.WriteAllBytes(PathOf("empty.safetensors"), []);
        Assert.StartsWith("empty.safetensors: ", Assert.Throws<ModelFormatException>(() => ModelFile.Load(PathOf("empty.safetensors"))).Message);
    }

    // ---- 14: nested arrays claiming a huge shape ----

    [Fact]
    public void Load_StateDictJsonWithHugeNestedShape_ModelFormatExceptionNamingFileAndTensor()
    {
        // Each level's first element is the next level, the rest are numbers: 8 levels of 400 claim 400^8 = 6.5e20
        // elements (the product wraps a long) in a file of a few kilobytes.
        string nested = "0";
        for (int level = 0; level < 8; level++)
        {
            nested = "[" + nested + string.Concat(Enumerable.Repeat(",0", 399)) + "]";
        }
        string json = "{\"model_data\": {\"unit_type\": \"RNN\"}, \"state_dict\": {\"rec.weight_ih_l0\": " + nested + ", \"rec.weight_hh_l0\": [[0.5]]}}";
        var e = Assert.Throws<ModelFormatException>(() => ModelFile.Load(Encoding.UTF8.GetBytes(json), ModelFileFormat.StateDictJson, "huge.json"));
        Assert.Equal("huge.json", e.FileName);
        Assert.Equal("rec.weight_ih_l0", e.TensorName);
        Assert.Contains("more elements than a tensor can hold", e.Message);

        File.WriteAllText(PathOf("huge.json"), json);
        Assert.StartsWith("huge.json: ", Assert.Throws<ModelFormatException>(() => ModelFile.Load(PathOf("huge.json"))).Message);
    }

    // ---- 17: a bad kernel is the caller's argument, not a bad file ----

    [Fact]
    public void Load_UnknownKernel_ArgumentExceptionNotModelFormatException()
    {
        var e = Assert.Throws<ArgumentException>(() => ModelFile.Load(TestFiles.Fixture("nam-lstm-example.nam"), new ModelLoadOptions { Kernel = "Bogus" }));
        Assert.Equal("options", e.ParamName);
        Assert.Contains("Unknown kernel 'Bogus'", e.Message);
    }

    // ---- 19: a UTF-8 byte order mark, as Windows editors write it ----

    [Fact]
    public void Load_NamAndJsonWithUtf8Bom_LoadLikeWithout()
    {
        byte[] nam = File.ReadAllBytes(TestFiles.Fixture("nam-lstm-example.nam"));
        File.WriteAllBytes(PathOf("bom.nam"), [0xEF, 0xBB, 0xBF, .. nam]);
        RnnModel plain = ModelFile.Load(TestFiles.Fixture("nam-lstm-example.nam"));
        RnnModel withBom = ModelFile.Load(PathOf("bom.nam"));
        Assert.Equal(plain.Layers[0].WeightIh.ToArray(), withBom.Layers[0].WeightIh.ToArray());

        string json = StateDictJsonTests.Json(RnnModel.CreateGru(1, 3, outputSize: 1, seed: 2), "GRU", 1);
        byte[] bomJson = [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(json)];
        Assert.Equal(1, ModelFile.Load(bomJson, ModelFileFormat.StateDictJson, "bom.json").Options.Skip);
    }

    // ---- 3: the nn.RNN nonlinearity, which a state_dict cannot hold ----

    private static byte[] StateDict(RnnModel model, bool withNonlinearity)
    {
        (List<Tensor> tensors, Dictionary<string, string> metadata) = ModelExporter.Export(model);
        if (!withNonlinearity)
        {
            metadata.Remove(StateDictMapper.NonlinearityKey);
        }
        var stream = new MemoryStream();
        SafetensorsWriter.Write(stream, tensors, metadata);
        return stream.ToArray();
    }

    [Fact]
    public void Load_ElmanStateDictWithoutNonlinearity_TanhMarkedAssumed()
    {
        RnnModel relu = RnnModel.Create([LayerWeights.Random(CellType.Elman, 2, 4, new Random(1), Activation.Relu)]);
        byte[] plain = StateDict(relu, withNonlinearity: false);

        RnnModel assumed = ModelFile.Load(plain, ModelFileFormat.Safetensors, "rnn.safetensors", null, out ModelFileDetails details);
        Assert.Equal(Activation.Tanh, assumed.Layers[0].Nonlinearity);
        Assert.True(details.NonlinearityAssumed);

        RnnModel given = ModelFile.Load(plain, ModelFileFormat.Safetensors, "rnn.safetensors", new ModelLoadOptions { Nonlinearity = Activation.Relu }, out details);
        Assert.Equal(Activation.Relu, given.Layers[0].Nonlinearity);
        Assert.False(details.NonlinearityAssumed);

        ModelFile.Load(StateDict(relu, withNonlinearity: true), ModelFileFormat.Safetensors, "rnn.safetensors", null, out details);
        Assert.False(details.NonlinearityAssumed);
        // LSTM and GRU have no choice to make.
        ModelFile.Load(StateDict(RnnModel.CreateLstm(2, 3, seed: 1), withNonlinearity: false), ModelFileFormat.Safetensors, "lstm.safetensors", null, out details);
        Assert.False(details.NonlinearityAssumed);
    }

    // ---- 5: the sample rate a .nam file names ----

    [Fact]
    public void Load_Nam_DetailsGiveTheSampleRate_AndRejectANonsenseOne()
    {
        ModelFile.Load(TestFiles.Fixture("nam-lstm-example.nam"), null, out ModelFileDetails details);
        Assert.Equal(48000, details.SampleRate);
        Assert.Equal(ModelFileFormat.Nam, details.Format);

        string nam = File.ReadAllText(TestFiles.Fixture("nam-lstm-example.nam"));
        foreach (string bad in new[] { "0", "-48000", "\"fast\"" })
        {
            byte[] content = Encoding.UTF8.GetBytes(nam.Replace("\"sample_rate\": 48000", $"\"sample_rate\": {bad}", StringComparison.Ordinal));
            var e = Assert.Throws<ModelFormatException>(() => ModelFile.Load(content, ModelFileFormat.Nam, "rate.nam"));
            Assert.Equal("sample_rate", e.TensorName);
        }
    }

    // ---- 25: bias=False layers keep PyTorch's parameter count through save and load ----

    [Fact]
    public void SaveSafetensors_BiasFalseGru_RoundTripsWithoutBiasTensorsAnd240Parameters()
    {
        var random = new Random(2);
        LayerWeights layer = LayerWeights.Gru(2, 8, LayerWeights.Uniform(random, 24 * 2, 0.3f), LayerWeights.Uniform(random, 24 * 8, 0.3f), [], []);
        HeadWeights head = new(8, 1, LayerWeights.Uniform(random, 8, 0.3f), []);
        RnnModel model = RnnModel.Create([layer], head);
        (List<Tensor> tensors, _) = ModelExporter.Export(model);
        Assert.DoesNotContain(tensors, t => t.Name.Contains("bias", StringComparison.Ordinal));

        var stream = new MemoryStream();
        ModelFile.SaveSafetensors(model, stream);
        RnnModel back = ModelFile.Load(stream.ToArray(), ModelFileFormat.Safetensors, "gru.safetensors");
        Assert.False(back.Layers[0].HasBiasIh || back.Layers[0].HasBiasHh || back.Head!.HasBias);
        Assert.Equal(240, back.Layers[0].ParameterCount);
        Assert.Equal(8, back.Head.ParameterCount);
    }

    // ---- 16: write errors name the destination, not the temporary file ----

    [Fact]
    public void SaveSafetensors_FolderMissing_ErrorNamesThePathNotTheTemporaryFile()
    {
        string path = PathOf("gone/m.safetensors");
        var e = Assert.Throws<IOException>(() => ModelFile.SaveSafetensors(RnnModel.CreateLstm(1, 2, seed: 1), path));
        Assert.StartsWith(path + ": cannot write", e.Message);
        Assert.DoesNotContain(".tmp", e.Message);
    }
}
