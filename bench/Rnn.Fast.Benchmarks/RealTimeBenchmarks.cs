using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;

namespace Rnn.Fast.Benchmarks;

/// <summary>
/// The real-time shapes of issue 10, as RTNeural was measured: weights uniform in ±0.3, the input a 440 Hz sine at
/// 48 kHz plus 1% noise, one call per sample, float32. Each invocation steps <see cref="Steps"/> samples (the state
/// carries over, as in a stream) and OperationsPerInvoke turns the time into ns per <c>Step</c> call.
/// </summary>
internal static class RealTimeShapes
{
    public const int Steps = 4096;

    /// <summary>"default" (the kernel a model gets when none is named) and every vector kernel available here.</summary>
    public static IEnumerable<string> Kernels => ["default", .. RnnKernels.Available.Where(k => k is not ("Scalar" or "Vector128"))];

    public static RnnModel Model(CellType cell, int inputs, int hidden, int outputs, string kernel)
    {
        var random = new Random(10);
        float[] Uniform(int count) => [.. Enumerable.Range(0, count).Select(_ => (float)(random.NextDouble() * 0.6 - 0.3))];
        int rows = LayerWeights.GatesOf(cell) * hidden;
        LayerWeights layer = cell switch
        {
            CellType.Lstm => LayerWeights.Lstm(inputs, hidden, Uniform(rows * inputs), Uniform(rows * hidden), Uniform(rows), Uniform(rows)),
            CellType.Gru => LayerWeights.Gru(inputs, hidden, Uniform(rows * inputs), Uniform(rows * hidden), Uniform(rows), Uniform(rows)),
            _ => LayerWeights.Elman(inputs, hidden, Activation.Relu, Uniform(rows * inputs), Uniform(rows * hidden), Uniform(rows), Uniform(rows)),
        };
        HeadWeights? head = outputs == 0 ? null : new HeadWeights(hidden, outputs, Uniform(outputs * hidden), Uniform(outputs), Activation.Identity);
        return RnnModel.Create([layer], head, kernel == "default" ? null : kernel);
    }

    /// <summary><paramref name="steps"/> × <paramref name="width"/> samples: the sine in every channel, plus noise.</summary>
    public static float[] Signal(int steps, int width)
    {
        var random = new Random(11);
        var x = new float[steps * width];
        for (int t = 0; t < steps; t++)
        {
            for (int j = 0; j < width; j++)
            {
                x[t * width + j] = MathF.Sin(2 * MathF.PI * 440 * t / 48_000f) + 0.01f * (float)(random.NextDouble() * 2 - 1);
            }
        }
        return x;
    }
}

/// <summary>B streams of a one-layer model stepped one sample per call: the shared loop of the classes below.</summary>
public abstract class RealTimeStepBase
{
    private RnnModel _model = null!;
    private RnnState _state = null!;
    private float[] _x = [];
    private float[] _y = [];
    private int _inputs;
    private int _outputs;

    protected void Setup(RnnModel model, int batch)
    {
        _model = model;
        _state = model.CreateState(batch);
        _inputs = batch * model.InputSize;
        _outputs = batch * model.OutputSize;
        _x = RealTimeShapes.Signal(RealTimeShapes.Steps, _inputs);
        _y = new float[_outputs];
    }

    protected void StepAll()
    {
        for (int t = 0; t < RealTimeShapes.Steps; t++)
        {
            _model.Step(_x.AsSpan(t * _inputs, _inputs), _state, _y);
        }
    }
}

/// <summary>Audio shapes: I = 1, a one-output linear head, one stream (issue 10's first two rows).</summary>
[MemoryDiagnoser]
[Config(typeof(RealTimeRooflineConfig))]
public class AudioStepBenchmarks : RealTimeStepBase
{
    [Params(CellType.Lstm, CellType.Gru)]
    public CellType Cell { get; set; }

    [Params(8, 16, 24, 32, 40, 64)]
    public int H { get; set; }

    [ParamsSource(nameof(Kernels))]
    public string Kernel { get; set; } = "default";

