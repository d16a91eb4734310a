namespace Rnn.Fast.Internals;

/// <summary>
/// The scratch one state needs to run chunks of a sequence (and to step a batch): allocated with the state, so
/// <c>Run</c> and <c>Step</c> never allocate nor rent, from their first call on any thread.
/// </summary>
internal sealed class SequenceScratch
{
    /// <summary>
    /// Rows (steps × streams) per chunk, at least one step of every stream. The input projection of a chunk is one
    /// blocked product, so W_ih is read once per chunk: at 64 rows it costs under 2 % of the W_hh traffic even at
    /// I = H, and the scratch stays a few hundred KB at most.
    /// </summary>
    public const int ChunkRows = 64;

    public SequenceScratch(Network network, int batch)
    {
        ChunkSteps = Math.Max(1, ChunkRows / batch);
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
