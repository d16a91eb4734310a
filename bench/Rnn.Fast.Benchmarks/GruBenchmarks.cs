using BenchmarkDotNet.Attributes;

namespace Rnn.Fast.Benchmarks;

/// <summary>As <see cref="LstmStreamingBenchmarks"/>, for a GRU (3 gates: 3/4 of the LSTM's flops).</summary>
[MemoryDiagnoser]
[StepShape(gates: 3)]
public class GruStreamingBenchmarks
{
    private StreamingSetup _setup = null!;

    /// <summary>The naive GRU loop and Rnn.Fast on each kernel (the ONNX and TensorPrimitives baselines model LSTM and RNN only).</summary>
    public static IEnumerable<string> Implementations => [Benchmarks.Implementations.Naive, .. Benchmarks.Implementations.RnnFast];

    [ParamsSource(nameof(Implementations))]
    public string Impl { get; set; } = "";

    [Params(16, 32, 64, 128, 256, 512)]
    public int H { get; set; }

    [GlobalSetup]
    public void Setup() => _setup = new StreamingSetup(RnnModel.CreateGru(H, H), Impl);

    [GlobalCleanup]
    public void Cleanup() => _setup.Dispose();

    [Benchmark(OperationsPerInvoke = StreamingSetup.Steps)]
    public void Step() => _setup.Run();
}

/// <summary>As <see cref="LstmSequenceBenchmarks"/>, for a GRU: <c>Run</c> against 100 <c>Step</c> calls.</summary>
[MemoryDiagnoser]
[StepShape(gates: 3)]
public class GruSequenceBenchmarks
{
    private const int T = LstmSequenceBenchmarks.T;

    private RnnModel _model = null!;
    private RnnState _state = null!;
    private float[] _inputs = null!;  // [T, I]
    private float[] _outputs = null!; // [T, H]

    public static IEnumerable<string> Kernels => RnnKernels.Available;

    [ParamsSource(nameof(Kernels))]
    public string Kernel { get; set; } = "";

    [Params(64, 256, 512)]
    public int H { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _model = RnnModel.CreateGru(H, H, kernel: Kernel);
        _state = _model.CreateState();
        _inputs = AgreementCheck.RandomInputs(T * H, seed: 2);
        _outputs = new float[T * H];
        _model.Run(_inputs, T, _state, _outputs);
        int t = 0;
        AgreementCheck.Verify("Run", _model, (x, y) => _outputs.AsSpan(t++ * H, H).CopyTo(y), _inputs);
        _state.Reset();
    }

    /// <summary>T calls of the streaming API.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = T)]
    public void StepLoop()
    {
        for (int t = 0; t < T; t++)
        {
            _model.Step(_inputs.AsSpan(t * H, H), _state, _outputs.AsSpan(t * H, H));
        }
    }

    /// <summary>One call of the sequence API.</summary>
    [Benchmark(OperationsPerInvoke = T)]
    public void Run() => _model.Run(_inputs, T, _state, _outputs);
}
