using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Rnn.Fast.Internals;
using Rnn.Fast.IO;

namespace Rnn.Fast.Tests.IO;

/// <summary>
/// bf16 and int8 models in safetensors (docs/precision-files.md): saved with BF16 / I8 + F32 <c>.scale</c> matrices and
/// <c>rnnfast.weight_precision</c>, loaded back to the same precision, values and outputs bit for bit; every malformed
/// reduced file gets a <see cref="ModelFormatException"/> naming the tensor and what was expected.
/// </summary>
public sealed class PrecisionFileTests
{
    public static TheoryData<string, WeightPrecision> ReducedModels()
    {
        var data = new TheoryData<string, WeightPrecision>();
        foreach (string kind in SafetensorsTests.RoundTripModels)
        {
            data.Add(kind, WeightPrecision.BFloat16);
            data.Add(kind, WeightPrecision.Int8);
        }
        return data;
    }

    private static byte[] Save(RnnModel model)
    {
        var stream = new MemoryStream();
        ModelFile.SaveSafetensors(model, stream);
        return stream.ToArray();
    }

    private static RnnModel Load(byte[] file, string name = "m.safetensors", string? kernel = null) =>
        ModelFile.Load(file, ModelFileFormat.Safetensors, name, kernel is null ? null : new ModelLoadOptions { Kernel = kernel });

    /// <summary>The header of a safetensors file as JSON.</summary>
    private static JsonElement Header(byte[] file) =>
        JsonDocument.Parse(file.AsMemory(8, (int)BinaryPrimitives.ReadUInt64LittleEndian(file))).RootElement.Clone();

    // SHA-256 of SaveSafetensors's output for SafetensorsTests.Model(kind) as written before reduced precision existed
    // (commit d8633e7): a float32 model's file must not change by a byte.
    [Theory]
    [InlineData("lstm-head", "ED22C942A32BC95DCE0A50B4AB62B016CCC058AB798011AE8D02EC664F18A30F")]
    [InlineData("elman-mixed", "046DC98B9AB82EB089547CB9EFF5EEDCA231086C93CF8340C29032BDD1DBCCDE")]
    [InlineData("gru-bidirectional", "86C5D021662E644105DFA7404366B9CE11B46E32346012782F76D5CA8A023DB2")]
    [InlineData("lstm-skip-initial", "77F08A687DFE38B027211B0D0AC9A5F874A1651FEB457BB4F5F7ABD2E1E244FA")]
    public void SaveSafetensors_Float32_ByteIdenticalToBefore(string kind, string sha256) =>
        Assert.Equal(sha256, Convert.ToHexString(SHA256.HashData(Save(SafetensorsTests.Model(kind)))));

    [Theory]
    [MemberData(nameof(ReducedModels))]
    public void SaveSafetensors_Reduced_LoadsBackTheSameModelBitForBit(string kind, WeightPrecision precision)
    {
        RnnModel model = SafetensorsTests.Model(kind).WithPrecision(precision);
        RnnModel loaded = Load(Save(model), kernel: model.Kernel);

        Assert.Equal(precision, loaded.Precision);
        Assert.Equal(model.Kernel, loaded.Kernel);
        SafetensorsTests.AssertSameModel(model, loaded);
        if (precision == WeightPrecision.Int8)
        {
            // The stored integers and scales themselves, not a re-quantization that happens to agree.
            Int8Weights expected = model.Network.Int8Source()!, actual = loaded.Network.Int8Source()!;
            AssertSameInt8(expected.Ih, actual.Ih);
            AssertSameInt8(expected.Hh, actual.Hh);
            AssertSameInt8(expected.ReverseIh ?? [], actual.ReverseIh ?? []);
            AssertSameInt8(expected.ReverseHh ?? [], actual.ReverseHh ?? []);
            AssertSameInt8(expected.Head is null ? [] : [expected.Head], actual.Head is null ? [] : [actual.Head]);
        }

        // The same outputs on a fixed input, bit for bit, on every kernel (same kernel, same packed values).
        byte[] file = Save(model);
        const int Steps = 7, Batch = 2;
        float[] x = [.. Enumerable.Range(0, Steps * Batch * model.InputSize).Select(i => MathF.Sin(0.37f * i))];
        foreach (string kernel in RnnKernels.Available)
        {
            RnnModel original = model.WithKernel(kernel), fromFile = Load(file, kernel: kernel);
            float[] expectedY = new float[Steps * Batch * model.OutputSize], actualY = new float[expectedY.Length];
            original.Run(x, Steps, original.CreateState(Batch), expectedY);
            fromFile.Run(x, Steps, fromFile.CreateState(Batch), actualY);
            Assert.True(expectedY.SequenceEqual(actualY), $"{kind} {precision} on {kernel}: outputs differ.");
        }

        // And back to float32 on request: the dequantized model.
        RnnModel widened = loaded.WithPrecision(WeightPrecision.Float32);
        Assert.Equal(WeightPrecision.Float32, widened.Precision);
        SafetensorsTests.AssertSameModel(model, widened);
    }

