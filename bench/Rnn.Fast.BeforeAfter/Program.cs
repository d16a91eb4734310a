using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Perfolizer.Horology;
using Rnn.Fast;
using Rnn.Fast.Training;

// One short in-process job per case (3 warm-up + 7 × 250 ms): enough for a before/after ratio on a quiet machine.
IConfig config = ManualConfig.CreateMinimumViable()
    .AddJob(Job.Default.WithLaunchCount(1).WithWarmupCount(3).WithIterationCount(7)
        .WithIterationTime(TimeInterval.FromMilliseconds(250)).WithToolchain(InProcessEmitToolchain.Instance).WithId("BeforeAfter"))
    .AddColumn(StatisticColumn.Median, StatisticColumn.Min)
    .AddDiagnoser(BenchmarkDotNet.Diagnosers.MemoryDiagnoser.Default)
    .AddExporter(BenchmarkDotNet.Exporters.MarkdownExporter.GitHub)
    .WithSummaryStyle(SummaryStyle.Default.WithTimeUnit(TimeUnit.Nanosecond));
BenchmarkSwitcher.FromAssembly(typeof(Streaming).Assembly).Run(args, config);

/// <summary>One streaming step, batch 1, default kernel: LSTM/GRU with I = H, and the audio shape (I = 1, 1-output head).</summary>
[MemoryDiagnoser]
public class Streaming
{
    private RnnModel _model = null!;
    private RnnState _state = null!;
    private float[] _x = [], _y = [];

    [Params("lstm", "gru", "lstm-audio")]
    public string Shape { get; set; } = "lstm";

    [Params(16, 32, 128, 512)]
    public int H { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _model = Shape switch
        {
            "gru" => RnnModel.CreateGru(H, H, seed: 1),
            "lstm-audio" => RnnModel.CreateLstm(1, H, outputSize: 1, seed: 1),
            _ => RnnModel.CreateLstm(H, H, seed: 1),
        };
        _state = _model.CreateState();
        _x = [.. Enumerable.Range(0, _model.InputSize).Select(i => MathF.Sin(i))];
        _y = new float[_model.OutputSize];
    }

    [Benchmark]
    public void Step() => _model.Step(_x, _state, _y);
}

/// <summary>A T = 100 LSTM sequence (I = H) of B streams, default kernel; the state is carried on between calls.</summary>
[MemoryDiagnoser]
public class Sequence
{
    private RnnModel _model = null!;
    private RnnState _state = null!;
    private float[] _x = [], _y = [];

    [Params(32, 128, 512)]
    public int H { get; set; }

    [Params(1, 16)]
    public int B { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _model = RnnModel.CreateLstm(H, H, seed: 1);
        _state = _model.CreateState(B);
        _x = [.. Enumerable.Range(0, 100 * B * H).Select(i => 0.5f * MathF.Sin(i))];
        _y = new float[100 * B * H];
    }

    [Benchmark]
    public void Run() => _model.Run(_x, 100, _state, _y);
}

/// <summary>One training step (forward + BPTT + Adam, MSE on every step, T = 100) of an LSTM, I = H.</summary>
[MemoryDiagnoser]
public class Training
{
    private Trainer _trainer = null!;
    private float[] _x = [], _y = [];

    [Params(32, 128)]
    public int H { get; set; }

    [Params(1, 16)]
    public int B { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var model = TrainableModel.From(RnnModel.CreateLstm(H, H, seed: 1));
        _trainer = new Trainer(model, new Adam(model, 1e-5f), LossFunction.MeanSquaredError, 100, B);
        _x = [.. Enumerable.Range(0, 100 * B * H).Select(i => 0.5f * MathF.Sin(i))];
        _y = [.. Enumerable.Range(0, 100 * B * H).Select(i => 0.25f * MathF.Cos(i))];
    }

    [Benchmark]
    public TrainStepResult Step() => _trainer.Step(_x, 100, _y);
}
