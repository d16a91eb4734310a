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

/// <summary>
/// One LSTM training step (I = H = 128, B = 16, T = 200, Adam) with the MSE loss on every step or, through the mask, on
/// the last step only. With the loss only at the end, the gradient vanishes back through time; without a flush to zero
/// it decays through the subnormals, and every x86 multiply of one is a microcode assist.
/// </summary>
[MemoryDiagnoser]
public class LastStepLoss
{
    private const int T = 200, B = 16, H = 128;
    private Trainer _trainer = null!;
    private float[] _x = [], _y = [], _mask = [];

    [Params("every", "last")]
    public string Loss { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        var model = TrainableModel.From(RnnModel.CreateLstm(H, H, outputSize: 1, seed: 1));
        _trainer = new Trainer(model, new Adam(model, 1e-6f), LossFunction.MeanSquaredError, T, B);
        _x = [.. Enumerable.Range(0, T * B * H).Select(i => 0.9f * MathF.Sin(0.37f * i))];
        _y = [.. Enumerable.Range(0, T * B).Select(i => 0.5f + 0.4f * MathF.Cos(i))];
        _mask = [.. Enumerable.Range(0, T * B).Select(i => Loss == "every" || i >= (T - 1) * B ? 1f : 0f)];
    }

    [Benchmark]
    public TrainStepResult Step() => _trainer.Step(_x, T, _y, _mask);
}

/// <summary>
/// Adam steps over an LSTM (I = H = 32) whose gradients went to zero after one tiny one (1e-17): m and v decay
/// geometrically, and v (β₂ = 0.999) would spend most of these 20,000 steps in the subnormals. Per Adam step.
/// </summary>
[MemoryDiagnoser]
public class AdamDecay
{
    private const int Steps = 20_000;
    private TrainableModel _model = null!;
    private Adam _adam = null!;

    [GlobalSetup]
    public void Setup() => _model = TrainableModel.From(RnnModel.CreateLstm(32, 32, seed: 1));

    [IterationSetup]
    public void Fresh()
    {
        _adam = new Adam(_model, 1e-3f);
        foreach (Parameter p in _model.Parameters)
        {
            p.SetGradients([.. Enumerable.Repeat(1e-17f, p.Count)]); // logical elements only: the padding stays zero
        }
        _adam.Step();
        _model.ZeroGradients();
    }

    [Benchmark(OperationsPerInvoke = Steps)]
    public void Step()
    {
        for (int i = 0; i < Steps; i++)
        {
            _adam.Step();
        }
    }
}
