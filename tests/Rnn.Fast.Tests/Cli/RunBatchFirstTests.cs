using Rnn.Fast.Cli;
using Rnn.Fast.IO;

namespace Rnn.Fast.Tests.Cli;

/// <summary>
/// <c>rnnfast run --batch-first</c>: a 3-d .npy input read as [B, T, I] and written back as [B, T, O]; the model file's
/// <c>rnnfast.batch_first</c> chooses the layout unless a flag says otherwise.
/// </summary>
public sealed class RunBatchFirstTests : IDisposable
{
    private const int B = 3, T = 5, I = 2, O = 2;
    private readonly string _directory = TestFiles.TempDirectory();
    private readonly RnnModel _model = RnnModel.CreateGru(I, 4, outputSize: O, seed: 9);
    private readonly float[] _batchFirstInput = [.. Enumerable.Range(0, B * T * I).Select(i => MathF.Sin(0.7f * i))];

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string PathOf(string name) => Path.Combine(_directory, name);

    /// <summary>PyTorch's batch_first output [B, T, O]: the model run on the time-major transpose, transposed back.</summary>
    private float[] ExpectedBatchFirst()
    {
        var y = new float[T * B * O];
        _model.Run(RunCommand.Transpose(_batchFirstInput, B, T, I), T, _model.CreateState(B), y);
        return RunCommand.Transpose(y, T, B, O);
    }

    private void WriteInput() =>
        SignalFile.Write(PathOf("in.npy"), new Signal(_batchFirstInput, B, T, I) { Rank = 3 }, WavFormat.Float32(1));

    [Fact]
    public void Run_BatchFirstFlag_ReadsBtiWritesBto()
    {
        ModelFile.SaveSafetensors(_model, PathOf("m.safetensors"));
        WriteInput();
        Assert.Equal(0, RunCommand.Execute(PathOf("m.safetensors"), PathOf("in.npy"), PathOf("out.npy"), batchFirst: true));
        Signal output = NpyFile.Read(PathOf("out.npy"));
        Assert.Equal((B, T, O), (output.Steps, output.Batch, output.Channels));   // the npy shape [B, T, O]
        Assert.Equal(ExpectedBatchFirst(), output.Data);
    }

    [Fact]
    public void Run_ModelFileRecordsBatchFirst_FollowsItUnlessTimeMajorIsGiven()
    {
        // The exporter's writer, from plain lists: the model's own weights with rnnfast.batch_first = true.
        ModelFile.SaveSafetensors(_model, PathOf("plain.safetensors"));
        Python.Run(Python.Plain, """
            import json, struct, rnnfast_export as e
            raw = open('plain.safetensors', 'rb').read()
            n = struct.unpack('<Q', raw[:8])[0]
            header = json.loads(raw[8:8 + n])
            data = raw[8 + n:]
            tensors = {}
            for name, entry in header.items():
                if name == '__metadata__':
                    continue
                b, end = entry['data_offsets']
                values = list(struct.unpack('<%df' % ((end - b) // 4), data[b:end]))
                tensors[name] = (entry['shape'], values)
            e.write_safetensors('m.safetensors', tensors, e.rnnfast_metadata(1, None, 'identity', 0, True))
            """, _directory);
        Assert.True(ModelFile.ReadBatchFirst(PathOf("m.safetensors")));
        WriteInput();

        Assert.Equal(0, RunCommand.Execute(PathOf("m.safetensors"), PathOf("in.npy"), PathOf("out.npy")));
        Assert.Equal(ExpectedBatchFirst(), NpyFile.Read(PathOf("out.npy")).Data);

        // --time-major: the same file read as [T, B, I] = [3, 5, 2].
        Assert.Equal(0, RunCommand.Execute(PathOf("m.safetensors"), PathOf("in.npy"), PathOf("tm.npy"), batchFirst: false));
        var expected = new float[B * T * O];
        _model.Run(_batchFirstInput, B, _model.CreateState(T), expected);
        Signal timeMajor = NpyFile.Read(PathOf("tm.npy"));
        Assert.Equal((B, T, O), (timeMajor.Steps, timeMajor.Batch, timeMajor.Channels));
        Assert.Equal(expected, timeMajor.Data);
    }

    [Fact]
    public void Run_BatchFirstFlagOnOneStream_SameAsTimeMajor()
    {
        ModelFile.SaveSafetensors(_model, PathOf("m.safetensors"));
        SignalFile.Write(PathOf("in.npy"), new Signal(_batchFirstInput, B * T, 1, I) { Rank = 2 }, WavFormat.Float32(1));
        Assert.Equal(0, RunCommand.Execute(PathOf("m.safetensors"), PathOf("in.npy"), PathOf("a.npy"), batchFirst: true));
        Assert.Equal(0, RunCommand.Execute(PathOf("m.safetensors"), PathOf("in.npy"), PathOf("b.npy")));
        Assert.Equal(NpyFile.Read(PathOf("b.npy")).Data, NpyFile.Read(PathOf("a.npy")).Data);
    }
}
