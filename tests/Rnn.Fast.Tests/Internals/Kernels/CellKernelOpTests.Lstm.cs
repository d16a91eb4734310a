using Rnn.Fast.Internals;

namespace Rnn.Fast.Tests.Internals.Kernels;

public sealed partial class CellKernelOpTests
{
    [Theory]
    [MemberData(nameof(OpKernels.All), MemberType = typeof(OpKernels))]
    public void LstmStepFused_EveryShape_WithinBoundOfReference(string kernelName)
    {
        KernelUnderTest kernel = OpKernels.Get(kernelName);
        foreach ((int hidden, int inputs) in Shapes())
        {
            int seed = OpCases.Seed(nameof(CellKernel.LstmStepFused), hidden, inputs);
            string replay = OpCases.Replay(kernel, nameof(CellKernel.LstmStepFused), seed, $"H={hidden} I={inputs}");
            var random = new Random(seed);
            var w = new CellWeights(random, 4, hidden, inputs, kernel.Lanes, Scale(seed));
            var x = new Guarded(OpCases.Uniform(random, inputs, 1));
            Guarded hPrev = w.State(random, 1, 1, padding: Guarded.Sentinel);
            Guarded cPrev = w.State(random, 1, 2, padding: 0f);
            Guarded bias = w.PackGates(w.Bias);
            Guarded cNext = Guarded.Output(w.PaddedHidden), hNext = Guarded.Output(w.PaddedHidden);

            kernel.Cells.LstmStepFused(x.Span, hPrev.Span, cPrev.Span, w.Wx, w.Wh, bias.Span, cNext.Span, hNext.Span);

            CellReference.LstmUnit[] expected = CellReference.Lstm(w, w.Bias, x.Span, hPrev.Span[..hidden], cPrev.Span[..hidden]);
            AssertLstm(w, expected, cNext.Span, hNext.Span, default, replay);
            AssertGuards(replay, (x, "x"), (hPrev, "hPrev"), (cPrev, "cPrev"), (bias, "bias"), (cNext, "cNext"), (hNext, "hNext"));
        }
    }

    [Theory]
    [MemberData(nameof(OpKernels.All), MemberType = typeof(OpKernels))]
    public void LstmSteps_EveryHiddenSize_WithinBoundOfReference(string kernelName)
    {
        KernelUnderTest kernel = OpKernels.Get(kernelName);
        for (int index = 0; index < OpCases.Lengths.Length; index++)
        {
            int hidden = OpCases.Lengths[index];
            int streams = s_streams[index % s_streams.Length];
            bool keep = index / s_streams.Length % 2 == 0;
            int seed = OpCases.Seed(nameof(CellKernel.LstmSteps), hidden, streams);
            string replay = OpCases.Replay(kernel, nameof(CellKernel.LstmSteps), seed, $"H={hidden} streams={streams} keepGates={keep}");
            var random = new Random(seed);
            var w = new CellWeights(random, 4, hidden, 0, kernel.Lanes, Scale(seed));
            var run = LstmStepsCase.Create(w, random, streams, keep);

            kernel.Cells.LstmSteps(run.Pre.Span, run.HPrev.Span, run.CPrev.Span, w.Wh, streams, run.CNext.Span, run.HNext.Span, run.GatesSpan);

            run.AssertMatchesReference(replay);
        }
    }

