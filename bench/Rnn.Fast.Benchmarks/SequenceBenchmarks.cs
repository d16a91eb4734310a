using BenchmarkDotNet.Attributes;
using Rnn.Fast.Baselines;

namespace Rnn.Fast.Benchmarks;

/// <summary>
/// A whole sequence, T = 100, B streams, LSTM with I = H, reported per time step of the whole batch
/// (OperationsPerInvoke = T). Rnn.Fast is one <see cref="RnnModel.Run(ReadOnlySpan{float}, int, RnnState, Span{float})"/> call; ONNX Runtime one call of
/// its LSTM node over the sequence (its own batched, GEMM-based sequence path), with the final state fed
/// back as the next call's initial state; the TensorPrimitives cell loops over steps and streams. The
/// naive loops are left out: at B = 64 one call takes seconds (a step of the naive loop is in the
/// streaming tables; a sequence costs T·B of them).
/// </summary>
[MemoryDiagnoser]
[StepShape(gates: 4)]
public class LstmSequenceBenchmarks
{
    /// <summary>Steps per sequence.</summary>
    public const int T = 100;

    private Action _run = null!;
    private IDisposable? _owned;

    public static IEnumerable<string> Implementations => Benchmarks.Implementations.AllButNaive;

    [ParamsSource(nameof(Implementations))]
    public string Impl { get; set; } = "";

    [Params(32, 128, 512)]
    public int H { get; set; }

    [Params(1, 16, 64)]
    public int Batch { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        RnnModel model = RnnModel.CreateLstm(H, H);
        float[] inputs = AgreementCheck.RandomInputs(T * Batch * H, seed: 2);  // [T, B, I]
        var outputs = new float[T * Batch * H];                               // [T, B, H]
        var expected = new float[T * Batch * H];
        model.Run(inputs, T, model.CreateState(Batch), expected);
        // Stream 0 of Rnn.Fast's default kernel against the double-precision reference first.
        AgreementCheck.Verify("Run", model, StreamZero(expected), StreamZeroInputs(inputs));

        switch (Impl)
        {
            case Benchmarks.Implementations.TensorPrimitives:
                var tp = new TensorPrimitivesRnn(model.Layers[0], batch: Batch);
                tp.Run(inputs, T, outputs);
                tp.Reset();
                _run = () => tp.Run(inputs, T, outputs);
                break;
            case Benchmarks.Implementations.OnnxRuntime:
                var onnx = new OnnxRnnRunner(model.Layers[0], steps: T, batch: Batch);
                onnx.Run(inputs, outputs);
                onnx.Reset();
                _owned = onnx;
                _run = () => onnx.Run(inputs, outputs);
                break;
            default:
                RnnModel kernelModel = model.WithKernel(Benchmarks.Implementations.KernelOf(Impl)!);
                RnnState state = kernelModel.CreateState(Batch);
                kernelModel.Run(inputs, T, state, outputs);
                state.Reset();
                _run = () => kernelModel.Run(inputs, T, state, outputs);
                break;
        }
        // Every implementation's first sequence (from the zero state) must match the default kernel's.
        for (int i = 0; i < outputs.Length; i++)
        {
            if (!(Math.Abs(outputs[i] - expected[i]) <= 1e-3 * (1 + Math.Abs(expected[i]))))
            {
                throw new InvalidOperationException($"{Impl} disagrees with Rnn.Fast at output {i}: {outputs[i]} vs {expected[i]}.");
            }
        }

        StepFunction StreamZero(float[] ys)
        {
            int t = 0;
            return (x, y) => ys.AsSpan((t++ * Batch) * H, H).CopyTo(y);
        }

        float[] StreamZeroInputs(float[] xs)
        {
            var zero = new float[T * H];
            for (int t = 0; t < T; t++)
            {
                xs.AsSpan(t * Batch * H, H).CopyTo(zero.AsSpan(t * H, H));
            }
            return zero;
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _owned?.Dispose();

    /// <summary>One sequence of T steps for every stream.</summary>
    [Benchmark(OperationsPerInvoke = T)]
    public void Run() => _run();
}
