using BenchmarkDotNet.Attributes;

using Rnn.Fast.Baselines;

namespace Rnn.Fast.Benchmarks;

/// <summary>
/// Does a step slow down when the state decays toward subnormal values? The audio-shape LSTM (I = 1,
/// 1-output head) without recurrent biases (with biases the state settles on a normal fixed point under
/// zero input; without them it decays geometrically through the subnormal range to zero), Rnn.Fast on
/// each kernel, in three phases:
/// <list type="bullet">
/// <item><c>Signal</c>: random input, the normal case.</item>
/// <item><c>AfterSilence</c>: 100,000 zero steps after the signal, then zero input while timing: the
/// state wherever the silence left it (the setup prints its magnitude).</item>
/// <item><c>Subnormal</c>: zero input, with h and c set to subnormal values (±1e-39 .. ±1.4e-42) at the start
/// of every invocation, so the products and activations really see subnormal operands (since the flush-to-zero of
/// state, only the first step of each invocation does: the caller wrote them).</item>
/// <item><c>Decaying</c>: zero input, with h and c set to ±1e-30 .. ±4e-34 (normal floats) at the start of every
/// invocation: the tail of a decay. Without a flush the state passes through the subnormal range within the 64
/// steps (about 27 steps to 1.2e-38 at half per step, then the subnormals down to 0); with the engine's flush below
/// 2^-63 it is 0 after one step.</item>
/// </list>
/// </summary>
[MemoryDiagnoser]
[StepShape(gates: 4, input: 1, outputs: 1)]
public class SilenceBenchmarks
{
    private const int Steps = StreamingSetup.Steps;

    private RnnModel _model = null!;
    private RnnState _state = null!;
    private float[] _inputs = null!;    // [Steps]
    private float[] _subnormal = null!; // [H]
    private float[] _decaying = null!;  // [H]
    private readonly float[] _output = new float[1];

    public static IEnumerable<string> Implementations => Benchmarks.Implementations.RnnFast;

    [ParamsSource(nameof(Implementations))]
    public string Impl { get; set; } = "";

    [Params(16, 32)]
    public int H { get; set; }

    [Params("Signal", "AfterSilence", "Subnormal", "Decaying")]
    public string Phase { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        _model = BiasFreeAudioLstm(H, Benchmarks.Implementations.KernelOf(Impl)!);
        _state = _model.CreateState();
        float[] signal = AgreementCheck.RandomInputs(Steps, seed: 1);
        AgreementCheck.Verify(Impl, _model, (x, y) => _model.Step(x, _state, y), signal);
        _inputs = Phase == "Signal" ? signal : new float[Steps];
        _subnormal = new float[H];
        _decaying = new float[H];
        for (int j = 0; j < H; j++)
        {
            _subnormal[j] = (j % 2 == 0 ? 1 : -1) * 1e-39f / MathF.Pow(3, j % 7);
            _decaying[j] = (j % 2 == 0 ? 1 : -1) * 1e-30f / MathF.Pow(3, j % 7);
        }
        if (Phase == "AfterSilence")
        {
            float[] zero = [0f];
            for (int t = 0; t < 100_000; t++)
            {
                _model.Step(zero, _state, _output);
            }
            float max = 0;
            foreach (float v in _state.Hidden(0))
            {
                max = Math.Max(max, Math.Abs(v));
            }
            Console.WriteLine($"// Silence: after 100,000 zero steps max |h| = {max:E3} (subnormal below 1.18E-038)");
        }
    }

    /// <summary>The audio-shape LSTM with its biases removed (head bias kept).</summary>
    public static RnnModel BiasFreeAudioLstm(int hidden, string? kernel = null)
    {
        RnnModel seeded = RnnModel.CreateLstm(inputSize: 1, hiddenSize: hidden, outputSize: 1);
        LayerWeights l = seeded.Layers[0];
        return RnnModel.Create([LayerWeights.Lstm(1, hidden, l.WeightIh, l.WeightHh, [], [])], seeded.Head, kernel);
    }

    [Benchmark(OperationsPerInvoke = Steps)]
    public void Step()
    {
        if (Phase is "Subnormal" or "Decaying")
        {
            float[] start = Phase == "Subnormal" ? _subnormal : _decaying;
            start.CopyTo(_state.Hidden(0));
            start.CopyTo(_state.Cell(0));
        }
        for (int t = 0; t < Steps; t++)
        {
            _model.Step(_inputs.AsSpan(t, 1), _state, _output);
        }
    }
}
