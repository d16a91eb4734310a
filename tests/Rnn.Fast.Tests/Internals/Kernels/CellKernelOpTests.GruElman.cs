using Rnn.Fast.Internals;

namespace Rnn.Fast.Tests.Internals.Kernels;

public sealed partial class CellKernelOpTests
{
    [Theory]
    [MemberData(nameof(OpKernels.All), MemberType = typeof(OpKernels))]
    public void GruStepFused_EveryShape_WithinBoundOfReference(string kernelName)
    {
        KernelUnderTest kernel = OpKernels.Get(kernelName);
        foreach ((int hidden, int inputs) in Shapes())
        {
            int seed = OpCases.Seed(nameof(CellKernel.GruStepFused), hidden, inputs);
            string replay = OpCases.Replay(kernel, nameof(CellKernel.GruStepFused), seed, $"H={hidden} I={inputs}");
            var random = new Random(seed);
            var w = new CellWeights(random, 3, hidden, inputs, kernel.Lanes, Scale(seed));
            var x = new Guarded(OpCases.Uniform(random, inputs, 1));
            Guarded hPrev = w.State(random, 1, 1, padding: 0f);
            Guarded bias = w.PackGates(w.Bias);
            Guarded biasHn = PadState(w, w.BiasHn);
            Guarded hNext = Guarded.Output(w.PaddedHidden);

            kernel.Cells.GruStepFused(x.Span, hPrev.Span, w.Wx, w.Wh, bias.Span, biasHn.Span, hNext.Span);

            CellReference.GruUnit[] expected = CellReference.Gru(w, w.Bias, w.BiasHn, x.Span, hPrev.Span[..hidden]);
            AssertGru(w, expected, hNext.Span, default, replay);
            AssertGuards(replay, (x, "x"), (hPrev, "hPrev"), (bias, "bias"), (biasHn, "biasHn"), (hNext, "hNext"));
        }
    }

    [Theory]
    [MemberData(nameof(OpKernels.All), MemberType = typeof(OpKernels))]
    public void GruSteps_EveryHiddenSize_WithinBoundOfReferenceAndStreamByStream(string kernelName)
    {
        KernelUnderTest kernel = OpKernels.Get(kernelName);
        for (int index = 0; index < OpCases.Lengths.Length; index++)
        {
            int hidden = OpCases.Lengths[index];
            int streams = s_streams[index % s_streams.Length];
            bool keep = index / s_streams.Length % 2 == 0;
            int seed = OpCases.Seed(nameof(CellKernel.GruSteps), hidden, streams);
            string replay = OpCases.Replay(kernel, nameof(CellKernel.GruSteps), seed, $"H={hidden} streams={streams} keepGates={keep}");
            var random = new Random(seed);
            var w = new CellWeights(random, 3, hidden, 0, kernel.Lanes, Scale(seed));
            int hp = w.PaddedHidden, gw = w.GateWidth;
            float[][] preRows = [.. Enumerable.Range(0, streams).Select(_ => OpCases.Uniform(random, 3 * hidden, 1))];
            Guarded pre = Concat([.. preRows.Select(row => w.PackGates(row))]);
            Guarded hPrev = w.State(random, streams, 1, padding: 0f);
            Guarded biasHn = PadState(w, w.BiasHn);
            Guarded hNext = Guarded.Output(streams * hp);
            Guarded gates = Guarded.Output(keep ? streams * 4 * hp : 0);

            kernel.Cells.GruSteps(pre.Span, hPrev.Span, w.Wh, biasHn.Span, streams, hNext.Span, gates.Span);

            for (int s = 0; s < streams; s++)
            {
                CellReference.GruUnit[] expected = CellReference.Gru(w, preRows[s], w.BiasHn, [], hPrev.Span.Slice(s * hp, hidden));
                AssertGru(w, expected, hNext.Span.Slice(s * hp, hp), keep ? gates.Span.Slice(s * 4 * hp, 4 * hp) : default, $"stream {s}; {replay}");

                // Streams step one by one here, so one alone gives the same bits.
                Guarded alone = Guarded.Output(hp);
                kernel.Cells.GruSteps(pre.Span.Slice(s * gw, gw), hPrev.Span.Slice(s * hp, hp), w.Wh, biasHn.Span, 1, alone.Span, default);
                AssertSame(alone.Span, hNext.Span.Slice(s * hp, hp), $"stream {s} alone vs together", replay);
            }
            AssertGuards(replay, (pre, "pre"), (hPrev, "hPrev"), (biasHn, "biasHn"), (hNext, "hNext"), (gates, "gates"));
        }
    }

