using Rnn.Fast.Training;

namespace Rnn.Fast.Tests.Training;

/// <summary>
/// The training forward pass runs in Run's chunks, so it computes every output bit for bit as <c>Run</c> does, over
/// sequences of one and several chunks, every cell, stacks and heads. One exception, by design: a chunk of a single row
/// (batch 1, T one past a multiple of the chunk) takes Run's fused streaming step, which sums W_ih·x and W_hh·h in one
/// pass; the training pass keeps the gates and cannot, so there the two agree within rounding instead.
/// </summary>
[Trait("Category", "Kernel")]
public sealed class TrainingForwardTests
{
    [Theory]
    [MemberData(nameof(KernelData.Available), MemberType = typeof(KernelData))]
    public void Forward_AnyLength_EqualsRunBitForBit(string kernel)
    {
        foreach (CellType cell in (CellType[])[CellType.Lstm, CellType.Gru, CellType.Elman])
        {
            foreach ((int steps, int batch, int layers, int outputs) in (ReadOnlySpan<(int, int, int, int)>)[(2, 1, 1, 1), (7, 3, 2, 0), (258, 1, 1, 2), (200, 3, 2, 1), (131, 2, 1, 0)])
            {
                var random = new Random(steps * 31 + batch);
                var weights = new LayerWeights[layers];
                for (int l = 0; l < layers; l++)
                {
                    weights[l] = LayerWeights.Random(cell, l == 0 ? 3 : 6, 6, random);
                }
                HeadWeights? head = outputs > 0 ? HeadWeights.Random(6, outputs, random, Activation.Tanh) : null;
                RnnModel model = RnnModel.Create(weights, head, kernel);
                float[] inputs = [.. Enumerable.Range(0, steps * batch * 3).Select(_ => (float)(random.NextDouble() * 2 - 1))];

                var expected = new float[steps * batch * model.OutputSize];
                model.Run(inputs, steps, model.CreateState(batch), expected);
                TrainableModel trainable = TrainableModel.From(model);
                float[] actual = trainable.Forward(inputs, steps, trainable.CreateWorkspace(steps, batch)).ToArray();
                Assert.True(expected.AsSpan().SequenceEqual(actual), $"{kernel} {cell} T={steps} B={batch} layers={layers} O={outputs}: Forward differs from Run");
            }
        }
    }

    [Theory]
    [MemberData(nameof(KernelData.Available), MemberType = typeof(KernelData))]
    public void Forward_OneRowLastChunk_AgreesWithRunWithinRounding(string kernel)
    {
        foreach (CellType cell in (CellType[])[CellType.Lstm, CellType.Gru, CellType.Elman])
        {
            var random = new Random(5);
            RnnModel model = RnnModel.Create([LayerWeights.Random(cell, 3, 6, random)], HeadWeights.Random(6, 2, random, Activation.Identity), kernel);
            foreach (int steps in (int[])[1, 257])
            {
                float[] inputs = [.. Enumerable.Range(0, steps * 3).Select(_ => (float)(random.NextDouble() * 2 - 1))];
                var expected = new float[steps * model.OutputSize];
                model.Run(inputs, steps, model.CreateState(), expected);
                TrainableModel trainable = TrainableModel.From(model);
                float[] actual = trainable.Forward(inputs, steps, trainable.CreateWorkspace(steps)).ToArray();
                for (int i = 0; i < actual.Length; i++)
                {
                    // Sums of at most 10 products of magnitudes ≤ 1.5 through contracting activations: 1e-5 is ~100 ulp.
                    Assert.True(Math.Abs(actual[i] - expected[i]) <= 1e-5f, $"{kernel} {cell} T={steps} [{i}]: {actual[i]} vs {expected[i]}");
                }
            }
        }
    }
}
