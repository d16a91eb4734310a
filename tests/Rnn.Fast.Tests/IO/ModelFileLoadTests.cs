using Rnn.Fast.IO;

namespace Rnn.Fast.Tests.IO;

/// <summary><c>ModelFile.Load(Stream, format)</c> and <c>Load(ReadOnlyMemory&lt;byte&gt;, format)</c> load what <c>Load(path)</c> loads.</summary>
public sealed class ModelFileLoadTests
{
    private static readonly RnnModel s_model = RnnModel.CreateLstm(2, 5, layers: 2, outputSize: 3, headActivation: Activation.Tanh, seed: 11);

    private static byte[] Bytes()
    {
        var stream = new MemoryStream();
        ModelFile.SaveSafetensors(s_model, stream);
        return stream.ToArray();
    }

    public static TheoryData<string> Streams => ["exposed buffer", "exposed buffer at an offset", "unexposed buffer", "file", "non-seekable"];

    [Theory]
    [MemberData(nameof(Streams))]
    public void Load_Stream_SameModelAsTheBytes(string kind)
    {
        byte[] bytes = Bytes();
        string? path = null;
        Stream stream;
        switch (kind)
        {
            case "exposed buffer":
                stream = new MemoryStream();
                stream.Write(bytes);
                stream.Position = 0;
                break;
            case "exposed buffer at an offset":
                stream = new MemoryStream();
                stream.Write([1, 2, 3]);
                stream.Write(bytes);
                stream.Position = 3;
                break;
            case "unexposed buffer":
                stream = new MemoryStream(bytes, writable: false);
                break;
            case "file":
                path = Path.Combine(TestFiles.TempDirectory(), "model.safetensors");
                File.WriteAllBytes(path, bytes);
                stream = File.OpenRead(path);
                break;
            default:
                stream = new NonSeekableStream(bytes);
                break;
        }
        using (stream)
        {
            AssertSame(ModelFile.Load(stream, ModelFileFormat.Safetensors));
        }
        if (path is not null)
        {
            Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
        }
    }

    [Fact]
    public void Load_Memory_SameModel() => AssertSame(ModelFile.Load(Bytes().AsMemory(), ModelFileFormat.Safetensors));

    [Fact]
    public void Load_MemoryWithOptions_OptionsApply()
    {
        RnnModel loaded = ModelFile.Load(Bytes(), ModelFileFormat.Safetensors, new ModelLoadOptions { HeadActivation = Activation.Sigmoid, Kernel = "Scalar" });
        Assert.Equal(Activation.Sigmoid, loaded.Head!.Activation);
        Assert.Equal("Scalar", loaded.Kernel);
    }

    [Fact]
    public void Load_MalformedMemoryAndStream_ModelFormatExceptionNamesTheSource()
    {
        byte[] truncated = Bytes()[..100];
        var fromMemory = Assert.Throws<ModelFormatException>(() => ModelFile.Load(truncated.AsMemory(), ModelFileFormat.Safetensors));
        Assert.Contains("(memory)", fromMemory.Message, StringComparison.Ordinal);
        var fromStream = Assert.Throws<ModelFormatException>(() => ModelFile.Load(new NonSeekableStream(truncated), ModelFileFormat.Safetensors));
        Assert.Contains("(stream)", fromStream.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_NamStream_SameAsPath()
    {
        string path = TestFiles.Fixture("nam-lstm-example.nam");
        RnnModel expected = ModelFile.Load(path);
        using FileStream stream = File.OpenRead(path);
        RnnModel loaded = ModelFile.Load(stream, ModelFileFormat.Nam);
        Assert.Equal(expected.Layers[0].WeightHh.ToArray(), loaded.Layers[0].WeightHh.ToArray());
        Assert.Equal(expected.Options.InitialHidden![0], loaded.Options.InitialHidden![0]);
    }

    [Fact]
    public void Load_NullStream_Throws() => Assert.Throws<ArgumentNullException>(() => ModelFile.Load((Stream)null!, ModelFileFormat.Safetensors));

    private static void AssertSame(RnnModel loaded)
    {
        Assert.Equal(s_model.Layers.Count, loaded.Layers.Count);
        for (int l = 0; l < s_model.Layers.Count; l++)
        {
            Assert.Equal(s_model.Layers[l].WeightIh.ToArray(), loaded.Layers[l].WeightIh.ToArray());
            Assert.Equal(s_model.Layers[l].WeightHh.ToArray(), loaded.Layers[l].WeightHh.ToArray());
        }
        Assert.Equal(s_model.Head!.Weight.ToArray(), loaded.Head!.Weight.ToArray());
        Assert.Equal(Activation.Tanh, loaded.Head.Activation);
    }

    /// <summary>A read-only stream that cannot seek or say its length, like a network or decompression stream.</summary>
    private sealed class NonSeekableStream(byte[] bytes) : Stream
    {
        private readonly MemoryStream _inner = new(bytes, writable: false);

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        // Short reads, as a network stream gives.
        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, Math.Min(count, 7));
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
