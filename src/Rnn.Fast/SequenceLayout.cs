namespace Rnn.Fast;

/// <summary>How a sequence of B streams × T steps is laid out in memory.</summary>
public enum SequenceLayout
{
    /// <summary><c>[T, B, features]</c>: all streams of step 0, then step 1, ... (PyTorch's <c>batch_first=False</c>).</summary>
    TimeMajor,

    /// <summary><c>[B, T, features]</c>: every step of stream 0, then stream 1, ... (PyTorch's <c>batch_first=True</c>).</summary>
    BatchFirst,
}