    /// <summary>
    /// A model large enough (W_hh of 4·128 × 128) that its products stream reduced matrices whatever size rule the engine
    /// applies to small ones: the file's values reach the bf16 and int8 kernels, with the same outputs as the original.
    /// </summary>
    [Theory]
    [InlineData(WeightPrecision.BFloat16)]
    [InlineData(WeightPrecision.Int8)]
    public void SaveSafetensors_ReducedLargeLstm_SameOutputs(WeightPrecision precision)
    {
        RnnModel model = RnnModel.CreateLstm(16, 128, outputSize: 3, seed: 21).WithPrecision(precision);
        RnnModel loaded = Load(Save(model), kernel: model.Kernel);
        Assert.Equal(precision, loaded.Precision);
        const int Steps = 5;
        float[] x = [.. Enumerable.Range(0, Steps * model.InputSize).Select(i => MathF.Sin(0.11f * i))];
        float[] expected = new float[Steps * model.OutputSize], actual = new float[expected.Length];
        model.Run(x, Steps, model.CreateState(), expected);
        loaded.Run(x, Steps, loaded.CreateState(), actual);
        Assert.Equal(expected, actual);
        RnnState a = model.CreateState(), b = loaded.CreateState();
        float[] ya = new float[model.OutputSize], yb = new float[model.OutputSize];
        model.Step(x.AsSpan(0, model.InputSize), a, ya);
        loaded.Step(x.AsSpan(0, model.InputSize), b, yb);
        Assert.Equal(ya, yb);
    }

