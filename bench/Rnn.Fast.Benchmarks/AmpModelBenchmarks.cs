using BenchmarkDotNet.Attributes;

namespace Rnn.Fast.Benchmarks;

/// <summary>
/// Guitar-amp-sized LSTMs (I = 1, 1-output head): a 1×16 and a 2×8 stack, processing one second of
/// 48 kHz audio single-threaded, through the streaming API (one <c>Step</c> per sample, as a real-time
/// audio callback would) and the sequence API (one <c>Run</c> over the buffer). The time per operation
/// is the time for one second of audio; real-time factor = 1 s / that time.
/// </summary>
[MemoryDiagnoser]
public class AmpModelBenchmarks
{
    /// <summary>Samples in one second of audio.</summary>
    public const int SampleRate = 48_000;

    private RnnModel _model = null!;
    private RnnState _state = null!;
    private float[] _audio = null!;  // [SampleRate]
    private float[] _output = null!; // [SampleRate]

    public static IEnumerable<string> Kernels => RnnKernels.Available;

    [ParamsSource(nameof(Kernels))]
    public string Kernel { get; set; } = "";

    /// <summary>Layers × hidden units.</summary>
    [Params("1x16", "2x8")]
    public string Shape { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        string[] parts = Shape.Split('x');
        _model = RnnModel.CreateLstm(1, int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture),
            layers: int.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture), outputSize: 1, seed: 3, kernel: Kernel);
        _state = _model.CreateState();
        // A guitar-like test signal: decaying plucked partials, in [-1, 1].
        _audio = new float[SampleRate];
        for (int i = 0; i < _audio.Length; i++)
        {
            double t = i / (double)SampleRate;
            _audio[i] = (float)(0.6 * Math.Exp(-3 * t) * (Math.Sin(2 * Math.PI * 110 * t) + 0.5 * Math.Sin(2 * Math.PI * 220 * t) + 0.25 * Math.Sin(2 * Math.PI * 330 * t)));
        }
        _output = new float[SampleRate];
        AgreementCheck.Verify(_model.Kernel, _model, (x, y) => _model.Step(x, _state, y), _audio.AsSpan(0, 256));
        _state.Reset();
    }

    /// <summary>One second of audio, one Step per sample.</summary>
    [Benchmark(Baseline = true)]
    public void Streaming()
    {
        for (int i = 0; i < _audio.Length; i++)
        {
            _model.Step(_audio.AsSpan(i, 1), _state, _output.AsSpan(i, 1));
        }
    }

    /// <summary>One second of audio in one Run call.</summary>
    [Benchmark]
    public void Sequence() => _model.Run(_audio, SampleRate, _state, _output);
}
