using Rnn.Fast.Training;

namespace Rnn.Fast.Tests.Training;

/// <summary>
/// The losses against their definitions written as plain double loops: the vectorised mean squared error must give
/// the definition's gradient bit for bit (same operations per element) and its loss within double rounding, for every
/// output size around the 8-float registers, with and without a mask.
/// </summary>
[Trait("Category", "Kernel")]
public sealed class LossTests
{
    [Fact]
    public void Losses_GradientsBelowTwoToMinus63_WrittenAsZero_NeverSubnormal()
    {
        // A confident classifier: softmax probabilities of e^-120 and e^-50 are subnormal or tiny in float; and an MSE
        // output within 1e-25 of its target. Every x86 multiply of a subnormal dL/dy in backward would be an assist.
        float tiny = MathF.ScaleB(1f, -63);
        float[] logits = [100f, 0f, -20f, 70f, 50f, 48f, 52f, 51f, 49f];   // 3 rows of 3 classes
        float[] classes = [0f, 0f, 0f];
        float[] dy = new float[logits.Length];
        Loss.SoftmaxCrossEntropy(logits, classes, default, 3, dy);
        Assert.All(dy, g => Assert.True(g == 0 || MathF.Abs(g) >= tiny, $"cross-entropy dL/dy {g:R} is below 2^-63 but not zero"));
        Assert.Equal(0f, dy[2]);   // e^-120 / 3: subnormal before the flush
        Assert.NotEqual(0f, dy[3]); // e^-30 / 3 ≈ 3e-14: kept

        // 8 and 3 outputs: the vector body and the scalar tail.
        foreach (int n in (int[])[8, 3])
        {
            // Even outputs 3e-20 from their targets (dL/dy = 2·3e-20/n, under 2^-63), odd ones 1e-3.
            float[] y = [.. Enumerable.Range(0, n).Select(i => i % 2 == 0 ? 3e-20f : 0.5f + i)];
            float[] target = [.. y.Select((v, i) => i % 2 == 0 ? 0f : v + 1e-3f)];
            float[] g = new float[n];
            Loss.MeanSquaredError(y, target, default, n, g);
            Assert.All(g, v => Assert.True(v == 0 || MathF.Abs(v) >= tiny, $"MSE dL/dy {v:R} is below 2^-63 but not zero"));
            Assert.Equal(0f, g[0]);
            Assert.NotEqual(0f, g[1]);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(9)]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(17)]
    [InlineData(33)]
    [InlineData(128)]
    public void MeanSquaredError_MatchesTheDefinition(int outputSize)
    {
        var random = new Random(outputSize);
        const int rows = 13;
        float[] y = [.. Enumerable.Range(0, rows * outputSize).Select(_ => (float)(random.NextDouble() * 4 - 2))];
        float[] target = [.. Enumerable.Range(0, rows * outputSize).Select(_ => (float)(random.NextDouble() * 4 - 2))];
        float[] mask = [.. Enumerable.Range(0, rows).Select(r => r % 4 == 1 ? 0f : (float)random.NextDouble() * 2)];
        foreach (float[] m in (float[][])[[], mask])
        {
            var gradient = new float[y.Length];
            float loss = Loss.MeanSquaredError(y, target, m, outputSize, gradient);
            (double expected, float[] expectedGradient) = Definition(y, target, m, outputSize);
            Assert.Equal(expectedGradient, gradient);
            Assert.True(Math.Abs(loss - expected) <= 1e-6 * Math.Abs(expected), $"O={outputSize} mask={m.Length > 0}: {loss} vs {expected}");
        }
    }

    // Σ mask·(y − t)² / (M·O) and dL/dy = 2·w·diff·scale per element, in double, one element at a time.
    private static (double Loss, float[] Gradient) Definition(float[] y, float[] target, float[] mask, int outputSize)
    {
        int rows = y.Length / outputSize;
        double weightSum = mask.Length == 0 ? rows : mask.Sum(w => (double)w);
        double scale = 1.0 / (weightSum * outputSize);
        double sum = 0;
        var gradient = new float[y.Length];
        for (int r = 0; r < rows; r++)
        {
            float w = mask.Length == 0 ? 1f : mask[r];
            for (int o = 0; o < outputSize && w != 0; o++)
            {
                int i = r * outputSize + o;
                double diff = (double)y[i] - target[i];
                sum += w * diff * diff;
                gradient[i] = (float)(2 * w * diff * scale);
            }
        }
        return (sum * scale, gradient);
    }
}
