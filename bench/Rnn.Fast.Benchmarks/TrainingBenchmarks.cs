using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Filters;
using Rnn.Fast.Training;

namespace Rnn.Fast.Benchmarks;

/// <summary>
/// Training throughput: I = H, no head (the outputs are h, the loss MSE against fixed targets). Every
/// invocation processes the same 16 sequences of T = 100 steps: at <c>Batch</c> = 16 as one call of
/// batch 16, at <c>Batch</c> = 1 as 16 calls of batch 1. Times are per sequence-step
/// (OperationsPerInvoke = 16·T), so every row compares directly with every other and 1 / time is
/// sequence-steps per second.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item><see cref="ForwardOnly"/> (baseline): the inference sequence API, <see cref="RnnModel.Run(ReadOnlySpan{float}, int, RnnState, Span{float})"/>, on the same shape.</item>
/// <item><see cref="TrainingForward"/>: <see cref="TrainableModel.Forward"/>, the forward pass that also caches what backward needs.</item>
/// <item><see cref="TrainStep"/>: <see cref="Trainer.Step"/> with Adam (zero gradients, forward, loss, backward, gradient norm,
/// update), once at batch 16 or 16 times at batch 1.</item>
/// <item><see cref="TrainStepOneSequenceAtATime"/> (batch 16 only): the same 16 sequences as 16 Trainer.Step calls of batch 1,
/// to compare the per-sample cost of batching.</item>
/// </list>
/// GFLOP/s counts 2·G·H·(I+H) per sequence-step for forward and 3× that for a training step (backward = 2× forward).
/// The ratio column is time / ForwardOnly: the target is TrainStep ≤ 4; and TrainStep at batch 16
/// should not be slower per sequence-step than TrainStepOneSequenceAtATime.
/// Kernels: the default (best) kernel and Scalar (see <see cref="Kernels"/>); the intermediate widths
/// would double the run time.
/// </remarks>
[MemoryDiagnoser]
[StepShape(gates: 0, StepCoversBatch = false)]
[Config(typeof(TrainingBenchmarksConfig))]
public class TrainingBenchmarks
{
    /// <summary>Steps per sequence.</summary>
    public const int T = 100;

    /// <summary>Sequences per invocation, and the batch at which the one-sequence-at-a-time comparison runs.</summary>
    public const int Sequences = 16;

    /// <summary>Sequence-steps per invocation.</summary>
    public const int SequenceSteps = T * Sequences;

    private RnnModel _model = null!;
    private RnnState _state = null!;
    private float[] _inputs = null!;            // [T, 16, I]
    private float[] _outputs = null!;           // [T, 16, H]
    private float[] _targets = null!;           // [T, 16, H]
    private float[][] _sequenceInputs = null!;  // 16 × [T, I]: the same data, one sequence each
    private float[][] _sequenceTargets = null!; // 16 × [T, H]
    private float[][] _sequenceOutputs = null!; // 16 × [T, H]
    private TrainableModel _trainable = null!;
    private TrainingWorkspace _workspace = null!;
    private Trainer _trainer = null!;
    private Trainer? _singleTrainer;

    /// <summary>
    /// The default (best) kernel and Scalar, or the comma-separated names in RNNFAST_BENCH_KERNELS
    /// (e.g. to run the two in separate, shorter runs).
    /// </summary>
    public static IEnumerable<string> Kernels =>
        Environment.GetEnvironmentVariable("RNNFAST_BENCH_KERNELS") is { Length: > 0 } names
            ? names.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            : new[] { RnnKernels.Default, "Scalar" }.Distinct(StringComparer.Ordinal);

    [ParamsSource(nameof(Kernels))]
    public string Kernel { get; set; } = "";

    [Params(CellType.Lstm, CellType.Elman)]
    public CellType Cell { get; set; }

    [Params(32, 128, 256)]
    public int H { get; set; }

    [Params(1, Sequences)]
    public int Batch { get; set; }

