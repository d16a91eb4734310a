using System.Diagnostics;
using Google.Protobuf;
using Onnx;
using Rnn.Fast.IO;
using Rnn.Fast.Onnx;

namespace Rnn.Fast.Tests.Onnx;

/// <summary>
/// Hostile and unsupported ONNX files: seeded mutations of the golden exports, huge claimed sizes, external data,
/// unknown operators and the recurrent-node features Rnn.Fast refuses. Every one is a <see cref="ModelFormatException"/>
/// naming the file, the node (with its operator) or tensor, and the problem; nothing else is ever thrown.
/// </summary>
public sealed class OnnxHostileTests
{
    private const int CasesPerFile = 3000;

    private static string Golden(string name) => Path.Combine(AppContext.BaseDirectory, "Golden", "onnx", name);

    private static ModelProto Model(string name) => ModelProto.Parser.ParseFrom(File.ReadAllBytes(Golden(name + ".onnx")));

    private static ModelFormatException Refused(ModelProto model, string name = "hostile.onnx")
    {
        ModelFormatException e = Assert.Throws<ModelFormatException>(() => OnnxModelFile.Load(model.ToByteArray(), name));
        Assert.StartsWith(name + ": ", e.Message);
        return e;
    }

    public static TheoryData<string> FuzzFiles => ["lstm_bidir_stacked_sigmoid_o14_dyn", "gru_gemm_relu_o11_dyn", "lstm_learned_state_o17_dyn", "lstm_batch_first_gemm_o14_fixed"];

