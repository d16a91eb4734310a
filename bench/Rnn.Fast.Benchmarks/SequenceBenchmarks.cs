using Rnn.Fast.Baselines;
using BenchmarkDotNet.Attributes;

namespace Rnn.Fast.Benchmarks;

/// <summary>
/// A whole sequence, T = 100, batch 1, LSTM with I = H, reported per step (OperationsPerInvoke = T).
/// <see cref="Run"/> is the sequence API (input projection of the chunk as one blocked product, then
/// the recurrence); <see cref="StepLoop"/> is the same 100 steps through the streaming API, so the two
/// rows of one H and kernel show whether the sequence API beats the streaming rate.
/// </summary>
[MemoryDiagnoser]
[StepShape(gates: 4)]
public class LstmSequenceBenchmarks
{
    /// <summary>Steps per sequence.</summary>
    public const int T = 100;

    private RnnModel _model = null!;
    private RnnState _state = null!;
    private NaiveLstm _naive = null!;
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
        _model = RnnModel.CreateLstm(H, H, kernel: Kernel);
        _state = _model.CreateState();
        _naive = new NaiveLstm(_model.Layers[0]);
        _inputs = AgreementCheck.RandomInputs(T * H, seed: 2);
        _outputs = new float[T * H];

        // Run writes a whole sequence at once, so check its outputs step by step afterwards.
        _model.Run(_inputs, T, _state, _outputs);
        int t = 0;
        AgreementCheck.Verify("Run", _model, (x, y) => _outputs.AsSpan(t++ * H, H).CopyTo(y), _inputs);
        AgreementCheck.Verify("Naive", _model, _naive.Step, _inputs);
        _state.Reset();
        _naive.Reset();
    }

    /// <summary>T naive scalar steps (the same for every Kernel value).</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = T)]
    public void Naive()
    {
        for (int t = 0; t < T; t++)
        {
            _naive.Step(_inputs.AsSpan(t * H, H), _outputs.AsSpan(t * H, H));
        }
    }

    /// <summary>T calls of the streaming API.</summary>
    [Benchmark(OperationsPerInvoke = T)]
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
