using Rnn.Fast.Internals;

namespace Rnn.Fast.Tests.Internals.Kernels;

/// <summary>
/// The element-wise backward ops of <see cref="CellKernel"/> (LSTM, GRU, Elman) against the chain rule in double
/// precision, within the bounds of <see cref="ErrorBound"/>, with guard sentinels around every buffer.
/// </summary>
/// <remarks>
/// LSTM and GRU work on whole blocks (n = a multiple of the lanes: Hp of some H, times 1, 2, 3 or 5 streams);
/// the kept gates are drawn from the ranges forward produces (σ in (0, 1), tanh in (−1, 1)).
/// </remarks>
[Trait("Category", "Kernel")]
public sealed class CellBackwardOpTests
{
    private static readonly int[] s_streams = [1, 2, 3, 5];

    // Every n = ceil(H / V)·V·S for H in the op lengths, once each.
    private static IEnumerable<int> BlockLengths(int lanes)
    {
        var seen = new HashSet<int>();
        for (int index = 0; index < OpCases.Lengths.Length; index++)
        {
            int n = (OpCases.Lengths[index] + lanes - 1) / lanes * lanes * s_streams[index % s_streams.Length];
            if (seen.Add(n))
            {
                yield return n;
            }
        }
    }

    private static float Sigmoid(Random random) => (float)Approx.SigmoidOf(OpCases.Uniform(random, 4));

    private static float Tanh(Random random) => (float)Math.Tanh(OpCases.Uniform(random, 3));

    [Theory]
    [MemberData(nameof(OpKernels.All), MemberType = typeof(OpKernels))]
    public void LstmBackward_EveryBlockLength_WithinBoundOfReference(string kernelName)
    {
        KernelUnderTest kernel = OpKernels.Get(kernelName);
        int v = kernel.Lanes;
        foreach (int n in BlockLengths(v))
        {
            int seed = OpCases.Seed(nameof(CellKernel.LstmBackward), n);
            string replay = OpCases.Replay(kernel, nameof(CellKernel.LstmBackward), seed, $"n={n}");
            var random = new Random(seed);
            var gates = new Guarded(4 * n);                 // [n/V, 4, V] i, f, g, o
            for (int k = 0; k < n; k++)
            {
                gates[Gate(k, 0, v)] = Sigmoid(random);
                gates[Gate(k, 1, v)] = Sigmoid(random);
                gates[Gate(k, 2, v)] = Tanh(random);
                gates[Gate(k, 3, v)] = Sigmoid(random);
            }
            var dh = new Guarded(OpCases.Uniform(random, n, 1));
            var c = new Guarded(OpCases.Uniform(random, n, 2));
            var cPrev = new Guarded(OpCases.Uniform(random, n, 2));
            var dc = Guarded.InOut(OpCases.Uniform(random, n, 1));
            float[] dc0 = dc.ToArray();
            Guarded dPre = Guarded.Output(4 * n);

            kernel.Cells.LstmBackward(dh.Span, gates.Span, c.Span, cPrev.Span, dc.Span, dPre.Span);

            Approx one = Approx.Exact(1);
            for (int k = 0; k < n; k++)
            {
                Approx i = gates[Gate(k, 0, v)], f = gates[Gate(k, 1, v)], g = gates[Gate(k, 2, v)], o = gates[Gate(k, 3, v)];
                // h = o tanh(c) and c = f c(t−1) + i g: dL/dc(t) collects the path through h and the one from c(t+1).
                Approx tc = Approx.Tanh(c[k]);
                Approx gradC = dh[k] * o * (one - tc * tc) + dc0[k];
                Approx[] expected =
                [
                    gradC * g * (i * (one - i)),
                    gradC * cPrev[k] * (f * (one - f)),
                    gradC * i * (one - g * g),
                    dh[k] * tc * (o * (one - o)),
                ];
                for (int gate = 0; gate < 4; gate++)
                {
                    OpCases.AssertWithin(dPre[Gate(k, gate, v)], expected[gate], $"dPre {"ifgo"[gate]}[{k}]", replay);
                }
                OpCases.AssertWithin(dc[k], gradC * f, $"dc(t−1)[{k}]", replay);
            }
            foreach ((Guarded buffer, string name) in new[] { (dh, "dh"), (gates, "gates"), (c, "c"), (cPrev, "cPrev"), (dc, "dc"), (dPre, "dPre") })
            {
                buffer.AssertGuardsIntact(name, replay);
            }
        }
    }

