using Rnn.Fast.Internals;

namespace Rnn.Fast.Tests.Kernels;

/// <summary>
/// The multi-stream cell family (<see cref="RnnKernel.StreamCells"/>) against the one-stream family stepping each
/// stream alone, per kernel width, at tile edges: stream counts around every tile size (1..9, 13), hidden sizes
/// below, at and past one register (H not a multiple of the lanes), an odd number of blocks (Elman pairs blocks),
/// with and without kept gates, and c updated in place.
/// </summary>
[Trait("Category", "Kernel")]
public sealed class StreamTiledCellsTests
{
    private static readonly int[] s_streams = [1, 2, 3, 4, 5, 6, 7, 8, 9, 13];

    private static int[] HiddenSizes(int lanes) => [1, 3, lanes, lanes + 1, 2 * lanes + 3, 40];

    private static float[] Random(Random random, int length, float scale = 1f)
    {
        var values = new float[length];
        for (int i = 0; i < length; i++)
        {
            values[i] = (float)(random.NextDouble() * 2 - 1) * scale;
        }
        return values;
    }

    private static PackedMatrix RandomMatrix(Random random, int hidden, int gates, int lanes)
    {
        var matrix = new PackedMatrix(hidden, hidden, gates, lanes);
        Random(random, matrix.Values.Length, 1f / MathF.Sqrt(hidden)).CopyTo(matrix.Values, 0);
        return matrix;
    }

    private static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            float tolerance = 1e-5f + 1e-5f * MathF.Abs(expected[i]);
            Assert.True(MathF.Abs(expected[i] - actual[i]) <= tolerance, $"{what}[{i}]: expected {expected[i]}, got {actual[i]}");
        }
    }

    [Theory]
    [MemberData(nameof(KernelData.Available), MemberType = typeof(KernelData))]
    public void StreamCells_LstmSteps_MatchOneStreamAtATime(string kernelName)
    {
        RnnKernel kernel = KernelRegistry.Get(kernelName);
        var random = new Random(1101);
        foreach (int hidden in HiddenSizes(kernel.Lanes))
        {
            PackedMatrix wh = RandomMatrix(random, hidden, 4, kernel.Lanes);
            int hp = wh.Blocks * kernel.Lanes, gw = wh.RowWidth;
            foreach (int streams in s_streams)
            {
                float[] pre = Random(random, streams * gw), h = Random(random, streams * hp), c = Random(random, streams * hp);
                float[] cExpected = new float[streams * hp], hExpected = new float[streams * hp], gExpected = new float[streams * gw];
                for (int s = 0; s < streams; s++)
                {
                    kernel.Cells.LstmSteps(pre.AsSpan(s * gw, gw), h.AsSpan(s * hp, hp), c.AsSpan(s * hp, hp), wh, 1,
                        cExpected.AsSpan(s * hp, hp), hExpected.AsSpan(s * hp, hp), gExpected.AsSpan(s * gw, gw));
                }
                float[] cActual = new float[streams * hp], hActual = new float[streams * hp], gActual = new float[streams * gw];
                kernel.StreamCells.LstmSteps(pre, h, c, wh, streams, cActual, hActual, gActual);
                string at = $"{kernelName} H={hidden} S={streams}";
                AssertClose(cExpected, cActual, $"c {at}");
                AssertClose(hExpected, hActual, $"h {at}");
                AssertClose(gExpected, gActual, $"gates {at}");

                // Inference: no gates kept, c updated in place.
                float[] cInPlace = (float[])c.Clone();
                Array.Clear(hActual);
                kernel.StreamCells.LstmSteps(pre, h, cInPlace, wh, streams, cInPlace, hActual, default);
                AssertClose(cExpected, cInPlace, $"c in place {at}");
                AssertClose(hExpected, hActual, $"h in place {at}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(KernelData.Available), MemberType = typeof(KernelData))]
    public void StreamCells_GruSteps_MatchOneStreamAtATime(string kernelName)
    {
        RnnKernel kernel = KernelRegistry.Get(kernelName);
        var random = new Random(1102);
        foreach (int hidden in HiddenSizes(kernel.Lanes))
        {
            PackedMatrix wh = RandomMatrix(random, hidden, 3, kernel.Lanes);
            int hp = wh.Blocks * kernel.Lanes, gw = wh.RowWidth;
            float[] biasHn = Random(random, hp);
            foreach (int streams in s_streams)
            {
                float[] pre = Random(random, streams * gw), h = Random(random, streams * hp);
                float[] hExpected = new float[streams * hp], gExpected = new float[streams * 4 * hp];
                for (int s = 0; s < streams; s++)
                {
                    kernel.Cells.GruSteps(pre.AsSpan(s * gw, gw), h.AsSpan(s * hp, hp), wh, biasHn, 1,
                        hExpected.AsSpan(s * hp, hp), gExpected.AsSpan(s * 4 * hp, 4 * hp));
                }
                float[] hActual = new float[streams * hp], gActual = new float[streams * 4 * hp];
                kernel.StreamCells.GruSteps(pre, h, wh, biasHn, streams, hActual, gActual);
                string at = $"{kernelName} H={hidden} S={streams}";
                AssertClose(hExpected, hActual, $"h {at}");
                AssertClose(gExpected, gActual, $"gates {at}");

                Array.Clear(hActual);
                kernel.StreamCells.GruSteps(pre, h, wh, biasHn, streams, hActual, default);
                AssertClose(hExpected, hActual, $"h without gates {at}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(KernelData.Available), MemberType = typeof(KernelData))]
    public void StreamCells_ElmanSteps_MatchOneStreamAtATime(string kernelName)
    {
        RnnKernel kernel = KernelRegistry.Get(kernelName);
        var random = new Random(1103);
        foreach (Activation nonlinearity in new[] { Activation.Tanh, Activation.Relu, Activation.Sigmoid, Activation.Identity })
        {
            foreach (int hidden in HiddenSizes(kernel.Lanes))
            {
                PackedMatrix wh = RandomMatrix(random, hidden, 1, kernel.Lanes);
                int hp = wh.Blocks * kernel.Lanes;
                foreach (int streams in s_streams)
                {
                    float[] pre = Random(random, streams * hp), h = Random(random, streams * hp);
                    float[] expected = new float[streams * hp];
                    for (int s = 0; s < streams; s++)
                    {
                        kernel.Cells.ElmanSteps(nonlinearity, pre.AsSpan(s * hp, hp), h.AsSpan(s * hp, hp), wh, 1, expected.AsSpan(s * hp, hp));
                    }
                    float[] actual = new float[streams * hp];
                    kernel.StreamCells.ElmanSteps(nonlinearity, pre, h, wh, streams, actual);
                    AssertClose(expected, actual, $"h {kernelName} {nonlinearity} H={hidden} S={streams}");
                }
            }
        }
    }

    [Fact]
    public void StreamCells_AreTheStreamTiledFamily_ForEveryKernel()
    {
        foreach (RnnKernel kernel in KernelRegistry.Available)
        {
            Assert.StartsWith("StreamTiledCells", kernel.StreamCells.GetType().Name, StringComparison.Ordinal);
            Assert.Equal(kernel.Lanes, kernel.StreamCells.Lanes);
        }
    }
}
