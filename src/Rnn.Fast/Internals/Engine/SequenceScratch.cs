namespace Rnn.Fast.Internals;

/// <summary>
/// The scratch one state needs to run chunks of a sequence (and to step a batch): allocated with the state, so
/// <c>Run</c> and <c>Step</c> never allocate nor rent, from their first call on any thread.
/// </summary>
internal sealed class SequenceScratch
{
    /// <summary>
    /// Rows (steps × streams) per chunk: as many as fit in about 256 KB of scratch, between 64 and 256, and at least
    /// one step of every stream. The input projection of a chunk is one blocked product, so W_ih is read once per
    /// chunk (at 64 rows under 2 % of the W_hh traffic even at I = H), and the per-chunk overhead of small models
    /// (whose rows are short) is spread over 256 rows, while the scratch of a large model stays under a MB.
    /// </summary>
    public const int MinChunkRows = 64, MaxChunkRows = 256, BudgetFloats = 64 * 1024;

    public SequenceScratch(Network network, int batch)
    {
        ChunkSteps = ChunkStepsFor(network, batch);
        int rows = checked(ChunkSteps * batch);
        Pre = new float[checked(rows * network.MaxGateWidth)];
        First = new float[checked(rows * network.MaxRowWidth)];
        Second = new float[checked(rows * network.MaxRowWidth)];
        Inputs = new float[checked(rows * network.InputSize)];
        Outputs = new float[checked(rows * network.OutputSize)];
        Reduced = network.UsesReducedProducts ? new ReducedScratch(network, batch, rows) : null;
    }

    /// <summary>Steps per chunk.</summary>
    public int ChunkSteps { get; }

    /// <summary>
    /// Steps per chunk of <paramref name="network"/> at <paramref name="batch"/> streams. The training forward pass
    /// chunks the same way, so it sums every row as <c>Run</c> does (the blocked products tile a chunk's rows).
    /// </summary>
    public static int ChunkStepsFor(Network network, int batch)
    {
        long rowFloats = (long)network.MaxGateWidth + 2L * network.MaxRowWidth + network.InputSize + network.OutputSize;
        int chunkRows = (int)Math.Clamp(BudgetFloats / Math.Max(rowFloats, 1), MinChunkRows, MaxChunkRows);
        return Math.Max(1, chunkRows / batch);
    }

    public float[] Pre { get; }      // [rows, max gate width]: W_ih·x + b of a chunk
    public float[] First { get; }    // [rows, max row width]: layer outputs, alternating with Second
    public float[] Second { get; }
    public float[] Inputs { get; }   // [rows, I]: a batch-first chunk gathered time-major
    public float[] Outputs { get; }  // [rows, O]: a batch-first chunk's outputs before scattering

    /// <summary>What a bf16 or int8 model's products need besides; null for float32 models.</summary>
    public ReducedScratch? Reduced { get; }
}

/// <summary>
/// The scratch of a reduced-precision model's products: int16 activations (int8 products), a GRU's separate
/// <c>W_hh·h</c> rows and the head's padded output rows.
/// </summary>
internal sealed class ReducedScratch
{
    public ReducedScratch(Network network, int batch, int rows)
    {
        IEnumerable<PackedLayer> layers = network.Layers.Concat(network.Reverse ?? []);
        int widestInput = layers.Max(l => Math.Max(l.InputSize, l.HiddenSize));
        if (network.Head is { UsesReducedProducts: true } head)
        {
            widestInput = Math.Max(widestInput, head.InputSize);
            HeadRows = rows;
            Head = new float[checked(rows * head.Reduced!.RowWidth)];
        }
        Quantized = network.Precision == WeightPrecision.Int8
            ? new short[ReducedProductKernel.ScratchLength(Math.Max(rows, batch), widestInput)]
            : [];
        HiddenProduct = new float[checked(batch * network.MaxGateWidth)];
        HiddenBias = new float[checked(batch * network.MaxRowWidth)];
    }

    public short[] Quantized { get; }       // [rows, 2·ceil(K/2)]: int16 activations of an int8 product
    public float[] HiddenProduct { get; }   // [B, gate width]: a GRU's W_hh·h + [0, 0, b_hn]
    public float[] HiddenBias { get; }      // [B, Hp]: a GRU's W_hn·h + b_hn per stream, where r scales it
    public float[] Head { get; } = [];      // [HeadRows, head row width]: the head's padded output rows
    public int HeadRows { get; }
}