    [Theory]
    [MemberData(nameof(OpKernels.All), MemberType = typeof(OpKernels))]
    public void GruBackward_EveryBlockLength_WithinBoundOfReference(string kernelName)
    {
        KernelUnderTest kernel = OpKernels.Get(kernelName);
        int v = kernel.Lanes;
        foreach (int n in BlockLengths(v))
        {
            int seed = OpCases.Seed(nameof(CellKernel.GruBackward), n);
            string replay = OpCases.Replay(kernel, nameof(CellKernel.GruBackward), seed, $"n={n}");
            var random = new Random(seed);
            var gates = new Guarded(4 * n);                 // [n/V, 4, V] r, z, n, W_hn h + b_hn
            for (int k = 0; k < n; k++)
            {
                gates[Gate(k, 0, v)] = Sigmoid(random);
                gates[Gate(k, 1, v)] = Sigmoid(random);
                gates[Gate(k, 2, v)] = Tanh(random);
                gates[Gate(k, 3, v)] = OpCases.Uniform(random, 2);
            }
            var dh = new Guarded(OpCases.Uniform(random, n, 1));
            var hPrev = new Guarded(OpCases.Uniform(random, n, 1));
            var dhBelow = new Guarded(OpCases.Uniform(random, n, 1));
            Guarded dPreInput = Guarded.Output(3 * n), dPreHidden = Guarded.Output(3 * n), dhBase = Guarded.Output(n);

            kernel.Cells.GruBackward(dh.Span, gates.Span, hPrev.Span, dhBelow.Span, dPreInput.Span, dPreHidden.Span, dhBase.Span);

            Approx one = Approx.Exact(1);
            for (int k = 0; k < n; k++)
            {
                Approx r = gates[Gate(k, 0, v)], z = gates[Gate(k, 1, v)], nGate = gates[Gate(k, 2, v)], hn = gates[Gate(k, 3, v)];
                // h' = (1 − z) n + z h(t−1), n = tanh(x_n + r hn), r and z sigmoids.
                Approx preN = dh[k] * (one - z) * (one - nGate * nGate);
                Approx preR = preN * hn * (r * (one - r));
                Approx preZ = dh[k] * (hPrev[k] - nGate) * (z * (one - z));
                Approx[] input = [preR, preZ, preN];
                Approx[] hidden = [preR, preZ, preN * r];
                for (int gate = 0; gate < 3; gate++)
                {
                    int index = (k / v * 3 + gate) * v + k % v;
                    OpCases.AssertWithin(dPreInput[index], input[gate], $"dPreInput {"rzn"[gate]}[{k}]", replay);
                    OpCases.AssertWithin(dPreHidden[index], hidden[gate], $"dPreHidden {"rzn"[gate]}[{k}]", replay);
                }
                OpCases.AssertWithin(dhBase[k], dh[k] * z + dhBelow[k], $"dhBase[{k}]", replay);
            }
            foreach ((Guarded buffer, string name) in new[]
                { (dh, "dh"), (gates, "gates"), (hPrev, "hPrev"), (dhBelow, "dhBelow"), (dPreInput, "dPreInput"), (dPreHidden, "dPreHidden"), (dhBase, "dhBase") })
            {
                buffer.AssertGuardsIntact(name, replay);
            }
        }
    }

    [Theory]
    [MemberData(nameof(OpKernels.All), MemberType = typeof(OpKernels))]
    public void ElmanBackward_EveryLengthAndNonlinearity_WithinBoundOfReference(string kernelName)
    {
        KernelUnderTest kernel = OpKernels.Get(kernelName);
        foreach (Activation f in (Activation[])[Activation.Tanh, Activation.Relu, Activation.Sigmoid, Activation.Identity])
        {
            foreach (int n in OpCases.Lengths)
            {
                int seed = OpCases.Seed(nameof(CellKernel.ElmanBackward) + f, n);
                string replay = OpCases.Replay(kernel, $"{nameof(CellKernel.ElmanBackward)}({f})", seed, $"n={n}");
                var random = new Random(seed);
                float[] z = OpCases.Uniform(random, n, 3);
                var h = new Guarded([.. z.Select(x => f switch
                {
                    Activation.Tanh => (float)Math.Tanh(x),
                    Activation.Relu => Math.Max(x, 0f),
                    Activation.Sigmoid => (float)Approx.SigmoidOf(x),
                    _ => x,
                })]);
                var dh = new Guarded(OpCases.Uniform(random, n, 1));
                Guarded dPre = Guarded.Output(n);

                kernel.Cells.ElmanBackward(f, h.Span, dh.Span, dPre.Span);

                Approx one = Approx.Exact(1);
                for (int k = 0; k < n; k++)
                {
                    Approx hk = h[k], dhk = dh[k];
                    Approx expected = f switch
                    {
                        Activation.Tanh => dhk * (one - hk * hk),
                        Activation.Relu => Approx.Exact(h[k] > 0 ? dh[k] : 0),
                        Activation.Sigmoid => dhk * (hk * (one - hk)),
                        _ => dhk,
                    };
                    OpCases.AssertWithin(dPre[k], expected, $"dPre[{k}] (h={h[k]:R})", replay);
                }
                h.AssertGuardsIntact("h", replay);
                dh.AssertGuardsIntact("dh", replay);
                dPre.AssertGuardsIntact("dPre", replay);
            }
        }
    }

    // Element (unit k, gate) of a [n/V, 4, V] row.
    private static int Gate(int k, int gate, int lanes) => (k / lanes * 4 + gate) * lanes + k % lanes;
}