    private static void AssertSameInt8(Int8Matrix[] expected, Int8Matrix[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i].Values, actual[i].Values);
            Assert.True(MemoryMarshal.AsBytes(expected[i].Scales.AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(actual[i].Scales.AsSpan())));
        }
    }

    [Theory]
    [InlineData(WeightPrecision.BFloat16)]
    [InlineData(WeightPrecision.Int8)]
    public void SaveSafetensors_ReducedBiasFalseGru_NoBiasTensorsSameModel(WeightPrecision precision)
    {
        var random = new Random(2);
        LayerWeights layer = LayerWeights.Gru(2, 8, LayerWeights.Uniform(random, 24 * 2, 0.3f), LayerWeights.Uniform(random, 24 * 8, 0.3f), [], []);
        RnnModel model = RnnModel.Create([layer], new HeadWeights(8, 1, LayerWeights.Uniform(random, 8, 0.3f), [])).WithPrecision(precision);
        byte[] file = Save(model);
        Assert.DoesNotContain(Header(file).EnumerateObject(), p => p.Name.Contains("bias", StringComparison.Ordinal));
        RnnModel loaded = Load(file);
        Assert.Equal(precision, loaded.Precision);
        Assert.False(loaded.Layers[0].HasBiasIh || loaded.Layers[0].HasBiasHh || loaded.Head!.HasBias);
        SafetensorsTests.AssertSameModel(model, loaded);
    }

    [Theory]
    [InlineData(WeightPrecision.BFloat16)]
    [InlineData(WeightPrecision.Int8)]
    public void SaveSafetensors_ReducedOverAnExistingFile_ReplacedWhole(WeightPrecision precision)
    {
        string directory = TestFiles.TempDirectory();
        try
        {
            string path = Path.Combine(directory, "m.safetensors");
            ModelFile.SaveSafetensors(SafetensorsTests.Model("lstm-head"), path);
            RnnModel model = SafetensorsTests.Model("elman-mixed").WithPrecision(precision);
            ModelFile.SaveSafetensors(model, path);
            Assert.Equal(["m.safetensors"], Directory.GetFiles(directory).Select(Path.GetFileName));
            Assert.Equal(Save(model), File.ReadAllBytes(path));
        }
        finally
        {
            Directory.Delete(directory, true);
        }
    }

    [Fact]
    public void SaveSafetensors_Bf16_MatricesBF16BiasesF32AndTheKey()
    {
        RnnModel model = SafetensorsTests.Model("gru-bidirectional").WithPrecision(WeightPrecision.BFloat16);
        JsonElement header = Header(Save(model));
        Assert.Equal("bf16", header.GetProperty("__metadata__").GetProperty("rnnfast.weight_precision").GetString());
        foreach (JsonProperty tensor in header.EnumerateObject().Where(p => p.Name != "__metadata__"))
        {
            Assert.Equal(tensor.Name.Contains("weight", StringComparison.Ordinal) ? "BF16" : "F32", tensor.Value.GetProperty("dtype").GetString());
        }
        Assert.Equal(16, header.EnumerateObject().Count() - 1);   // 2 layers × 2 directions × 4 tensors
        // Each BF16 value is the exact bits of the model: its float32 weights' upper halves.
        byte[] file = Save(model);
        JsonElement hh = header.GetProperty("rnn.weight_hh_l1_reverse");
        int begin = 8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(file) + hh.GetProperty("data_offsets")[0].GetInt32();
        ReadOnlySpan<float> weights = model.Options.ReverseLayers![1].WeightHh;
        for (int i = 0; i < weights.Length; i++)
        {
            Assert.Equal(WeightQuantization.ToBFloat16(weights[i]), BinaryPrimitives.ReadUInt16LittleEndian(file.AsSpan(begin + 2 * i)));
        }
    }

    [Fact]
    public void SaveSafetensors_Int8_EachMatrixI8FollowedByItsF32Scales()
    {
        RnnModel model = SafetensorsTests.Model("lstm-head").WithPrecision(WeightPrecision.Int8);
        JsonElement header = Header(Save(model));
        Assert.Equal("int8", header.GetProperty("__metadata__").GetProperty("rnnfast.weight_precision").GetString());
        string[] names = [.. header.EnumerateObject().Select(p => p.Name).Where(n => n != "__metadata__")];
        Assert.Equal(
            [
                "rnn.weight_ih_l0", "rnn.weight_ih_l0.scale", "rnn.weight_hh_l0", "rnn.weight_hh_l0.scale", "rnn.bias_ih_l0", "rnn.bias_hh_l0",
                "rnn.weight_ih_l1", "rnn.weight_ih_l1.scale", "rnn.weight_hh_l1", "rnn.weight_hh_l1.scale", "rnn.bias_ih_l1", "rnn.bias_hh_l1",
                "head.weight", "head.weight.scale", "head.bias",
            ], names);
        foreach (string name in names)
        {
            JsonElement entry = header.GetProperty(name);
            bool matrix = name.Contains("weight", StringComparison.Ordinal) && !name.EndsWith(".scale", StringComparison.Ordinal);
            Assert.Equal(matrix ? "I8" : "F32", entry.GetProperty("dtype").GetString());
            if (name.EndsWith(".scale", StringComparison.Ordinal))
            {
                int rows = header.GetProperty(name[..^6]).GetProperty("shape")[0].GetInt32();
                Assert.Equal([rows], entry.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()));
            }
        }
    }

    [Fact]
    public void SaveSafetensors_Int8ToPath_WritesAtomicallyAndLoads()
    {
        string directory = TestFiles.TempDirectory();
        try
        {
            string path = Path.Combine(directory, "int8.safetensors");
            RnnModel model = SafetensorsTests.Model("lstm-skip-initial").WithPrecision(WeightPrecision.Int8);
            ModelFile.SaveSafetensors(model, path);
            Assert.Equal(["int8.safetensors"], Directory.GetFiles(directory).Select(Path.GetFileName));
            RnnModel loaded = ModelFile.Load(path);
            Assert.Equal(WeightPrecision.Int8, loaded.Precision);
            SafetensorsTests.AssertSameModel(model, loaded);
        }
        finally
        {
            Directory.Delete(directory, true);
        }
    }

    [Fact]
    public void Load_PyTorchBf16StateDict_LoadsAsBf16WithTheFileValues()
    {
        // tools/golden/generate.py: a PyTorch GRU + Linear, every tensor (biases too) BF16, no rnnfast metadata.
        // GoldenTests checks its outputs against PyTorch's on every kernel; here: the precision and the values.
        string path = TestFiles.Golden("gru_stacked_head.safetensors");
        RnnModel model = ModelFile.Load(path);
        Assert.Equal(WeightPrecision.BFloat16, model.Precision);
        TensorSet set = SafetensorsReader.Read(File.ReadAllBytes(path), "gru_stacked_head.safetensors");
        Assert.Equal(set.Tensors["rec.weight_hh_l1"].Data, model.Layers[1].WeightHh.ToArray());
        Assert.Equal(set.Tensors["rec.bias_ih_l0"].Data, model.Layers[0].BiasIh.ToArray());
        Assert.Equal(set.Tensors["lin.weight"].Data, model.Head!.Weight.ToArray());

        RnnModel widened = model.WithPrecision(WeightPrecision.Float32);
        SafetensorsTests.AssertSameModel(model, widened);
    }

    // ---- hand-built reduced files ----

    private static string Entry(string name, string dtype, string shape, int begin, int end) =>
        $"\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":{shape},\"data_offsets\":[{begin},{end}]}}";

    private static byte[] Floats(params float[] values) => MemoryMarshal.AsBytes(values.AsSpan()).ToArray();

    private static byte[] Bytes(params sbyte[] values) => MemoryMarshal.AsBytes(values.AsSpan()).ToArray();

    /// <summary>
    /// An int8 Elman layer (I 1, H 2): weight_ih I8 [2, 1], its scale F32 [2], weight_hh I8 [2, 2], its scale F32 [2];
    /// each piece replaceable, so every malformed case is one edit from a valid file.
    /// </summary>
    private static byte[] Int8Elman(
        string? metadata = null, sbyte[]? hh = null, float[]? hhScale = null, string hhScaleDtype = "F32", string? hhScaleShape = null,
        bool withIhScale = true, (string Name, string Dtype, string Shape, byte[] Data)[]? extra = null)
    {
        hh ??= [10, -20, 127, -127];
        hhScale ??= [0.01f, 0.02f];
        byte[] hhScaleBytes = hhScaleDtype == "F64" ? MemoryMarshal.AsBytes(hhScale.Select(s => (double)s).ToArray().AsSpan()).ToArray() : Floats(hhScale);
        var parts = new List<string>();
        var data = new List<byte>();
        void Add(string name, string dtype, string shape, byte[] bytes)
        {
            parts.Add(Entry(name, dtype, shape, data.Count, data.Count + bytes.Length));
            data.AddRange(bytes);
        }
        Add("rnn.weight_ih_l0", "I8", "[2,1]", Bytes(5, -7));
        if (withIhScale)
        {
            Add("rnn.weight_ih_l0.scale", "F32", "[2]", Floats(0.5f, 0.25f));
        }
        Add("rnn.weight_hh_l0", "I8", "[2,2]", Bytes(hh));
        Add("rnn.weight_hh_l0.scale", hhScaleDtype, hhScaleShape ?? $"[{hhScale.Length}]", hhScaleBytes);
        foreach ((string name, string dtype, string shape, byte[] bytes) in extra ?? [])
        {
            Add(name, dtype, shape, bytes);
        }
        string meta = metadata is null ? "" : $"\"__metadata__\":{{\"rnnfast.weight_precision\":\"{metadata}\"}},";
        return SafetensorsTests.Build("{" + meta + string.Join(",", parts) + "}", [.. data]);
    }

    /// <summary>A bf16 Elman layer (I 1, H 2) with F32 biases; <paramref name="hhDtype"/> F32 makes it mixed.</summary>
    private static byte[] Bf16Elman(string? metadata = null, string hhDtype = "BF16", ushort[]? hh = null)
    {
        ushort[] ih = [0x3F80, 0xBF00];                       // 1, -0.5
        hh ??= [0x3E80, 0x3E00, 0xBE80, 0x3D80];              // 0.25, 0.125, -0.25, 0.0625
        byte[] hhBytes = hhDtype == "BF16"
            ? MemoryMarshal.AsBytes(hh.AsSpan()).ToArray()
            : Floats([.. hh.Select(WeightQuantization.FromBFloat16)]);
        byte[] ihBytes = MemoryMarshal.AsBytes(ih.AsSpan()).ToArray();
        string meta = metadata is null ? "" : $"\"__metadata__\":{{\"rnnfast.weight_precision\":\"{metadata}\"}},";
        string header = "{" + meta + Entry("rnn.weight_ih_l0", "BF16", "[2,1]", 0, 4) + ","
            + Entry("rnn.weight_hh_l0", hhDtype, "[2,2]", 4, 4 + hhBytes.Length) + ","
            + Entry("rnn.bias_ih_l0", "F32", "[2]", 4 + hhBytes.Length, 12 + hhBytes.Length) + "}";
        return SafetensorsTests.Build(header, [.. ihBytes, .. hhBytes, .. Floats(0.1f, -0.2f)]);
    }

    [Fact]
    public void Load_HandBuiltInt8_KeepsTheStoredValuesAndScales()
    {
        RnnModel model = Load(Int8Elman());
        Assert.Equal(WeightPrecision.Int8, model.Precision);
        Assert.Equal([5 * 0.5f, -7 * 0.25f], model.Layers[0].WeightIh.ToArray());
        Assert.Equal([10 * 0.01f, -20 * 0.01f, 127 * 0.02f, -127 * 0.02f], model.Layers[0].WeightHh.ToArray());
        Int8Matrix hh = model.Network.Int8Source()!.Hh[0];
        Assert.Equal([10, -20, 127, -127], hh.Values);
        Assert.Equal([0.01f, 0.02f], hh.Scales);
        // Stated or not, the same model.
        Assert.Equal(model.Layers[0].WeightHh.ToArray(), Load(Int8Elman(metadata: "int8")).Layers[0].WeightHh.ToArray());
    }

    [Fact]
    public void Load_HandBuiltBf16_IsBf16Model()
    {
        RnnModel model = Load(Bf16Elman());
        Assert.Equal(WeightPrecision.BFloat16, model.Precision);
        Assert.Equal([0.25f, 0.125f, -0.25f, 0.0625f], model.Layers[0].WeightHh.ToArray());
        Assert.Equal(WeightPrecision.BFloat16, Load(Bf16Elman(metadata: "bf16")).Precision);
        Assert.Equal(WeightPrecision.Float32, Load(Bf16Elman(metadata: "float32")).Precision);
    }

    [Fact]
    public void Load_MixedBf16AndF32WithoutKey_LoadsAsFloat32TheWidest()
    {
        // Every BF16 value is exact in float32, so the widest precision loses nothing; a file that states bf16 is refused (below).
        RnnModel model = Load(Bf16Elman(hhDtype: "F32"));
        Assert.Equal(WeightPrecision.Float32, model.Precision);
        Assert.Equal([1f, -0.5f], model.Layers[0].WeightIh.ToArray());
        Assert.Equal([0.25f, 0.125f, -0.25f, 0.0625f], model.Layers[0].WeightHh.ToArray());
    }

    public static TheoryData<string, byte[], string?, string> MalformedReduced => new()
    {
        { "scale of the wrong dtype", Int8Elman(hhScaleDtype: "F64"), "rnn.weight_hh_l0.scale", "must be F32 of shape [2]" },
        { "scale missing", Int8Elman(withIhScale: false), "rnn.weight_ih_l0", "'rnn.weight_ih_l0.scale' of shape [2]" },
        { "scale of the wrong shape", Int8Elman(hhScale: [0.01f, 0.02f, 0.03f]), "rnn.weight_hh_l0.scale", "expected [2]" },
        { "scale 2-d", Int8Elman(hhScaleShape: "[2,1]"), "rnn.weight_hh_l0.scale", "expected [2]" },
        { "scale NaN", Int8Elman(hhScale: [0.01f, float.NaN]), "rnn.weight_hh_l0.scale", "a scale must be finite" },
        { "scale infinite", Int8Elman(hhScale: [float.PositiveInfinity, 0.01f]), "rnn.weight_hh_l0.scale", "a scale must be finite" },
        { "scale negative", Int8Elman(hhScale: [0.01f, -0.02f]), "rnn.weight_hh_l0.scale", "at least 0" },
        { "scale too large", Int8Elman(hhScale: [0.01f, 3e37f]), "rnn.weight_hh_l0.scale", "127 × scale finite" },
        { "I8 value -128", Int8Elman(hh: [10, -128, 127, -127]), "rnn.weight_hh_l0", "Element [0, 1] is -128" },
        { "scales without a matrix", Int8Elman(extra: [("rnn.weight_hh_l1.scale", "F32", "[2]", Floats(1, 2))]), "rnn.weight_hh_l1.scale", "no tensor 'rnn.weight_hh_l1'" },
        {
            "scales of a float matrix",
            SafetensorsTests.Build("{" + Entry("rnn.weight_ih_l0", "F32", "[1,1]", 0, 4) + "," + Entry("rnn.weight_hh_l0", "F32", "[1,1]", 4, 8) + ","
                + Entry("rnn.weight_hh_l0.scale", "F32", "[1]", 8, 12) + "}", Floats(1, 0.5f, 0.1f)),
            "rnn.weight_hh_l0.scale", "only an int8 matrix has scales"
        },
        {
            "I8 bias, with scales",
            Int8Elman(extra: [("rnn.bias_ih_l0", "I8", "[2,1]", Bytes(1, 2)), ("rnn.bias_ih_l0.scale", "F32", "[2]", Floats(1, 1))]),
            "rnn.bias_ih_l0", "only for weight matrices"
        },
        {
            "I8 initial state, with scales",
            Int8Elman(extra: [("rnn.h0_l0", "I8", "[2,1]", Bytes(1, 2)), ("rnn.h0_l0.scale", "F32", "[2]", Floats(1, 1))]),
            "rnn.h0_l0", "only for weight matrices"
        },
        { "I8 vector", Int8Elman(extra: [("rnn.h0_l0", "I8", "[2]", Bytes(1, 2))]), "rnn.h0_l0", "must be a weight matrix" },
        {
            "I8 mixed with F32 matrices",
            SafetensorsTests.Build("{" + Entry("rnn.weight_ih_l0", "F32", "[1,1]", 0, 4) + "," + Entry("rnn.weight_hh_l0", "I8", "[1,1]", 4, 5) + ","
                + Entry("rnn.weight_hh_l0.scale", "F32", "[1]", 5, 9) + "}", [.. Floats(1), 3, .. Floats(0.1f)]),
            "rnn.weight_ih_l0", "mixed precisions are not loaded"
        },
        { "bf16 stated, a matrix F32", Bf16Elman(metadata: "bf16", hhDtype: "F32"), "rnn.weight_hh_l0", "must be BF16" },
        { "int8 stated, matrices BF16", Bf16Elman(metadata: "int8"), "rnn.weight_ih_l0", "must be I8" },
        { "bf16 stated, matrices I8", Int8Elman(metadata: "bf16"), "rnnfast.weight_precision", "an int8 matrix makes an int8 model" },
        { "unknown precision", Int8Elman(metadata: "int4"), "rnnfast.weight_precision", "\"int4\" is not a weight precision" },
        { "BF16 infinity", Bf16Elman(hh: [0x3E80, 0x7F80, 0xBE80, 0x3D80]), "rnn.weight_hh_l0", "finite" },
        { "BF16 NaN", Bf16Elman(hh: [0x3E80, 0x3E00, 0xFFC1, 0x3D80]), "rnn.weight_hh_l0", "finite" },
        { "int8 data truncated", Int8Elman()[..^3], "rnn.weight_hh_l0.scale", "beyond" },
    };

    [Theory]
    [MemberData(nameof(MalformedReduced))]
    public void Load_MalformedReducedFile_ModelFormatExceptionNamingTensorAndExpectation(string what, byte[] file, string? tensor, string expected)
    {
        var e = Assert.Throws<ModelFormatException>(() => Load(file, "bad.safetensors"));
        Assert.StartsWith("bad.safetensors: ", e.Message);
        Assert.True(e.Message.Contains(expected, StringComparison.Ordinal), $"{what}: '{e.Message}' should mention '{expected}'.");
        if (tensor is not null)
        {
            Assert.True(tensor == e.TensorName, $"{what}: '{e.Message}' should name '{tensor}'.");
        }
    }

    [Fact]
    public void Load_Int8OffsetsOverlapping_Refused()
    {
        byte[] file = Int8Elman();
        string header = Encoding.UTF8.GetString(file, 8, (int)BinaryPrimitives.ReadUInt64LittleEndian(file));
        // weight_hh [2,2] I8 starts at 10; move it onto the end of weight_ih's scale.
        byte[] overlapping = SafetensorsTests.Build(header.Replace("[10,14]", "[9,13]", StringComparison.Ordinal), file[(8 + header.Length)..]);
        var e = Assert.Throws<ModelFormatException>(() => Load(overlapping, "bad.safetensors"));
        Assert.Contains("overlap", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Write_Bf16TensorWithANonBf16Value_RefusedBeforeAnyByte()
    {
        var stream = new MemoryStream();
        Assert.Throws<ArgumentException>(() => SafetensorsWriter.Write(stream,
            [new Tensor("w", [1, 2], [1f, 1.0001f], TensorType.BF16)], new Dictionary<string, string>()));
        Assert.Equal(0, stream.Length);
    }
}
