namespace Rnn.Fast.Cli;

/// <summary>
/// Times one model the way users call it: a streaming <see cref="RnnModel.Step"/> and a sequence
/// <see cref="RnnModel.Run(ReadOnlySpan{float}, int, RnnState, Span{float})"/> of <see cref="SequenceSteps"/> steps, one stream. Shared by the kernel demo and
/// <c>rnnfast bench</c>.
/// </summary>
internal static class ModelTiming
{
    /// <summary>
    /// Steps of one timed Run; also the ring of inputs the streaming loop cycles through, so both paths
    /// see the same varied data rather than a constant input that settles to a fixed point.
    /// </summary>
    public const int SequenceSteps = 100;

    /// <summary>Median ns per streaming step and per step of a <see cref="SequenceSteps"/>-step Run, one stream.</summary>
    public static (double StepNs, double RunNs) Measure(RnnModel model, int seed)
    {
        ArgumentNullException.ThrowIfNull(model);
        var random = new Random(seed);
        float[] inputs = new float[SequenceSteps * model.InputSize];
        for (int i = 0; i < inputs.Length; i++)
        {
            inputs[i] = (float)(random.NextDouble() * 2 - 1);
        }
        float[] outputs = new float[SequenceSteps * model.OutputSize];
        RnnState state = model.CreateState();
        int width = model.InputSize;

        double stepNs = Timing.MedianNanoseconds(iterations =>
        {
            for (int i = 0; i < iterations; i++)
            {
                int t = i % SequenceSteps;
                model.Step(inputs.AsSpan(t * width, width), state, outputs.AsSpan(t * model.OutputSize, model.OutputSize));
            }
        }, operationsPerIteration: 1);

        double runNs = Timing.MedianNanoseconds(iterations =>
        {
            for (int i = 0; i < iterations; i++)
            {
                model.Run(inputs, SequenceSteps, state, outputs);
            }
        }, operationsPerIteration: SequenceSteps);
        return (stepNs, runNs);
    }

    /// <summary>
    /// Flops of the recurrent layers per step, two per multiply-add: LSTM 2·4H(I+H), GRU 2·3H(I+H),
    /// Elman 2·H(I+H) per layer and direction. The head and the activations are left out.
    /// </summary>
    public static double FlopsPerStep(RnnModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        double flops = 0;
        foreach (LayerWeights layer in model.Layers)
        {
            flops += 2.0 * layer.GateCount * layer.HiddenSize * (layer.InputSize + layer.HiddenSize);
        }
        return model.IsBidirectional ? 2 * flops : flops;
    }
}
