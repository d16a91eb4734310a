using Rnn.Fast.Baselines;
using BenchmarkDotNet.Attributes;

namespace Rnn.Fast.Benchmarks;

/// <summary>
/// Streaming step latency, batch 1, I = H: one <see cref="RnnModel.Step"/> per sample, the way a
/// real-time caller uses the library. Each invocation runs <see cref="StreamingSetup.Steps"/> dependent
/// steps over distinct inputs (the state carries from step to step, as in a real stream), and
/// OperationsPerInvoke turns the time into ns per step; at H = 16 a step is tens of ns, too short
/// to time alone.
/// </summary>
[MemoryDiagnoser]
[StepShape(gates: 4)]
public class LstmStreamingBenchmarks
{
    private StreamingSetup _setup = null!;

    public static IEnumerable<string> Kernels => RnnKernels.Available;

    [ParamsSource(nameof(Kernels))]
    public string Kernel { get; set; } = "";

    [Params(16, 32, 64, 128, 256, 512)]
    public int H { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        RnnModel model = RnnModel.CreateLstm(H, H, kernel: Kernel);
        var naive = new NaiveLstm(model.Layers[0]);
        _setup = new StreamingSetup(model, naive.Step, naive.Reset);
    }

    /// <summary>The naive scalar loop over PyTorch-layout weights (the same for every Kernel value).</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = StreamingSetup.Steps)]
    public void Naive() => _setup.RunNaive();

    [Benchmark(OperationsPerInvoke = StreamingSetup.Steps)]
    public void Step() => _setup.RunModel();
}

/// <summary>As <see cref="LstmStreamingBenchmarks"/>, for an Elman RNN with tanh.</summary>
[MemoryDiagnoser]
[StepShape(gates: 1)]
public class ElmanStreamingBenchmarks
{
    private StreamingSetup _setup = null!;

    public static IEnumerable<string> Kernels => RnnKernels.Available;

    [ParamsSource(nameof(Kernels))]
    public string Kernel { get; set; } = "";

    [Params(16, 32, 64, 128, 256, 512)]
    public int H { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        RnnModel model = RnnModel.CreateElman(H, H, Activation.Tanh, kernel: Kernel);
        var naive = new NaiveElman(model.Layers[0]);
        _setup = new StreamingSetup(model, naive.Step, naive.Reset);
    }

    /// <summary>The naive scalar loop over PyTorch-layout weights (the same for every Kernel value).</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = StreamingSetup.Steps)]
    public void Naive() => _setup.RunNaive();

    [Benchmark(OperationsPerInvoke = StreamingSetup.Steps)]
    public void Step() => _setup.RunModel();
}

/// <summary>
/// The real-time audio shape: one sample in (I = 1), a small LSTM, one sample out through a dense head
/// (O = 1), streaming one step per sample.
/// </summary>
[MemoryDiagnoser]
[StepShape(gates: 4, input: 1, outputs: 1)]
public class LstmAudioBenchmarks
{
    private StreamingSetup _setup = null!;

    public static IEnumerable<string> Kernels => RnnKernels.Available;

    [ParamsSource(nameof(Kernels))]
    public string Kernel { get; set; } = "";

    [Params(8, 16, 32)]
    public int H { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        RnnModel model = RnnModel.CreateLstm(inputSize: 1, hiddenSize: H, outputSize: 1, kernel: Kernel);
        var naive = new NaiveLstm(model.Layers[0], model.Head);
        _setup = new StreamingSetup(model, naive.Step, naive.Reset);
    }

    /// <summary>The naive scalar loop over PyTorch-layout weights (the same for every Kernel value).</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = StreamingSetup.Steps)]
    public void Naive() => _setup.RunNaive();

    [Benchmark(OperationsPerInvoke = StreamingSetup.Steps)]
    public void Step() => _setup.RunModel();
}

/// <summary>Model, state and buffers of a streaming benchmark, checked against the reference once.</summary>
internal sealed class StreamingSetup
{
    /// <summary>Steps per benchmark invocation.</summary>
    public const int Steps = 64;

    private readonly RnnModel _model;
    private readonly RnnState _state;
    private readonly StepFunction _naive; // created once: a method group converted per call would allocate
    private readonly float[] _inputs; // [Steps, I]
    private readonly float[] _output; // [O]

    public StreamingSetup(RnnModel model, StepFunction naive, Action resetNaive)
    {
        _model = model;
        _state = model.CreateState();
        _naive = naive;
        _inputs = AgreementCheck.RandomInputs(Steps * model.InputSize, seed: 1);
        _output = new float[model.OutputSize];
        AgreementCheck.Verify(model.Kernel, model, (x, y) => model.Step(x, _state, y), _inputs);
        AgreementCheck.Verify("Naive", model, naive, _inputs);
        _state.Reset();
        resetNaive();
    }

    public void RunModel()
    {
        int n = _model.InputSize;
        for (int t = 0; t < Steps; t++)
        {
            _model.Step(_inputs.AsSpan(t * n, n), _state, _output);
        }
    }

    public void RunNaive()
    {
        int n = _model.InputSize;
        for (int t = 0; t < Steps; t++)
        {
            _naive(_inputs.AsSpan(t * n, n), _output);
        }
    }
}
