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
        long rowFloats = (long)network.MaxGateWidth + 2L * network.MaxRowWidth + network.InputSize + network.OutputSize;
        int chunkRows = (int)Math.Clamp(BudgetFloats / Math.Max(rowFloats, 1), MinChunkRows, MaxChunkRows);
        ChunkSteps = Math.Max(1, chunkRows / batch);
        int rows = checked(ChunkSteps * batch);
        Pre = new float[checked(rows * network.MaxGateWidth)];
        First = new float[checked(rows * network.MaxRowWidth)];
        Second = new float[checked(rows * network.MaxRowWidth)];
        Inputs = new float[checked(rows * network.InputSize)];
        Outputs = new float[checked(rows * network.OutputSize)];
    }

    /// <summary>Steps per chunk.</summary>
    public int ChunkSteps { get; }

    public float[] Pre { get; }      // [rows, max gate width]: W_ih·x + b of a chunk
    public float[] First { get; }    // [rows, max row width]: layer outputs, alternating with Second
    public float[] Second { get; }
    public float[] Inputs { get; }   // [rows, I]: a batch-first chunk gathered time-major
    public float[] Outputs { get; }  // [rows, O]: a batch-first chunk's outputs before scattering
}
