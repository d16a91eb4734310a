namespace Rnn.Fast.Tests;

/// <summary>Counts the bytes a warm hot path allocates on the calling thread.</summary>
public static class AllocationMeter
{
    /// <summary>
    /// Runs <paramref name="action"/> <paramref name="calls"/> times per window and returns the fewest bytes
    /// any of three windows allocated. A real per-call allocation shows in every window; the runtime's
    /// one-off work while tiered JIT promotes the hot methods (seen as a few KB in one window, on a
    /// loaded machine) does not repeat, so it cannot hide a leak nor fail a clean path.
    /// </summary>
    public static long MinBytesPerWindow(Action action, int calls)
    {
        long fewest = long.MaxValue;
        for (int window = 0; window < 3; window++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < calls; i++)
            {
                action();
            }
            fewest = Math.Min(fewest, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        return fewest;
    }
}
