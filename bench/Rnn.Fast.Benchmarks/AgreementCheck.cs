using Rnn.Fast.Baselines;
using Rnn.Fast.Reference;

namespace Rnn.Fast.Benchmarks;

/// <summary>
/// Runs a few steps of an implementation beside the double-precision reference before any timing,
/// so a benchmark can never report the speed of a wrong answer (a mis-packed kernel or a broken baseline).
/// </summary>
internal static class AgreementCheck
{
    // Loose on purpose: this catches wrong layouts and gates, not rounding; the tests own precision.
    private const double Tolerance = 1e-3;

    public static void Verify(string name, RnnModel model, StepFunction step, ReadOnlySpan<float> inputs /* [T, I] */)
    {
        var reference = new ReferenceModel(model);
        ReferenceState state = reference.CreateState();
        int steps = inputs.Length / model.InputSize;
        var y = new float[model.OutputSize];
        for (int t = 0; t < steps; t++)
        {
            ReadOnlySpan<float> x = inputs.Slice(t * model.InputSize, model.InputSize);
            double[] expected = reference.Step(x, state);
            step(x, y);
            for (int o = 0; o < y.Length; o++)
            {
                if (!(Math.Abs(y[o] - expected[o]) <= Tolerance * (1 + Math.Abs(expected[o]))))
                {
                    throw new InvalidOperationException(
                        $"{name} disagrees with the reference at step {t}, output {o}: {y[o]} vs {expected[o]}.");
                }
            }
        }
    }

    /// <summary>Deterministic inputs uniform in [-1, 1).</summary>
    public static float[] RandomInputs(int count, int seed)
    {
        var random = new Random(seed);
        var values = new float[count];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = (float)(random.NextDouble() * 2 - 1);
        }
        return values;
    }
}