    private void Setup()
    {
        _model = Cell == CellType.Lstm
            ? RnnModel.CreateLstm(H, H, kernel: Kernel)
            : RnnModel.CreateElman(H, H, Activation.Tanh, kernel: Kernel);
        _state = _model.CreateState(Batch);
        _inputs = AgreementCheck.RandomInputs(SequenceSteps * H, seed: 3);
        // Targets in (-0.5, 0.5), inside the range of h for both cells.
        _targets = [.. AgreementCheck.RandomInputs(SequenceSteps * H, seed: 4).Select(v => v / 2)];
        _outputs = new float[SequenceSteps * H];

        _trainable = TrainableModel.From(_model);
        _workspace = _trainable.CreateWorkspace(T, Batch);
        // A separate trainable copy for the update benchmarks, so TrainingForward keeps the weights of _model.
        TrainableModel trained = TrainableModel.From(_model);
        // A small learning rate: the same batch is trained on for thousands of steps while timing.
        _trainer = new Trainer(trained, new Adam(trained, learningRate: 1e-5f), LossFunction.MeanSquaredError, T, Batch);

        _sequenceInputs = new float[Sequences][];
        _sequenceTargets = new float[Sequences][];
        _sequenceOutputs = new float[Sequences][];
        for (int b = 0; b < Sequences; b++)
        {
            _sequenceInputs[b] = new float[T * H];
            _sequenceTargets[b] = new float[T * H];
            _sequenceOutputs[b] = new float[T * H];
            for (int t = 0; t < T; t++)
            {
                _inputs.AsSpan((t * Sequences + b) * H, H).CopyTo(_sequenceInputs[b].AsSpan(t * H));
                _targets.AsSpan((t * Sequences + b) * H, H).CopyTo(_sequenceTargets[b].AsSpan(t * H));
            }
        }
        if (Batch == Sequences)
        {
            TrainableModel single = TrainableModel.From(_model);
            _singleTrainer = new Trainer(single, new Adam(single, learningRate: 1e-5f), LossFunction.MeanSquaredError, T, batch: 1);
        }

        // The training forward pass must compute what inference computes before either is timed.
        ForwardOnly();
        for (int b = 0; b < (Batch == 1 ? Sequences : 1); b++)
        {
            ReadOnlySpan<float> trained0 = _trainable.Forward(Batch == 1 ? _sequenceInputs[b] : _inputs, T, _workspace);
            ReadOnlySpan<float> expected = Batch == 1 ? _sequenceOutputs[b] : _outputs;
            for (int i = 0; i < expected.Length; i++)
            {
                if (!(Math.Abs(trained0[i] - expected[i]) <= 1e-4f * (1 + Math.Abs(expected[i]))))
                {
                    throw new InvalidOperationException($"TrainableModel.Forward disagrees with RnnModel.Run at {i}: {trained0[i]} vs {expected[i]}.");
                }
            }
        }
    }

    // Warm-up, per benchmark (each runs in its own process): every pool rent, lazy buffer and the
    // first JIT tiers happen here, so BenchmarkDotNet's own warm-up and the MemoryDiagnoser's count
    // see only the steady state. Only the measured method is warmed: at Scalar H = 256 one
    // invocation takes seconds.
    [GlobalSetup(Target = nameof(ForwardOnly))]
    public void SetupForwardOnly() => Warm(ForwardOnly);

    [GlobalSetup(Target = nameof(TrainingForward))]
    public void SetupTrainingForward() => Warm(() => TrainingForward());

    [GlobalSetup(Target = nameof(TrainStep))]
    public void SetupTrainStep() => Warm(() => TrainStep());

    [GlobalSetup(Target = nameof(TrainStepOneSequenceAtATime))]
    public void SetupTrainStepOneSequenceAtATime() => Warm(() => TrainStepOneSequenceAtATime());

    private void Warm(Action benchmark)
    {
        Setup();
        benchmark();
        benchmark();
    }

    /// <summary>Inference: <see cref="RnnModel.Run(ReadOnlySpan{float}, int, RnnState, Span{float})"/> over the 16 sequences from the initial state.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = SequenceSteps)]
    public void ForwardOnly()
    {
        if (Batch == 1)
        {
            for (int b = 0; b < Sequences; b++)
            {
                _state.Reset();
                _model.Run(_sequenceInputs[b], T, _state, _sequenceOutputs[b]);
            }
            return;
        }
        _state.Reset();
        _model.Run(_inputs, T, _state, _outputs);
    }

    /// <summary>The training forward pass (with cache) over the same sequences.</summary>
    [Benchmark(OperationsPerInvoke = SequenceSteps)]
    public float TrainingForward()
    {
        if (Batch == 1)
        {
            float sum = 0;
            for (int b = 0; b < Sequences; b++)
            {
                sum += _trainable.Forward(_sequenceInputs[b], T, _workspace)[0];
            }
            return sum;
        }
        return _trainable.Forward(_inputs, T, _workspace)[0];
    }

    /// <summary>
    /// Full training steps: forward, MSE, backward, gradient norm, Adam. One step of batch 16, or at
    /// batch 1 sixteen steps (which is the one-sequence-at-a-time row of the batch-16 group).
    /// </summary>
    [Benchmark(OperationsPerInvoke = SequenceSteps)]
    [FlopsFactor(3)]
    public float TrainStep()
    {
        if (Batch == 1)
        {
            float loss = 0;
            for (int b = 0; b < Sequences; b++)
            {
                loss += _trainer.Step(_sequenceInputs[b], T, _sequenceTargets[b]).Loss;
            }
            return loss;
        }
        return _trainer.Step(_inputs, T, _targets).Loss;
    }

    /// <summary>Batch 16 only: the same 16 sequences trained one at a time, 16 calls of Trainer.Step with batch 1.</summary>
    [Benchmark(OperationsPerInvoke = SequenceSteps)]
    [FlopsFactor(3)]
    public float TrainStepOneSequenceAtATime()
    {
        Trainer trainer = _singleTrainer!;
        float loss = 0;
        for (int b = 0; b < Sequences; b++)
        {
            loss += trainer.Step(_sequenceInputs[b], T, _sequenceTargets[b]).Loss;
        }
        return loss;
    }
}

/// <summary>Drops the one-at-a-time rows at batch 1, where they would repeat TrainStep.</summary>
internal sealed class TrainingBenchmarksConfig : ManualConfig
{
    public TrainingBenchmarksConfig() =>
        AddFilter(new SimpleFilter(c =>
            c.Descriptor.WorkloadMethod.Name != nameof(TrainingBenchmarks.TrainStepOneSequenceAtATime)
            || c.Parameters["Batch"] is TrainingBenchmarks.Sequences));
}