    public static IEnumerable<string> Kernels => RealTimeShapes.Kernels;

    [GlobalSetup]
    public void Setup() => Setup(RealTimeShapes.Model(Cell, 1, H, 1, Kernel), batch: 1);

    [Benchmark(OperationsPerInvoke = RealTimeShapes.Steps)]
    public void Step() => StepAll();
}

/// <summary>Square shapes: I = H, no head, one stream (issue 10's last two rows).</summary>
[MemoryDiagnoser]
[Config(typeof(RealTimeRooflineConfig))]
public class SquareStepBenchmarks : RealTimeStepBase
{
    [Params(CellType.Lstm, CellType.Gru)]
    public CellType Cell { get; set; }

    [Params(16, 32, 64, 128, 256)]
    public int H { get; set; }

    [GlobalSetup]
    public void Setup() => Setup(RealTimeShapes.Model(Cell, H, H, 0, "default"), batch: 1);

    [Benchmark(OperationsPerInvoke = RealTimeShapes.Steps)]
    public void Step() => StepAll();
}

/// <summary>
/// Per-call overhead: one unit (H = 1), so what is left is the call, validation, state handling, the cell's
/// fixed cost (activations) and the head. Elman ReLU without a head has no transcendental at all.
/// </summary>
[MemoryDiagnoser]
public class StepOverheadBenchmarks : RealTimeStepBase
{
    [Params(CellType.Elman, CellType.Gru, CellType.Lstm)]
    public CellType Cell { get; set; }

    [Params(0, 1)]
    public int Outputs { get; set; }

    [GlobalSetup]
    public void Setup() => Setup(RealTimeShapes.Model(Cell, 1, 1, Outputs, "default"), batch: 1);

    [Benchmark(OperationsPerInvoke = RealTimeShapes.Steps)]
    public void Step() => StepAll();
}

/// <summary>
/// Multi-channel: B streams of one audio-shape model (H = 16) in one <c>Step</c> call per sample; the time is per
/// call (all B channels). Targets: B = 2 at most 1.2× B = 1, B = 8 at most 3×.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(RealTimeRooflineConfig))]
public class MultiChannelStepBenchmarks : RealTimeStepBase
{
    /// <summary>The audio shape's hidden size here.</summary>
    public const int H = 16;

    [Params(CellType.Lstm, CellType.Gru)]
    public CellType Cell { get; set; }

    [Params(1, 2, 8)]
    public int B { get; set; }

    [GlobalSetup]
    public void Setup() => Setup(RealTimeShapes.Model(Cell, 1, H, 1, "default"), B);

    [Benchmark(OperationsPerInvoke = RealTimeShapes.Steps)]
    public void Step() => StepAll();
}

/// <summary>
/// Cold start: in fresh processes, the first second of 48 kHz audio (48,000 <c>Step</c> calls) through a 1×16 amp
/// model (<c>RnnModel.CreateLstm(1, 16, outputSize: 1)</c>), created in the setup as an application would; the
/// time is per step, to compare with <see cref="AudioStepBenchmarks"/> at H = 16 (target: at most 1.5×).
/// </summary>
[MemoryDiagnoser]
[SimpleJob(RunStrategy.ColdStart, launchCount: 5, warmupCount: 0, iterationCount: 1, invocationCount: 1)]
public class ColdStartStepBenchmarks
{
    private const int Samples = 48_000;
    private RnnModel _model = null!;
    private RnnState _state = null!;
    private float[] _x = [];
    private readonly float[] _y = new float[1];

    [GlobalSetup]
    public void Setup()
    {
        _model = RnnModel.CreateLstm(1, 16, outputSize: 1);
        _state = _model.CreateState();
        _x = RealTimeShapes.Signal(Samples, 1);
    }

    [Benchmark(OperationsPerInvoke = Samples)]
    public void FirstSecond()
    {
        for (int t = 0; t < Samples; t++)
        {
            _model.Step(_x.AsSpan(t, 1), _state, _y);
        }
    }
}
