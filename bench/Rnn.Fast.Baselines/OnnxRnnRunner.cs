using Microsoft.ML.OnnxRuntime;

namespace Rnn.Fast.Baselines;

/// <summary>
/// ONNX Runtime (CPU, one intra-op and one inter-op thread, sequential execution, all graph optimizations)
/// running an <see cref="OnnxRnnModel"/>, timed fairly: every input and output is an <see cref="OrtValue"/>
/// over a pinned array, bound once with <see cref="OrtIoBinding"/>, so a call copies x in, runs, and copies y
/// out, with no per-call allocation of tensors or name lookups.
/// </summary>
/// <remarks>
/// The state carries from call to call through ping-pong buffers: binding 0 reads <c>h[0], c[0]</c> and
/// writes <c>Y_h, Y_c</c> into <c>h[1], c[1]</c>; binding 1 the other way round. Each call runs T steps
/// for B streams (T = 1 is the streaming case, one ONNX Runtime call per time step).
/// </remarks>
public sealed class OnnxRnnRunner : IDisposable
{
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly SessionOptions _options;
    private readonly OrtIoBinding[] _bindings = new OrtIoBinding[2];
    private readonly List<OrtValue> _values = [];
    private readonly float[] _x;      // [T, B, I]
    private readonly float[] _y;      // [T, 1, B, H]
    private readonly float[]? _head;  // [1, B, O]
    private readonly float[][] _h;    // 2 × [1, B, H]
    private readonly float[][] _c;    // 2 × [1, B, H] (LSTM)
    private readonly int _hidden;
    private int _current;             // which of the ping-pong buffers holds the current state

    /// <summary>A session over one layer (LSTM, GRU or Elman tanh) and an optional identity head (T = 1 only).</summary>
    public OnnxRnnRunner(LayerWeights layer, HeadWeights? head = null, int steps = 1, int batch = 1)
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        if (head is not null && steps != 1)
        {
            throw new ArgumentException("The ONNX head reads Y_h, so it is for streaming (T = 1) only.", nameof(head));
        }
        Steps = steps;
        Batch = batch;
        InputSize = layer.InputSize;
        _hidden = layer.HiddenSize;
        OutputSize = head?.OutputSize ?? _hidden;
        bool lstm = layer.Cell == CellType.Lstm;

        _options = new SessionOptions
        {
            IntraOpNumThreads = 1,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        // No thread spinning: with one intra-op thread there is no pool to spin, but say so.
        _options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        _session = new InferenceSession(OnnxRnnModel.Build(layer, head), _options);

        long b = batch, h = _hidden;
        _x = Pinned(steps * batch * InputSize);
        _y = Pinned(steps * batch * _hidden);
        _head = head is null ? null : Pinned(batch * OutputSize);
        _h = [Pinned(batch * _hidden), Pinned(batch * _hidden)];
        _c = [Pinned(batch * _hidden), Pinned(batch * _hidden)];
        OrtValue x = Value(_x, [steps, b, InputSize]);
        OrtValue y = Value(_y, [steps, 1, b, h]);
        OrtValue? yHead = _head is null ? null : Value(_head, [1, b, OutputSize]);
        OrtValue[] hs = [Value(_h[0], [1, b, h]), Value(_h[1], [1, b, h])];
        OrtValue[] cs = [Value(_c[0], [1, b, h]), Value(_c[1], [1, b, h])];
        for (int p = 0; p < 2; p++)
        {
            OrtIoBinding binding = _session.CreateIoBinding();
            binding.BindInput("X", x);
            binding.BindInput("initial_h", hs[p]);
            binding.BindOutput("Y", y);
            binding.BindOutput("Y_h", hs[1 - p]);
            if (lstm)
            {
                binding.BindInput("initial_c", cs[p]);
                binding.BindOutput("Y_c", cs[1 - p]);
            }
            if (yHead is not null)
            {
                binding.BindOutput("y", yHead);
            }
            _bindings[p] = binding;
        }
    }

    /// <summary>T: time steps per call.</summary>
    public int Steps { get; }

    /// <summary>B: streams.</summary>
    public int Batch { get; }

    /// <summary>I.</summary>
    public int InputSize { get; }

    /// <summary>O: the head's outputs, else H.</summary>
    public int OutputSize { get; }

    /// <summary>The current h, <c>[B, H]</c>.</summary>
    public ReadOnlySpan<float> Hidden => _h[_current];

    /// <summary>The current c, <c>[B, H]</c> (zeros for GRU and Elman).</summary>
    public ReadOnlySpan<float> Cell => _c[_current];

    /// <summary>One streaming step (T = 1, B = 1): <paramref name="x"/> is <c>[I]</c>, <paramref name="y"/> is <c>[O]</c>.</summary>
    public void Step(ReadOnlySpan<float> x, Span<float> y) => Run(x, y);

    /// <summary>One call: <c>[T, B, I]</c> in, <c>[T, B, O]</c> out; the state carries to the next call.</summary>
    public void Run(ReadOnlySpan<float> inputs, Span<float> outputs)
    {
        inputs.CopyTo(_x);
        _session.RunWithBinding(_runOptions, _bindings[_current]);
        _current ^= 1;
        (_head ?? _y).AsSpan().CopyTo(outputs);
    }

    /// <summary>Sets h and c to zero.</summary>
    public void Reset()
    {
        foreach (float[] buffer in (float[][])[.. _h, .. _c])
        {
            Array.Clear(buffer);
        }
        _current = 0;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (OrtIoBinding binding in _bindings)
        {
            binding?.Dispose();
        }
        foreach (OrtValue value in _values)
        {
            value.Dispose();
        }
        _session.Dispose();
        _options.Dispose();
        _runOptions.Dispose();
    }

    // On the pinned object heap: ONNX Runtime keeps raw pointers to these for the life of the bindings.
    private static float[] Pinned(int length) => GC.AllocateArray<float>(length, pinned: true);

    private OrtValue Value(float[] data, long[] shape)
    {
        OrtValue value = OrtValue.CreateTensorValueFromMemory(data, shape);
        _values.Add(value);
        return value;
    }
}