    [Theory]
    [MemberData(nameof(OpKernels.All), MemberType = typeof(OpKernels))]
    public void ElmanStepFused_EveryShapeAndNonlinearity_WithinBoundOfReference(string kernelName)
    {
        KernelUnderTest kernel = OpKernels.Get(kernelName);
        List<(int Hidden, int Inputs)> shapes = Shapes();
        for (int index = 0; index < shapes.Count; index++)
        {
            (int hidden, int inputs) = shapes[index];
            foreach (Activation f in s_nonlinearities)
            {
                int seed = OpCases.Seed(nameof(CellKernel.ElmanStepFused) + f, hidden, inputs);
                string replay = OpCases.Replay(kernel, nameof(CellKernel.ElmanStepFused), seed, $"H={hidden} I={inputs} f={f}");
                var random = new Random(seed);
                var w = new CellWeights(random, 1, hidden, inputs, kernel.Lanes, Scale(seed));
                var x = new Guarded(OpCases.Uniform(random, inputs, 1));
                Guarded hPrev = w.State(random, 1, 1, padding: Guarded.Sentinel);
                Guarded bias = w.PackGates(w.Bias);
                Guarded hNext = Guarded.Output(w.PaddedHidden);

                kernel.Cells.ElmanStepFused(f, x.Span, hPrev.Span, w.Wx, w.Wh, bias.Span, hNext.Span);

                Approx[] expected = CellReference.Elman(f, w, w.Bias, x.Span, hPrev.Span[..hidden]);
                AssertElman(w, f, expected, hNext.Span, replay);
                AssertGuards(replay, (x, "x"), (hPrev, "hPrev"), (bias, "bias"), (hNext, "hNext"));
            }
        }
    }

    [Theory]
    [MemberData(nameof(OpKernels.All), MemberType = typeof(OpKernels))]
    public void ElmanSteps_EveryHiddenSizeAndNonlinearity_WithinBoundOfReference(string kernelName)
    {
        KernelUnderTest kernel = OpKernels.Get(kernelName);
        for (int index = 0; index < OpCases.Lengths.Length; index++)
        {
            int hidden = OpCases.Lengths[index];
            int streams = s_streams[index % s_streams.Length];
            foreach (Activation f in s_nonlinearities)
            {
                int seed = OpCases.Seed(nameof(CellKernel.ElmanSteps) + f, hidden, streams);
                string replay = OpCases.Replay(kernel, nameof(CellKernel.ElmanSteps), seed, $"H={hidden} streams={streams} f={f}");
                var random = new Random(seed);
                var w = new CellWeights(random, 1, hidden, 0, kernel.Lanes, Scale(seed));
                int hp = w.PaddedHidden;
                float[][] preRows = [.. Enumerable.Range(0, streams).Select(_ => OpCases.Uniform(random, hidden, 1))];
                Guarded pre = Concat([.. preRows.Select(row => w.PackGates(row))]);
                Guarded hPrev = w.State(random, streams, 1, padding: Guarded.Sentinel);
                Guarded hNext = Guarded.Output(streams * hp);

                kernel.Cells.ElmanSteps(f, pre.Span, hPrev.Span, w.Wh, streams, hNext.Span);

                for (int s = 0; s < streams; s++)
                {
                    Approx[] expected = CellReference.Elman(f, w, preRows[s], [], hPrev.Span.Slice(s * hp, hidden));
                    AssertElman(w, f, expected, hNext.Span.Slice(s * hp, hp), $"stream {s}; {replay}");
                }
                AssertGuards(replay, (pre, "pre"), (hPrev, "hPrev"), (hNext, "hNext"));
            }
        }
    }

    private static void AssertGru(CellWeights w, CellReference.GruUnit[] expected, ReadOnlySpan<float> h,
        ReadOnlySpan<float> gates, string replay)
    {
        for (int u = 0; u < w.PaddedHidden; u++)
        {
            if (u < w.Hidden)
            {
                OpCases.AssertWithin(h[u], expected[u].H, $"h[{u}]", replay);
            }
            else
            {
                // Zero weights, biases and h: r = z = 1/2, n = 0, so h' = n + z (h − n) = 0.
                OpCases.AssertExactly(0f, h[u], $"padding h[{u}]", replay);
            }
            if (!gates.IsEmpty)
            {
                ReadOnlySpan<float> padding = [0.5f, 0.5f, 0f, 0f];
                for (int g = 0; g < 4; g++)
                {
                    float actual = gates[w.GateIndex(g, u, 4)];
                    if (u < w.Hidden)
                    {
                        Approx[] kept = [expected[u].R, expected[u].Z, expected[u].N, expected[u].HiddenPart];
                        OpCases.AssertWithin(actual, kept[g], $"kept {s_gruKept[g]}[{u}]", replay);
                    }
                    else
                    {
                        OpCases.AssertExactly(padding[g], actual, $"padding kept[{g}][{u}]", replay);
                    }
                }
            }
        }
    }

    private static void AssertElman(CellWeights w, Activation f, Approx[] expected, ReadOnlySpan<float> h, string replay)
    {
        for (int u = 0; u < w.PaddedHidden; u++)
        {
            if (u < w.Hidden)
            {
                OpCases.AssertWithin(h[u], expected[u], $"h[{u}]", replay);
            }
            else
            {
                // Zero weights and bias: f(0), which is 0 except for the sigmoid's 1/2.
                OpCases.AssertExactly(CellReference.AtZero(f), h[u], $"padding h[{u}]", replay);
            }
        }
    }
}