    [Theory]
    [MemberData(nameof(FuzzFiles))]
    public void Load_RandomMutations_OnlyModelFormatException(string name)
    {
        byte[] valid = File.ReadAllBytes(Golden(name + ".onnx"));
        var random = new Random(name.Length * 7919);
        var clock = Stopwatch.StartNew();
        int loaded = 0;
        int rejected = 0;
        for (int i = 0; i < CasesPerFile; i++)
        {
            byte[] mutated = Mutate(valid, random);
            try
            {
                RnnModel model = OnnxModelFile.Load(mutated, "fuzz");
                var y = new float[3 * 2 * model.OutputSize];
                model.Run(new float[3 * 2 * model.InputSize], 3, model.CreateState(2), y);
                loaded++;
            }
            catch (ModelFormatException e)
            {
                Assert.StartsWith("fuzz: ", e.Message);
                // An inner exception is the protobuf parser's or the model API's argument check, never a bug of ours.
                Assert.True(e.InnerException is null or InvalidProtocolBufferException or ArgumentException,
                    $"{name} case {i}: {e.InnerException?.GetType().Name}: {e.InnerException?.Message}\n{e.InnerException?.StackTrace}");
                rejected++;
            }
            catch (Exception e)
            {
                Assert.Fail($"{name} case {i}: {e.GetType().Name}: {e.Message}\n{e.StackTrace}");
            }
        }
        Assert.Equal(CasesPerFile, loaded + rejected);
        Assert.True(rejected > CasesPerFile / 4, $"Only {rejected} of {CasesPerFile} mutations were rejected; the mutator is too gentle.");
        Assert.True(loaded > 0, "No mutation loaded: the mutator only tests the parser.");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"{CasesPerFile} cases took {clock.Elapsed}.");
    }

    private static byte[] Mutate(byte[] valid, Random random)
    {
        var bytes = new List<byte>(valid);
        int mutations = 1 + random.Next(3);
        for (int m = 0; m < mutations && bytes.Count > 0; m++)
        {
            int position = random.Next(bytes.Count);
            switch (random.Next(6))
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
                case 4: // a byte set to a small number: varints (sizes, attribute values, dims, enum values)
                    bytes[position] = (byte)random.Next(16);
                    break;
                default: // a varint made huge
                    bytes.InsertRange(position, new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0x0F });
                    break;
            }
        }
        return [.. bytes];
    }

    [Fact]
    public void Load_NotProtobuf_ModelFormatException()
    {
        ModelFormatException e = Assert.Throws<ModelFormatException>(() => OnnxModelFile.Load("{\"not\": \"onnx\"}"u8.ToArray(), "x.onnx"));
        Assert.StartsWith("x.onnx: ", e.Message);
        Assert.Throws<ModelFormatException>(() => OnnxModelFile.Load([], "empty.onnx"));
    }

    [Fact]
    public void Load_HugeClaimedDims_RefusedWithoutAllocating()
    {
        ModelProto model = Model("lstm_head_o11_dyn");
        TensorProto w = model.Graph.Initializer.First(t => t.Dims.Count == 3);
        w.Dims[1] = 1L << 40;
        long before = GC.GetAllocatedBytesForCurrentThread();
        ModelFormatException e = Refused(model);
        Assert.Equal(w.Name, e.TensorName);
        Assert.Contains("too large", e.Message, StringComparison.Ordinal);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 10_000_000);

        model = Model("lstm_head_o11_dyn");
        model.Graph.Initializer.First(t => t.Dims.Count == 3).Dims[1] = 1000; // plausible, but the bytes are not there
        Assert.Contains("bytes of raw data", Refused(model).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_ConcatDoublingChain_RefusedByFoldingBudget()
    {
        ModelProto model = Model("lstm_head_o11_dyn");
        var seed = new TensorProto { Name = "seed", DataType = 1 };
        seed.Dims.Add(1024);
        seed.FloatData.AddRange(new float[1024]);
        model.Graph.Initializer.Add(seed);
        string previous = "seed";
        for (int k = 0; k < 40; k++)
        {
            var concat = new NodeProto { OpType = "Concat", Name = $"double{k}" };
            concat.Input.AddRange([previous, previous]);
            concat.Output.Add($"doubled{k}");
            concat.Attribute.Add(new AttributeProto { Name = "axis", Type = AttributeProto.Types.AttributeType.Int, I = 0 });
            model.Graph.Node.Insert(k, concat);
            previous = $"doubled{k}";
        }
        long before = GC.GetAllocatedBytesForCurrentThread();
        ModelFormatException e = Refused(model);
        Assert.Contains("(Concat)", e.TensorName, StringComparison.Ordinal);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64_000_000);
    }

    [Fact]
    public void Load_ExternalData_Refused()
    {
        ModelProto model = Model("lstm_head_o11_dyn");
        TensorProto w = model.Graph.Initializer.First(t => t.Dims.Count == 3);
        w.RawData = ByteString.Empty;
        w.DataLocation = TensorProto.Types.DataLocation.External;
        w.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = "../../etc/passwd" });
        ModelFormatException e = Refused(model);
        Assert.Equal(w.Name, e.TensorName);
        Assert.Contains("external data", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_UnknownOperator_NamesNodeAndOperator()
    {
        ModelProto model = Model("rnn_relu_bidir_softmax_o17_dyn");
        model.Graph.Node.First(n => n.OpType == "Softmax").OpType = "LogSoftmax";
        ModelFormatException e = Refused(model);
        Assert.Equal("/Softmax (LogSoftmax)", e.TensorName);
        Assert.Contains("LogSoftmax is not supported", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_CustomDomain_Refused()
    {
        ModelProto model = Model("lstm_head_o11_dyn");
        model.Graph.Node.First(n => n.OpType == "LSTM").Domain = "com.microsoft";
        Assert.Contains("domain", Refused(model).Message, StringComparison.Ordinal);
    }

    private static NodeProto Node(ModelProto model, string op) => model.Graph.Node.First(n => n.OpType == op);

    private static void SetInt(NodeProto node, string name, long value)
    {
        if (node.Attribute.FirstOrDefault(a => a.Name == name) is { } existing)
        {
            node.Attribute.Remove(existing);
        }
        node.Attribute.Add(new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value });
    }

    [Fact]
    public void Load_GruLinearBeforeReset0_RefusedClearly()
    {
        ModelProto model = Model("gru_bidir_o11_fixed");
        SetInt(Node(model, "GRU"), "linear_before_reset", 0);
        ModelFormatException e = Refused(model);
        Assert.Equal("/rnn/GRU (GRU)", e.TensorName);
        Assert.Contains("linear_before_reset=0", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_LstmInputForgetAndPeepholes_RefusedClearly()
    {
        ModelProto model = Model("lstm_head_o11_dyn");
        SetInt(Node(model, "LSTM"), "input_forget", 1);
        Assert.Contains("input_forget", Refused(model).Message, StringComparison.Ordinal);

        model = Model("lstm_head_o11_dyn");
        NodeProto lstm = Node(model, "LSTM");
        var p = new TensorProto { Name = "P", DataType = 1 };
        p.Dims.AddRange([1, 15]);
        p.FloatData.AddRange(new float[15]);
        model.Graph.Initializer.Add(p);
        while (lstm.Input.Count < 7)
        {
            lstm.Input.Add("");
        }
        lstm.Input.Add("P");
        Assert.Contains("Peephole", Refused(model).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_OtherRecurrentFeatures_Refused()
    {
        ModelProto model = Model("lstm_head_o11_dyn");
        Node(model, "LSTM").Attribute.Add(new AttributeProto { Name = "direction", Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8("reverse") });
        Assert.Contains("reverse", Refused(model).Message, StringComparison.Ordinal);

        model = Model("lstm_head_o11_dyn");
        Node(model, "LSTM").Attribute.Add(new AttributeProto { Name = "clip", Type = AttributeProto.Types.AttributeType.Float, F = 3 });
        Assert.Contains("clip", Refused(model).Message, StringComparison.Ordinal);

        model = Model("rnn_relu_bidir_softmax_o17_dyn");
        AttributeProto activations = Node(model, "RNN").Attribute.First(a => a.Name == "activations");
        activations.Strings[0] = ByteString.CopyFromUtf8("Sigmoid");
        activations.Strings[1] = ByteString.CopyFromUtf8("Sigmoid");
        Assert.Contains("Sigmoid", Refused(model).Message, StringComparison.Ordinal);

        model = Model("lstm_head_o11_dyn");
        Node(model, "LSTM").Input[4] = "x"; // sequence_lens
        Assert.Contains("sequence_lens", Refused(model).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_NoRecurrentNodeOrWrongOutput_Refused()
    {
        ModelProto model = Model("lstm_plain_o17_fixed");
        model.Graph.Output[0].Name = "x";
        Assert.Contains("no recurrent", Refused(model).Message, StringComparison.Ordinal);

        model = Model("lstm_plain_o17_fixed");
        model.Graph.Output.RemoveAt(0); // h_n first
        Assert.Contains("first output", Refused(model).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_NodeUsesUndefinedValue_Refused()
    {
        ModelProto model = Model("lstm_head_o11_dyn");
        NodeProto lstm = Node(model, "LSTM");
        model.Graph.Node.Remove(lstm);
        model.Graph.Node.Add(lstm); // after its consumers
        Assert.Contains("not defined before", Refused(model).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadPath_UsesFileNameInErrors_AndStreamMatchesBytes()
    {
        string dir = TestFiles.TempDirectory();
        try
        {
            string path = Path.Combine(dir, "broken.onnx");
            File.WriteAllBytes(path, [1, 2, 3]);
            Assert.StartsWith("broken.onnx: ", Assert.Throws<ModelFormatException>(() => OnnxModelFile.Load(path)).Message);
            Assert.Throws<FileNotFoundException>(() => OnnxModelFile.Load(Path.Combine(dir, "missing.onnx")));
            using FileStream stream = File.OpenRead(Golden("gru_bidir_o11_fixed.onnx"));
            RnnModel model = OnnxModelFile.Load(stream, "s");
            Assert.True(model.IsBidirectional);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
