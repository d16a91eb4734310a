using System.Numerics;

namespace Rnn.Fast.Training;

/// <summary>Updates a model's parameters from their gradients (PyTorch semantics), then refreshes the model.</summary>
/// <remarks>
/// An update that would leave any weight or optimizer state NaN or infinite (a finite but huge gradient, an
/// oversized learning rate) is rejected: <see cref="Step"/> restores the values and the state from before the
/// update and returns false, so a model is never left with ±Inf weights. The snapshot this needs (one copy of the
/// values and the optimizer state) is allocated at construction and refreshed on every step.
/// </remarks>
public abstract class Optimizer
{
    private readonly float[][] _valueBackup;
    private readonly List<(float[] State, float[] Backup)> _state = [];

    /// <summary>Binds the optimizer to every parameter of <paramref name="model"/>.</summary>
    protected Optimizer(TrainableModel model, float learningRate)
    {
        ArgumentNullException.ThrowIfNull(model);
        Model = model;
        LearningRate = learningRate;
        _valueBackup = [.. model.Parameters.Select(p => new float[p.Values.Length])];
    }

    /// <summary>The model whose parameters are updated.</summary>
    public TrainableModel Model { get; }

    /// <summary>Step size; may be changed between steps (schedules).</summary>
    public float LearningRate
    {
        get;
        set => field = value > 0 && float.IsFinite(value) ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "Must be positive and finite.");
    }

    /// <summary>Number of steps taken (rejected updates do not count).</summary>
    public long StepCount { get; private set; }

    /// <summary>
    /// One update of every parameter from its gradient; the gradients are left as they are. Returns false, with the
    /// values, the optimizer state and <see cref="StepCount"/> as they were, when the update would have made any of
    /// them NaN or infinite.
    /// </summary>
    public bool Step()
    {
        IReadOnlyList<Parameter> parameters = Model.Parameters;
        for (int p = 0; p < parameters.Count; p++)
        {
            parameters[p].Values.CopyTo(_valueBackup[p], 0);
        }
        foreach ((float[] state, float[] backup) in _state)
        {
            state.CopyTo(backup, 0);
        }
        StepCount++;
        for (int p = 0; p < parameters.Count; p++)
        {
            Update(p, parameters[p].Values, parameters[p].Gradients);
        }
        if (AllFinite())
        {
            Model.ParametersChanged();
            return true;
        }
        for (int p = 0; p < parameters.Count; p++)
        {
            _valueBackup[p].CopyTo(parameters[p].Values, 0);
        }
        foreach ((float[] state, float[] backup) in _state)
        {
            backup.CopyTo(state, 0);
        }
        StepCount--;
        return false;
    }

    private bool AllFinite()
    {
        IReadOnlyList<Parameter> parameters = Model.Parameters;
        for (int p = 0; p < parameters.Count; p++)   // an index loop: foreach over the interface would allocate
        {
            if (!Finite(parameters[p].Values))
            {
                return false;
            }
        }
        foreach ((float[] state, _) in _state)
        {
            if (!Finite(state))
            {
                return false;
            }
        }
        return true;
    }

    // x − x is 0 for every finite x and NaN for ±Inf and NaN.
    private static bool Finite(ReadOnlySpan<float> values)
    {
        int i = 0;
        Vector<float> bad = Vector<float>.Zero;
        for (; i + Vector<float>.Count <= values.Length; i += Vector<float>.Count)
        {
            var x = new Vector<float>(values[i..]);
            bad |= ~Vector.Equals(x - x, Vector<float>.Zero).As<int, float>();
        }
        for (; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]))
            {
                return false;
            }
        }
        return Vector.EqualsAll(bad.As<float, int>(), Vector<int>.Zero);
    }

    /// <summary>Updates parameter number <paramref name="index"/> (packed values and gradients; padding stays zero).</summary>
    protected abstract void Update(int index, Span<float> values, ReadOnlySpan<float> gradients);

    /// <summary>One zeroed state array per parameter, sized like its packed values (snapshotted with the values on every step).</summary>
    protected float[][] StateArrays()
    {
        float[][] arrays = [.. Model.Parameters.Select(p => new float[p.Values.Length])];
        foreach (float[] array in arrays)
        {
            _state.Add((array, new float[array.Length]));
        }
        return arrays;
    }

    /// <summary>The optimizer's state arrays (moments, momentum buffers), for tests.</summary>
    internal IEnumerable<float[]> StateArraysForTests => _state.Select(s => s.State);

    // Moments and momentum buffers decay geometrically wherever a parameter's gradient stays zero, and pass through the
    // subnormals on the way: Adam's v at β₂ = 0.999 takes about 16,000 steps to cross them. On x86 every multiply of a
    // subnormal, or one whose product is subnormal, is a microcode assist: an Adam step over an LSTM with H = 256 ran 5×
    // slower with subnormal moments (Emerald Rapids, 11 ms against 2). So, as the engine's flush (SimdMath.FlushTiny),
    // gradients, m and momentum buffers below 2^-63 count as zero, so that their products with any coefficient or
    // learning rate of at least 2^-63 are normal. g² below 2^-100 and v below 2^-120 also count as zero, which keeps
    // c₂g² and β₂v normal. What this drops cannot move a weight: a term under 2^-63 in m moves it by at most
    // lr·1.1e-19/ε, and √v under 2^-60 is under 8.7e-19, far below ε.
    private protected const float Tiny = Internals.SimdMath.FlushBelow;  // 2^-63, the engine's threshold
    private protected const float TinySquare = 7.888609052210118e-31f;   // 2^-100
    private protected const float TinySecondMoment = 7.52316384526264e-37f; // 2^-120

    /// <summary><paramref name="x"/> with every lane below <paramref name="floor"/> in magnitude set to zero.</summary>
    private protected static Vector<float> Flush(Vector<float> x, float floor) =>
        Vector.ConditionalSelect(Vector.LessThan(Vector.Abs(x), new Vector<float>(floor)), Vector<float>.Zero, x);

    /// <summary><paramref name="x"/>, or zero if it is below <paramref name="floor"/> in magnitude.</summary>
    private protected static float Flush(float x, float floor) => MathF.Abs(x) < floor ? 0f : x;

    /// <summary>Validates a coefficient in [0, 1) or similar ranges.</summary>
    protected static float InRange(float value, float low, float high, string name) =>
        value >= low && value < high ? value : throw new ArgumentOutOfRangeException(name, value, $"Must be in [{low}, {high}).");
}

