using System.Globalization;
using BenchmarkDotNet.Attributes;

namespace Rnn.Fast.Benchmarks;

/// <summary>
/// The shapes of issue 15's speed targets: one square layer (I = H, no head; at H = 512 an LSTM holds 8 MB of float32
/// weights) of an LSTM or a GRU, seeded PyTorch initialisation, on the default kernel, with its weight matrices in each
/// <see cref="WeightPrecision"/>. Every precision is a benchmark method with Float32 the baseline, so BenchmarkDotNet's
/// Ratio column is the reduced time over the float32 time of the same cell and H (the speed-up is 1 / Ratio).
/// <see cref="PrecisionRooflineColumn"/> adds the weight bytes, the roofline floor and the distance to it.
/// </summary>
public abstract class PrecisionBenchmarkBase
{
    [Params(CellType.Lstm, CellType.Gru)]
    public CellType Cell { get; set; }

    [ParamsSource(nameof(Sizes))]
    public int H { get; set; }

    /// <summary>H ∈ {16, 64, 128, 256, 512}, or the comma-separated sizes in RNNFAST_BENCH_HIDDEN (a subset, e.g. for a dry run).</summary>
    public static IEnumerable<int> Sizes =>
        Environment.GetEnvironmentVariable("RNNFAST_BENCH_HIDDEN") is { Length: > 0 } list
            ? list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s => int.Parse(s, CultureInfo.InvariantCulture))
            : [16, 64, 128, 256, 512];

    /// <summary>The same seeded float32 model for every precision, quantized by <see cref="RnnModel.WithPrecision(WeightPrecision)"/>.</summary>
    protected RnnModel CreateModel(WeightPrecision precision) =>
        (Cell == CellType.Lstm ? RnnModel.CreateLstm(H, H, seed: 15) : RnnModel.CreateGru(H, H, seed: 15)).WithPrecision(precision);
}

/// <summary>
/// (a) Streaming: one <c>Step</c> per call, batch 1, as a real-time caller uses it. Each invocation runs
/// <see cref="Steps"/> dependent steps over distinct inputs (the state carries over, as in a stream) and
/// OperationsPerInvoke turns the time into ns per step, as <see cref="LstmStreamingBenchmarks"/> does. Before timing,
/// each model is checked against the double-precision reference of its own (dequantized) weights.
/// </summary>
[MemoryDiagnoser]
[StepShape(gates: 0)]
[Config(typeof(PrecisionConfig))]
public class PrecisionStepBenchmarks : PrecisionBenchmarkBase
{
    /// <summary>Steps per invocation.</summary>
    public const int Steps = 64;

    private RnnModel _model = null!;
    private RnnState _state = null!;
    private float[] _inputs = [];  // [Steps, I]
    private float[] _output = [];  // [H]

    [GlobalSetup(Target = nameof(Float32))]
    public void SetupFloat32() => Setup(WeightPrecision.Float32);

    [GlobalSetup(Target = nameof(BFloat16))]
    public void SetupBFloat16() => Setup(WeightPrecision.BFloat16);

    [GlobalSetup(Target = nameof(Int8))]
    public void SetupInt8() => Setup(WeightPrecision.Int8);

    private void Setup(WeightPrecision precision)
    {
        _model = CreateModel(precision);
        _state = _model.CreateState();
        _inputs = AgreementCheck.RandomInputs(Steps * H, seed: 1);
        _output = new float[_model.OutputSize];
        AgreementCheck.Verify($"{Cell} H={H} {precision} Step", _model, (x, y) => _model.Step(x, _state, y), _inputs);
        _state.Reset();
    }

    private void StepAll()
    {
        for (int t = 0; t < Steps; t++)
        {
            _model.Step(_inputs.AsSpan(t * H, H), _state, _output);
        }
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Steps)]
    public void Float32() => StepAll();

    [Benchmark(OperationsPerInvoke = Steps)]
    public void BFloat16() => StepAll();

    [Benchmark(OperationsPerInvoke = Steps)]
    public void Int8() => StepAll();
}

/// <summary>
/// (b) A batch-1 sequence: one <c>Run</c> of T = 100 steps per invocation, per time step (OperationsPerInvoke = T), as
/// <see cref="GruSequenceBenchmarks"/> does; the state carries over from one sequence to the next. Before timing,
/// the first sequence is checked against the double-precision reference of the model's own (dequantized) weights.
/// </summary>
[MemoryDiagnoser]
[StepShape(gates: 0)]
[Config(typeof(PrecisionConfig))]
public class PrecisionSequenceBenchmarks : PrecisionBenchmarkBase
{
    /// <summary>Steps per sequence.</summary>
    public const int T = 100;

    private RnnModel _model = null!;
    private RnnState _state = null!;
    private float[] _inputs = [];   // [T, I]
    private float[] _outputs = [];  // [T, H]

    [GlobalSetup(Target = nameof(Float32))]
    public void SetupFloat32() => Setup(WeightPrecision.Float32);

    [GlobalSetup(Target = nameof(BFloat16))]
    public void SetupBFloat16() => Setup(WeightPrecision.BFloat16);

    [GlobalSetup(Target = nameof(Int8))]
    public void SetupInt8() => Setup(WeightPrecision.Int8);

    private void Setup(WeightPrecision precision)
    {
        _model = CreateModel(precision);
        _state = _model.CreateState();
        _inputs = AgreementCheck.RandomInputs(T * H, seed: 2);
        _outputs = new float[T * _model.OutputSize];
        _model.Run(_inputs, T, _state, _outputs);
        int t = 0;
        AgreementCheck.Verify($"{Cell} H={H} {precision} Run", _model, (x, y) => _outputs.AsSpan(t++ * H, H).CopyTo(y), _inputs);
        _state.Reset();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = T)]
    public void Float32() => _model.Run(_inputs, T, _state, _outputs);

    [Benchmark(OperationsPerInvoke = T)]
    public void BFloat16() => _model.Run(_inputs, T, _state, _outputs);

    [Benchmark(OperationsPerInvoke = T)]
    public void Int8() => _model.Run(_inputs, T, _state, _outputs);
}
