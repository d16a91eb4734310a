using BenchmarkDotNet.Attributes;
using Rnn.Fast.Baselines;

namespace Rnn.Fast.Benchmarks;

/// <summary>
/// Streaming step latency, batch 1, I = H: one step per sample, the way a real-time caller uses the
/// library, for every implementation in <see cref="Implementations"/> (same weights, same inputs). Each
/// invocation runs <see cref="StreamingSetup.Steps"/> dependent steps over distinct inputs (the state
/// carries from step to step, as in a real stream), and OperationsPerInvoke turns the time into ns per
/// step; at H = 8 a step is tens of ns, too short to time alone. ONNX Runtime makes one call per step
/// (T = 1) with h and c fed back through ping-pong buffers.
/// </summary>
[MemoryDiagnoser]
[StepShape(gates: 4)]
public class LstmStreamingBenchmarks
{
    private StreamingSetup _setup = null!;

    public static IEnumerable<string> Implementations => Benchmarks.Implementations.All;

    [ParamsSource(nameof(Implementations))]
    public string Impl { get; set; } = "";

    [Params(8, 16, 32, 64, 128, 256, 512)]
    public int H { get; set; }

    [GlobalSetup]
    public void Setup() => _setup = new StreamingSetup(RnnModel.CreateLstm(H, H), Impl);

    [GlobalCleanup]
    public void Cleanup() => _setup.Dispose();

    [Benchmark(OperationsPerInvoke = StreamingSetup.Steps)]
    public void Step() => _setup.Run();
}

/// <summary>As <see cref="LstmStreamingBenchmarks"/>, for an Elman RNN with tanh (ONNX <c>RNN</c> node).</summary>
[MemoryDiagnoser]
[StepShape(gates: 1)]
public class ElmanStreamingBenchmarks
{
    private StreamingSetup _setup = null!;

    public static IEnumerable<string> Implementations => Benchmarks.Implementations.All;

    [ParamsSource(nameof(Implementations))]
    public string Impl { get; set; } = "";

    [Params(8, 16, 32, 64, 128, 256, 512)]
    public int H { get; set; }

    [GlobalSetup]
    public void Setup() => _setup = new StreamingSetup(RnnModel.CreateElman(H, H, Activation.Tanh), Impl);

    [GlobalCleanup]
    public void Cleanup() => _setup.Dispose();

    [Benchmark(OperationsPerInvoke = StreamingSetup.Steps)]
    public void Step() => _setup.Run();
}

/// <summary>
/// The real-time audio shape: one sample in (I = 1), a small LSTM, one sample out through a linear head
/// (O = 1), streaming one step per sample. ONNX Runtime runs LSTM → MatMul → Add in one call per step.
/// </summary>
[MemoryDiagnoser]
[StepShape(gates: 4, input: 1, outputs: 1)]
public class LstmAudioBenchmarks
{
    private StreamingSetup _setup = null!;

    public static IEnumerable<string> Implementations => Benchmarks.Implementations.All;

    [ParamsSource(nameof(Implementations))]
    public string Impl { get; set; } = "";

    [Params(8, 16, 24, 32)]
    public int H { get; set; }

    [GlobalSetup]
    public void Setup() => _setup = new StreamingSetup(RnnModel.CreateLstm(inputSize: 1, hiddenSize: H, outputSize: 1), Impl);

    [GlobalCleanup]
    public void Cleanup() => _setup.Dispose();

    [Benchmark(OperationsPerInvoke = StreamingSetup.Steps)]
    public void Step() => _setup.Run();
}

/// <summary>One implementation's step function over a model's weights, checked against the reference once.</summary>
internal sealed class StreamingSetup : IDisposable
{
    /// <summary>Steps per benchmark invocation.</summary>
    public const int Steps = 64;

    private readonly StepFunction _step; // created once: a method group converted per call would allocate
    private readonly Action _reset;
    private readonly IDisposable? _owned;
    private readonly int _inputSize;
    private readonly float[] _inputs; // [Steps, I]
    private readonly float[] _output; // [O]

    public StreamingSetup(RnnModel model, string implementation, float[]? inputs = null)
    {
        (_step, _reset, _owned) = Create(model, implementation);
        _inputSize = model.InputSize;
        _inputs = inputs ?? AgreementCheck.RandomInputs(Steps * model.InputSize, seed: 1);
        _output = new float[model.OutputSize];
        AgreementCheck.Verify(implementation, model, _step, _inputs);
        _reset();
    }

    /// <summary>The step function of an implementation, how to reset its state, and what to dispose.</summary>
    public static (StepFunction Step, Action Reset, IDisposable? Owned) Create(RnnModel model, string implementation)
    {
        LayerWeights layer = model.Layers[0];
        switch (implementation)
        {
            case Implementations.Naive when layer.Cell == CellType.Gru:
                var naiveGru = new NaiveGru(layer);
                return (naiveGru.Step, naiveGru.Reset, null);
            case Implementations.Naive when layer.Cell == CellType.Lstm:
                var naiveLstm = new NaiveLstm(layer, model.Head);
                return (naiveLstm.Step, naiveLstm.Reset, null);
            case Implementations.Naive:
                var naiveElman = new NaiveElman(layer);
                return (naiveElman.Step, naiveElman.Reset, null);
            case Implementations.TensorPrimitives:
                var tp = new TensorPrimitivesRnn(layer, model.Head);
                return (tp.Step, tp.Reset, null);
            case Implementations.OnnxRuntime:
                var onnx = new OnnxRnnRunner(layer, model.Head);
                return (onnx.Step, onnx.Reset, onnx);
            default:
                RnnModel kernelModel = model.WithKernel(Implementations.KernelOf(implementation)
                    ?? throw new ArgumentException($"Unknown implementation {implementation}.", nameof(implementation)));
                RnnState state = kernelModel.CreateState();
                return ((x, y) => kernelModel.Step(x, state, y), state.Reset, null);
        }
    }

    public void Run()
    {
        int n = _inputSize;
        for (int t = 0; t < Steps; t++)
        {
            _step(_inputs.AsSpan(t * n, n), _output);
        }
    }

    public void Dispose() => _owned?.Dispose();
}