/// <summary>
/// <c>torch.optim.SGD</c>: g ← g + λp; with momentum μ: b ← g (first step), else μb + (1 − dampening)g;
/// g ← g + μb (Nesterov) or b; p ← p − lr·g. Gradients and momentum below 2^-63 count as zero (a subnormal buffer would
/// make every step many times slower on x86; see the optimizer's flush).
/// </summary>
public sealed class Sgd : Optimizer
{
    private readonly float[][] _momentum;

    /// <summary>Creates SGD over every parameter of <paramref name="model"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A coefficient outside its range.</exception>
    /// <exception cref="ArgumentException">Nesterov without momentum, or with dampening (as PyTorch).</exception>
    public Sgd(TrainableModel model, float learningRate, float momentum = 0f, float dampening = 0f, bool nesterov = false, float weightDecay = 0f)
        : base(model, learningRate)
    {
        Momentum = InRange(momentum, 0f, 1f, nameof(momentum));
        Dampening = InRange(dampening, 0f, 1f, nameof(dampening));
        WeightDecay = InRange(weightDecay, 0f, float.PositiveInfinity, nameof(weightDecay));
        if (nesterov && (momentum <= 0 || dampening != 0))
        {
            throw new ArgumentException("Nesterov momentum requires a momentum and zero dampening.", nameof(nesterov));
        }
        Nesterov = nesterov;
        _momentum = StateArrays();
    }

    /// <summary>μ.</summary>
    public float Momentum { get; }

    /// <summary>Dampening of the momentum buffer.</summary>
    public float Dampening { get; }

    /// <summary>Nesterov momentum.</summary>
    public bool Nesterov { get; }

    /// <summary>L2 penalty λ added to the gradient.</summary>
    public float WeightDecay { get; }

    /// <inheritdoc />
    protected override void Update(int index, Span<float> values, ReadOnlySpan<float> gradients)
    {
        float[] buffer = _momentum[index];
        bool first = StepCount == 1;
        // Lane-wise with Vector<float> for the bulk, the same operations in the same order for the tail,
        // so every element gets exactly the scalar formula's result.
        var lr = new Vector<float>(LearningRate);
        var decay = new Vector<float>(WeightDecay);
        var mu = new Vector<float>(Momentum);
        var keep = new Vector<float>(1f - Dampening);
        int i = 0;
        for (; i + Vector<float>.Count <= values.Length; i += Vector<float>.Count)
        {
            var w = new Vector<float>(values[i..]);
            Vector<float> g = Flush(new Vector<float>(gradients[i..]) + decay * w, Tiny);
            if (Momentum != 0f)
            {
                Vector<float> b = Flush(first ? g : mu * new Vector<float>(buffer.AsSpan(i)) + keep * g, Tiny);
                b.CopyTo(buffer.AsSpan(i));
                g = Nesterov ? g + mu * b : b;
            }
            (w - lr * g).CopyTo(values[i..]);
        }
        for (; i < values.Length; i++)
        {
            float g = Flush(gradients[i] + WeightDecay * values[i], Tiny);
            if (Momentum != 0f)
            {
                buffer[i] = Flush(first ? g : Momentum * buffer[i] + (1f - Dampening) * g, Tiny);
                g = Nesterov ? g + Momentum * buffer[i] : buffer[i];
            }
            values[i] -= LearningRate * g;
        }
    }
}

