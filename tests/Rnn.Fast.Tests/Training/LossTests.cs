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