    [Theory]
    [MemberData(nameof(OpKernels.All), MemberType = typeof(OpKernels))]
    public void LstmSteps_Streams_EachMatchesItsOwnStep(string kernelName)
    {
        // Streams step together (in pairs sharing each W_hh load) or one by one; a stream's result must not depend
        // on that beyond rounding. The pair path accumulates in a different order than the single path, so the two
        // are compared through the reference bound rather than bit for bit.
        KernelUnderTest kernel = OpKernels.Get(kernelName);
        foreach (int hidden in s_byStreamHidden)
        {
            foreach (int streams in s_streams)
            {
                int seed = OpCases.Seed("LstmStepsByStream", hidden, streams);
                string replay = OpCases.Replay(kernel, nameof(CellKernel.LstmSteps), seed, $"H={hidden} streams={streams} (each stream alone vs together)");
                var random = new Random(seed);
                var w = new CellWeights(random, 4, hidden, 0, kernel.Lanes, Scale(seed));
                var together = LstmStepsCase.Create(w, random, streams, keep: true);
                kernel.Cells.LstmSteps(together.Pre.Span, together.HPrev.Span, together.CPrev.Span, w.Wh, streams,
                    together.CNext.Span, together.HNext.Span, together.GatesSpan);

                int hp = w.PaddedHidden, gw = w.GateWidth;
                for (int s = 0; s < streams; s++)
                {
                    Guarded cNext = Guarded.Output(hp), hNext = Guarded.Output(hp), gates = Guarded.Output(gw);
                    kernel.Cells.LstmSteps(together.Pre.Span.Slice(s * gw, gw), together.HPrev.Span.Slice(s * hp, hp),
                        together.CPrev.Span.Slice(s * hp, hp), w.Wh, 1, cNext.Span, hNext.Span, gates.Span);
                    string stream = $"stream {s} alone; {replay}";
                    for (int u = 0; u < hp; u++)
                    {
                        OpCases.AssertWithin(together.CNext[s * hp + u], together.Expected(s, u, 'c'), $"c[{u}] (together)", stream);
                        OpCases.AssertWithin(cNext[u], together.Expected(s, u, 'c'), $"c[{u}] (alone)", stream);
                        OpCases.AssertWithin(together.HNext[s * hp + u], together.Expected(s, u, 'h'), $"h[{u}] (together)", stream);
                        OpCases.AssertWithin(hNext[u], together.Expected(s, u, 'h'), $"h[{u}] (alone)", stream);
                    }
                    AssertGuards(stream, (cNext, "cNext"), (hNext, "hNext"), (gates, "gates"));
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(OpKernels.All), MemberType = typeof(OpKernels))]
    public void Lstm_CellInPlace_SameAsSeparateBuffers(string kernelName)
    {
        // The contract allows cNext to be cPrev itself; each block reads its c before writing it.
        KernelUnderTest kernel = OpKernels.Get(kernelName);
        foreach ((int hidden, int streams) in s_inPlaceShapes)
        {
            int seed = OpCases.Seed("LstmInPlace", hidden, streams);
            string replay = OpCases.Replay(kernel, "LstmStepFused+LstmSteps", seed, $"H={hidden} streams={streams} cNext==cPrev");
            var random = new Random(seed);
            var w = new CellWeights(random, 4, hidden, 7, kernel.Lanes, Scale(seed));
            int hp = w.PaddedHidden;

            // Fused, one stream.
            var x = new Guarded(OpCases.Uniform(random, 7, 1));
            Guarded hPrev = w.State(random, streams, 1, padding: 0f);
            Guarded cPrev = w.State(random, streams, 2, padding: 0f);
            Guarded bias = w.PackGates(w.Bias);
            Guarded cSeparate = Guarded.Output(hp), hSeparate = Guarded.Output(hp), hInPlace = Guarded.Output(hp);
            var cInPlace = Guarded.InOut(cPrev.Span[..hp]);
            kernel.Cells.LstmStepFused(x.Span, hPrev.Span[..hp], cPrev.Span[..hp], w.Wx, w.Wh, bias.Span, cSeparate.Span, hSeparate.Span);
            kernel.Cells.LstmStepFused(x.Span, hPrev.Span[..hp], cInPlace.Span, w.Wx, w.Wh, bias.Span, cInPlace.Span, hInPlace.Span);
            AssertSame(cSeparate, cInPlace, "fused c", replay);
            AssertSame(hSeparate, hInPlace, "fused h", replay);

            // Steps, all streams, gates kept.
            var pre = new Guarded(OpCases.Uniform(random, streams * w.GateWidth, 1));
            Guarded cs = Guarded.Output(streams * hp), hs = Guarded.Output(streams * hp), hi = Guarded.Output(streams * hp);
            Guarded gs = Guarded.Output(streams * w.GateWidth), gi = Guarded.Output(streams * w.GateWidth);
            var ci = Guarded.InOut(cPrev.Span);
            kernel.Cells.LstmSteps(pre.Span, hPrev.Span, cPrev.Span, w.Wh, streams, cs.Span, hs.Span, gs.Span);
            kernel.Cells.LstmSteps(pre.Span, hPrev.Span, ci.Span, w.Wh, streams, ci.Span, hi.Span, gi.Span);
            AssertSame(cs, ci, "steps c", replay);
            AssertSame(hs, hi, "steps h", replay);
            AssertSame(gs, gi, "steps gates", replay);
            AssertGuards(replay, (cInPlace, "cInPlace"), (ci, "ci"), (hi, "hi"), (gi, "gi"));
        }
    }

    /// <summary>An LSTM step of S streams from precomputed pre-activations, with its inputs and the reference.</summary>
    private sealed class LstmStepsCase
    {
        private CellWeights _w = null!;
        private CellReference.LstmUnit[][] _expected = null!;

        public Guarded Pre { get; private init; } = null!;
        public Guarded HPrev { get; private init; } = null!;
        public Guarded CPrev { get; private init; } = null!;
        public Guarded CNext { get; private init; } = null!;
        public Guarded HNext { get; private init; } = null!;
        public Guarded Gates { get; private init; } = null!;
        public Span<float> GatesSpan => Gates.Span;
        public int Streams { get; private init; }

        public static LstmStepsCase Create(CellWeights w, Random random, int streams, bool keep)
        {
            float[][] preRows = [.. Enumerable.Range(0, streams).Select(_ => OpCases.Uniform(random, 4 * w.Hidden, 1))];
            var run = new LstmStepsCase
            {
                _w = w,
                Streams = streams,
                Pre = Concat([.. preRows.Select(row => w.PackGates(row))]),
                HPrev = w.State(random, streams, 1, padding: Guarded.Sentinel),
                CPrev = w.State(random, streams, 2, padding: 0f),
                CNext = Guarded.Output(streams * w.PaddedHidden),
                HNext = Guarded.Output(streams * w.PaddedHidden),
                Gates = Guarded.Output(keep ? streams * w.GateWidth : 0),
            };
            int hp = w.PaddedHidden, hidden = w.Hidden;
            run._expected = [.. Enumerable.Range(0, streams).Select(s =>
                CellReference.Lstm(w, preRows[s], [], run.HPrev.Span.Slice(s * hp, hidden), run.CPrev.Span.Slice(s * hp, hidden)))];
            return run;
        }

        /// <summary>The reference of unit u of stream s (<c>'c'</c> or <c>'h'</c>); padding units are exactly 0.</summary>
        public Approx Expected(int stream, int unit, char which) =>
            unit >= _w.Hidden ? Approx.Exact(0) : which == 'c' ? _expected[stream][unit].C : _expected[stream][unit].H;

        public void AssertMatchesReference(string replay)
        {
            int hp = _w.PaddedHidden, gw = _w.GateWidth;
            for (int s = 0; s < Streams; s++)
            {
                AssertLstm(_w, _expected[s], CNext.Span.Slice(s * hp, hp), HNext.Span.Slice(s * hp, hp),
                    Gates.Length == 0 ? default : Gates.Span.Slice(s * gw, gw), $"stream {s}; {replay}");
            }
            AssertGuards(replay, (Pre, "pre"), (HPrev, "hPrev"), (CPrev, "cPrev"), (CNext, "cNext"), (HNext, "hNext"), (Gates, "gates"));
        }
    }

    private static void AssertLstm(CellWeights w, CellReference.LstmUnit[] expected, ReadOnlySpan<float> c, ReadOnlySpan<float> h,
        ReadOnlySpan<float> gates, string replay)
    {
        for (int u = 0; u < w.PaddedHidden; u++)
        {
            if (u < w.Hidden)
            {
                OpCases.AssertWithin(c[u], expected[u].C, $"c[{u}]", replay);
                OpCases.AssertWithin(h[u], expected[u].H, $"h[{u}]", replay);
            }
            else
            {
                // Zero weights, bias and c: i = f = o = σ(0) = 1/2, g = tanh(0) = 0, so c' = 0 and h' = 0.
                OpCases.AssertExactly(0f, c[u], $"padding c[{u}]", replay);
                OpCases.AssertExactly(0f, h[u], $"padding h[{u}]", replay);
            }
            if (!gates.IsEmpty)
            {
                ReadOnlySpan<float> padding = [0.5f, 0.5f, 0f, 0.5f];
                for (int g = 0; g < 4; g++)
                {
                    float actual = gates[w.GateIndex(g, u, 4)];
                    if (u < w.Hidden)
                    {
                        Approx[] kept = [expected[u].I, expected[u].F, expected[u].G, expected[u].O];
                        OpCases.AssertWithin(actual, kept[g], $"gate {"ifgo"[g]}[{u}]", replay);
                    }
                    else
                    {
                        OpCases.AssertExactly(padding[g], actual, $"padding gate {"ifgo"[g]}[{u}]", replay);
                    }
                }
            }
        }
    }
}