/// <summary>
/// <c>torch.optim.Adam</c> (defaults lr 1e−3, β = (0.9, 0.999), ε = 1e−8): g ← g + λp; m ← β₁m + (1 − β₁)g;
/// v ← β₂v + (1 − β₂)g²; p ← p − lr·(m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + ε). Gradients and m below 2^-63, g² below
/// 2^-100 and v below 2^-120 count as zero (subnormal moments made a step 5× slower on x86; none of it can move a weight).
/// </summary>
public sealed class Adam : Optimizer
{
    private readonly float[][] _m;
    private readonly float[][] _v;

    /// <summary>Creates Adam over every parameter of <paramref name="model"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A coefficient outside its range.</exception>
    public Adam(TrainableModel model, float learningRate = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float epsilon = 1e-8f, float weightDecay = 0f)
        : base(model, learningRate)
    {
        Beta1 = InRange(beta1, 0f, 1f, nameof(beta1));
        Beta2 = InRange(beta2, 0f, 1f, nameof(beta2));
        Epsilon = epsilon > 0 ? epsilon : throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "Must be positive.");
        WeightDecay = InRange(weightDecay, 0f, float.PositiveInfinity, nameof(weightDecay));
        _m = StateArrays();
        _v = StateArrays();
    }

    /// <summary>β₁.</summary>
    public float Beta1 { get; }

    /// <summary>β₂.</summary>
    public float Beta2 { get; }

    /// <summary>ε.</summary>
    public float Epsilon { get; }

    /// <summary>L2 penalty λ added to the gradient (Adam's, not AdamW's, weight decay).</summary>
    public float WeightDecay { get; }

    /// <inheritdoc />
    protected override void Update(int index, Span<float> values, ReadOnlySpan<float> gradients)
    {
        float[] m = _m[index], v = _v[index];
        float correction1 = 1f - MathF.Pow(Beta1, StepCount);
        float correction2 = 1f - MathF.Pow(Beta2, StepCount);
        float stepSize = LearningRate / correction1;
        float rootCorrection2 = MathF.Sqrt(correction2);
        // Lane-wise for the bulk (square root and division per element dominated the scalar loop), the
        // same operations in the same order for the tail.
        var b1 = new Vector<float>(Beta1);
        var b2 = new Vector<float>(Beta2);
        var c1 = new Vector<float>(1f - Beta1);
        var c2 = new Vector<float>(1f - Beta2);
        var decay = new Vector<float>(WeightDecay);
        var step = new Vector<float>(stepSize);
        var root = new Vector<float>(rootCorrection2);
        var eps = new Vector<float>(Epsilon);
        int i = 0;
        for (; i + Vector<float>.Count <= values.Length; i += Vector<float>.Count)
        {
            var w = new Vector<float>(values[i..]);
            Vector<float> g = Flush(new Vector<float>(gradients[i..]) + decay * w, Tiny);
            Vector<float> mi = Flush(b1 * new Vector<float>(m.AsSpan(i)) + c1 * g, Tiny);
            Vector<float> vi = Flush(b2 * new Vector<float>(v.AsSpan(i)) + c2 * Flush(g * g, TinySquare), TinySecondMoment);
            mi.CopyTo(m.AsSpan(i));
            vi.CopyTo(v.AsSpan(i));
            (w - step * mi / (Vector.SquareRoot(vi) / root + eps)).CopyTo(values[i..]);
        }
        for (; i < values.Length; i++)
        {
            float g = Flush(gradients[i] + WeightDecay * values[i], Tiny);
            m[i] = Flush(Beta1 * m[i] + (1f - Beta1) * g, Tiny);
            v[i] = Flush(Beta2 * v[i] + (1f - Beta2) * Flush(g * g, TinySquare), TinySecondMoment);
            // As torch.optim.Adam computes it: denominator = √v / √(1 − β₂ᵗ) + ε.
            values[i] -= stepSize * m[i] / (MathF.Sqrt(v[i]) / rootCorrection2 + Epsilon);
        }
    }
}
