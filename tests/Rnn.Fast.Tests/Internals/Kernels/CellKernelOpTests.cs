using Rnn.Fast.Internals;

namespace Rnn.Fast.Tests.Internals.Kernels;

/// <summary>
/// The forward ops of <see cref="CellKernel"/>, one step at a time from random states, against the double-precision
/// twins of <see cref="CellReference"/> within the bound of <see cref="ErrorBound"/>; padding units exactly as the
/// contract says; guard sentinels around every buffer (<see cref="Guarded"/>).
/// </summary>
/// <remarks>
/// Padding that the contract ignores holds the sentinel (NaN): x past its I columns, and the padding units of
/// <c>hPrev</c> for LSTM and Elman, whose products read only the first H columns. The GRU's blend reads whole blocks
/// of h, and every cell reads its pre-activation and c padding, so those hold the zeros the engine keeps there.
/// </remarks>
[Trait("Category", "Kernel")]
public sealed partial class CellKernelOpTests
{
    private static readonly Activation[] s_nonlinearities = [Activation.Tanh, Activation.Relu, Activation.Sigmoid, Activation.Identity];
    private static readonly int[] s_streams = [1, 2, 3, 5];
    private static readonly (int Hidden, int Streams)[] s_inPlaceShapes = [(1, 1), (17, 1), (33, 2), (64, 3), (129, 5)];
    private static readonly int[] s_byStreamHidden = [1, 2, 5, 15, 16, 17, 33, 64, 70, 129];
    private static readonly string[] s_gruKept = ["r", "z", "n", "W_hn h + b_hn"];

    // (H, I): every length as H with an I from 0–70, then every length as I with an H from 0–70 (fixed pairings
    // chosen to visit every residue of both against 4, 8 and 16 lanes).
    private static List<(int Hidden, int Inputs)> Shapes()
    {
        var shapes = new List<(int, int)>();
        foreach (int h in OpCases.Lengths)
        {
            shapes.Add((h, (h * 37 + 11) % 71));
        }
        foreach (int i in OpCases.Lengths)
        {
            (int, int) shape = ((i * 29 + 5) % 71, i);
            if (!shapes.Contains(shape))
            {
                shapes.Add(shape);
            }
        }
        return shapes;
    }

    // Weights of scale 1 keep most gates unsaturated; every third case uses 4 to reach the flat ends as well.
    private static double Scale(int seed) => seed % 3 == 0 ? 4 : 1;

    private static void AssertSame(Guarded expected, Guarded actual, string what, string replay) =>
        AssertSame(expected.Span, actual.Span, what, replay);

    private static void AssertSame(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what, string replay)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            OpCases.AssertExactly(expected[i], actual[i], $"{what}[{i}]", replay);
        }
    }

    private static Guarded PadState(CellWeights w, ReadOnlySpan<float> units)
    {
        var row = new Guarded(w.PaddedHidden);
        units.CopyTo(row.Span);
        return row;
    }

    private static Guarded Concat(Guarded[] rows)
    {
        var all = new Guarded(rows.Sum(r => r.Length));
        int at = 0;
        foreach (Guarded row in rows)
        {
            row.Span.CopyTo(all.Span[at..]);
            at += row.Length;
        }
        return all;
    }

    private static void AssertGuards(string replay, params (Guarded Buffer, string Name)[] buffers)
    {
        foreach ((Guarded buffer, string name) in buffers)
        {
            buffer.AssertGuardsIntact(name, replay);
        }
    }
}
