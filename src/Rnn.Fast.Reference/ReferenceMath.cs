namespace Rnn.Fast.Reference;

/// <summary>Activations in double precision, straight from their definitions.</summary>
public static class ReferenceMath
{
    public static double Sigmoid(double x) => 1.0 / (1.0 + Math.Exp(-x));

    public static double Apply(Activation activation, double x) => activation switch
    {
        Activation.Identity => x,
        Activation.Tanh => Math.Tanh(x),
        Activation.Relu => double.IsNaN(x) ? x : Math.Max(x, 0.0),
        Activation.Sigmoid => Sigmoid(x),
        _ => throw new ArgumentOutOfRangeException(nameof(activation), activation, "Not element-wise."),
    };

    /// <summary>Applies an activation to one step's vector (softmax over all of it).</summary>
    public static void Apply(Activation activation, Span<double> values)
    {
        if (activation != Activation.Softmax)
        {
            for (int i = 0; i < values.Length; i++)
            {
                values[i] = Apply(activation, values[i]);
            }
            return;
        }
        double max = double.NegativeInfinity;
        foreach (double v in values)
        {
            max = Math.Max(max, v);
        }
        double sum = 0;
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = Math.Exp(values[i] - max);
            sum += values[i];
        }
        for (int i = 0; i < values.Length; i++)
        {
            values[i] /= sum;
        }
    }
}
