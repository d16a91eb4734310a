namespace Rnn.Fast.Onnx.Internals;

/// <summary>
/// Reshape of the sequence, as layout only: each target entry must take a run of the input's axes that keeps the
/// data where Rnn.Fast has it. The understood runs are one axis, steps×batch flattened (before a Gemm head) and
/// directions×features flattened (bidirectional Y to the next layer's X); size-1 axes come and go freely.
/// </summary>
internal static class SequenceReshape
{
    private enum Atom
    {
        P0,
        P1,
        Dir,
        Feat,
    }

    public static SeqValue Apply(SeqValue seq, Dim[] target, bool allowZero, Func<SeqAxis, Dim> sizeOf)
    {
        Atom[] atoms = [.. seq.Axes.SelectMany(AtomsOf)];
        long Size(Atom atom) => atom switch
        {
            Atom.P0 => sizeOf(SeqAxis.P0).Value,
            Atom.P1 => sizeOf(SeqAxis.P1).Value,
            Atom.Dir => 2,
            _ => seq.Features,
        };

        // Resolve each entry to: a run of atoms named by symbol/copy, a number, or the one inferred (-1) entry.
        var symbolic = new Atom[]?[target.Length];
        int infer = -1;
        for (int k = 0; k < target.Length; k++)
        {
            Dim d = target[k];
            if (d.Symbol is { } s)
            {
                symbolic[k] = AtomsOf(s);
            }
            else if (d.Value == 0 && !allowZero)
            {
                if (k >= seq.Axes.Length)
                {
                    throw new NodeProblem($"Reshape copies axis {k}, which the sequence does not have.");
                }
                symbolic[k] = AtomsOf(seq.Axes[k]);
            }
            else if (d.Value == -1)
            {
                if (infer >= 0)
                {
                    throw new NodeProblem("Reshape has more than one -1.");
                }
                infer = k;
            }
            else if (d.Value < 1)
            {
                throw new NodeProblem($"Reshape size {d.Value} of the sequence is not supported.");
            }
        }

        var groups = new Atom[target.Length][];
        int left = 0;
        int right = atoms.Length;
        int end = infer >= 0 ? infer : target.Length;
        for (int k = 0; k < end; k++)
        {
            groups[k] = Take(atoms, left, +1, target[k].Value, symbolic[k], Size);
            left += groups[k].Length;
        }
        for (int k = target.Length - 1; k > infer && infer >= 0; k--)
        {
            Atom[] g = Take(atoms, right - 1, -1, target[k].Value, symbolic[k], Size);
            groups[k] = g;
            right -= g.Length;
        }
        if (right < left)
        {
            throw new NodeProblem("The reshape does not fit the sequence's axes.");
        }
        if (infer >= 0)
        {
            groups[infer] = atoms[left..right];
        }
        else if (left != atoms.Length)
        {
            throw new NodeProblem("The reshape does not fit the sequence's axes.");
        }
        var axes = new SeqAxis[target.Length];
        int features = seq.Features;
        for (int k = 0; k < target.Length; k++)
        {
            (axes[k], int factor) = groups[k] switch
            {
                [] => (SeqAxis.One, 1),
                [Atom.P0] => (SeqAxis.P0, 1),
                [Atom.P1] => (SeqAxis.P1, 1),
                [Atom.P0, Atom.P1] => (SeqAxis.P0P1, 1),
                [Atom.P1, Atom.P0] => (SeqAxis.P1P0, 1),
                [Atom.Dir] => (SeqAxis.Dir, 1),
                [Atom.Feat] => (SeqAxis.Feature, 1),
                [Atom.Dir, Atom.Feat] => (SeqAxis.Feature, 2),
                _ => throw new NodeProblem("The reshape mixes the sequence's axes in a way Rnn.Fast cannot run."),
            };
            features *= factor;
        }
        return new SeqValue(axes, features, seq.Chain);
    }

    private static Atom[] AtomsOf(SeqAxis axis) => axis switch
    {
        SeqAxis.P0 => [Atom.P0],
        SeqAxis.P1 => [Atom.P1],
        SeqAxis.P0P1 => [Atom.P0, Atom.P1],
        SeqAxis.P1P0 => [Atom.P1, Atom.P0],
        SeqAxis.Dir => [Atom.Dir],
        SeqAxis.Feature => [Atom.Feat],
        _ => [],
    };

    // The run of atoms one entry takes, starting at `at` and walking in `direction` (+1 left to right, -1 right to left).
    private static Atom[] Take(Atom[] atoms, int at, int direction, long value, Atom[]? symbolic, Func<Atom, long> size)
    {
        Atom? Next(int offset) => at + offset * direction is var i && i >= 0 && i < atoms.Length ? atoms[i] : null;
        if (symbolic is not null)
        {
            for (int k = 0; k < symbolic.Length; k++)
            {
                // Walking right to left, a run is compared from its last atom.
                Atom expected = direction > 0 ? symbolic[k] : symbolic[symbolic.Length - 1 - k];
                if (Next(k) != expected)
                {
                    throw new NodeProblem("The reshape does not keep the sequence's axes in order.");
                }
            }
            return symbolic;
        }
        if (Next(0) is { } first && size(first) == value)
        {
            return [first];
        }
        if (value == 1)
        {
            return [];
        }
        if (Next(0) is { } a && Next(1) is { } b)
        {
            Atom[] pair = direction > 0 ? [a, b] : [b, a];
            bool mergeable = pair is [Atom.P0, Atom.P1] or [Atom.P1, Atom.P0] or [Atom.Dir, Atom.Feat];
            if (mergeable && size(a) > 0 && size(b) > 0 && size(a) * size(b) == value)
            {
                return pair;
            }
        }
        throw new NodeProblem($"Reshape size {value} does not match the sequence's axes.");
    }
}
