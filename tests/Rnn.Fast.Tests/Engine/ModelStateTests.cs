namespace Rnn.Fast.Tests.Engine;

/// <summary>What the model and state promise beyond the numbers: immutability, snapshots, sizes that cannot fit.</summary>
public sealed class ModelStateTests
{
    private static (RnnModel Model, float[] H0, float[] C0) LstmWithInitialState()
    {
        float[] h0 = [0.5f, -0.25f, 0.125f], c0 = [1f, 2f, -1f];
        LayerWeights layer = LayerWeights.Random(CellType.Lstm, 2, 3, new Random(1));
        var options = new RnnModelOptions { InitialHidden = [h0], InitialCell = [c0] };
        return (RnnModel.Create([layer], options: options), h0, c0);
    }

    [Fact]
    public void Create_OptionsArraysChangedAfterwards_ModelUnchanged()
    {
        (RnnModel model, float[] h0, float[] c0) = LstmWithInitialState();
        h0[0] = 99f;
        c0[1] = 99f;
        RnnState state = model.CreateState();
        Assert.Equal(0.5f, state.Hidden(0)[0]);
        Assert.Equal(2f, state.Cell(0)[1]);
    }

    [Fact]
    public void Options_ReturnedArraysChanged_ModelUnchanged()
    {
        (RnnModel model, _, _) = LstmWithInitialState();
        model.Options.InitialHidden![0]![0] = 99f;
        Assert.Equal(0.5f, model.CreateState().Hidden(0)[0]);
        Assert.Equal(0.5f, model.Options.InitialHidden![0]![0]);
    }

    [Fact]
    public void CopyFrom_Snapshot_RestoresEveryLayerAndStream()
    {
        RnnModel model = RnnModel.CreateLstm(2, 5, layers: 2, outputSize: 1, seed: 3);
        RnnState state = model.CreateState(2), snapshot = model.CreateState(2);
        float[] x = [0.1f, 0.2f, -0.3f, 0.4f];
        var y = new float[2];
        model.Step(x, state, y);
        snapshot.CopyFrom(state);
        var expected = new float[2];
        model.Step(x, state, expected);

        model.Step(x, state, y);          // move on, then go back to the snapshot
        state.CopyFrom(snapshot);
        model.Step(x, state, y);
        Assert.Equal(expected, y);
    }

    [Fact]
    public void CopyFrom_OtherModelOrBatch_Throws()
    {
        RnnModel model = RnnModel.CreateLstm(2, 5);
        Assert.Throws<ArgumentException>(() => model.CreateState(2).CopyFrom(model.CreateState(3)));
        Assert.Throws<ArgumentException>(() => model.CreateState().CopyFrom(RnnModel.CreateLstm(2, 5).CreateState()));
    }

    [Theory]
    [InlineData(1 << 29)]
    [InlineData(int.MaxValue)]
    public void CreateState_BatchTooLargeForArrays_ThrowsNamingBatch(int batch)
    {
        RnnModel model = RnnModel.CreateLstm(4, 32);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => model.CreateState(batch));
        Assert.Equal("batch", e.ParamName);
    }

    [Fact]
    public void Run_StepsTimesBatchBeyondInt_ReportsTheTrueLength()
    {
        RnnModel model = RnnModel.CreateLstm(4, 8);
        var e = Assert.Throws<ArgumentException>(() => model.Run(new float[4], int.MaxValue, model.CreateState(), new float[8]));
        Assert.Equal("inputs", e.ParamName);
        Assert.Contains("8589934588", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("-", e.Message.Split('(')[0], StringComparison.Ordinal);
    }

    [Fact]
    public void Run_BidirectionalLongSequence_MemoryIsTwoJoinedOutputsNotTheWholeGateSequence()
    {
        // Issue: a bidirectional run over a long input once held every step's gates of both directions at once.
        // Now each direction runs in chunks and only each layer's joined output [T·B, 2H rounded up] is kept, twice.
        RnnModel model = RnnModel.Create([LayerWeights.Random(CellType.Lstm, 1, 8, new Random(1))],
            options: new RnnModelOptions { ReverseLayers = [LayerWeights.Random(CellType.Lstm, 1, 8, new Random(2))] });
        const int steps = 200_000;
        var x = new float[steps];
        var y = new float[steps * 16];
        RnnState state = model.CreateState();
        long before = GC.GetAllocatedBytesForCurrentThread();
        model.Run(x, steps, state, y);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        int lanes = model.Kernel switch { "Avx512" => 16, "Avx2Fma" => 8, "Vector128" => 4, _ => 1 };
        long joined = (long)steps * ((16 + lanes - 1) / lanes * lanes) * sizeof(float);
        Assert.True(allocated <= 2 * joined * 1.05 + 4096, $"allocated {allocated} bytes for two joined outputs of {joined} bytes");
    }
}
