using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Rnn.Fast.Benchmarks;

/// <summary>
/// Single-core read bandwidth of a buffer size, measured in the reporting process for the roofline floors
/// (<see cref="PrecisionRoofline"/>, <see cref="RealTimeRoofline"/>): eight independent load+add chains over the buffer,
/// as bench/ceilings/ceilings.c does, best of 15 passes of about 10 ms (wall time: a short pass is usually not
/// preempted, and the best one is the least disturbed).
/// </summary>
internal static class ReadBandwidth
{
    /// <summary>GB/s reading <paramref name="bytes"/> over and over; 512-bit loads where accelerated and <paramref name="widest"/>, else 256-bit.</summary>
    public static double Measure(int bytes, bool widest)
    {
        var buffer = new float[bytes / sizeof(float)];
        for (int i = 0; i < buffer.Length; i++)
        {
            buffer[i] = 1e-3f * (i % 7);
        }
        bool wide = widest && Vector512.IsHardwareAccelerated;
        int reps = Math.Max(4, (int)(40_000_000L / bytes));   // ≈ 40 MB per pass
        double best = 0;
        float sink = 0;
        for (int pass = 0; pass < 15; pass++)
        {
            long start = Stopwatch.GetTimestamp();
            sink += wide ? SumAll512(buffer, reps) : SumAll256(buffer, reps);
            double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            best = Math.Max(best, (double)bytes * reps / seconds / 1e9);
        }
        return best + (sink == 12345f ? 1e-9 : 0);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float SumAll512(float[] buffer, int reps)
    {
        ref float start = ref MemoryMarshal.GetArrayDataReference(buffer);
        Vector512<float> b0 = Vector512<float>.Zero, b1 = b0, b2 = b0, b3 = b0, b4 = b0, b5 = b0, b6 = b0, b7 = b0;
        for (int r = 0; r < reps; r++)
        {
            for (nuint i = 0; i + 128 <= (nuint)buffer.Length; i += 128)
            {
                b0 += Vector512.LoadUnsafe(ref start, i); b1 += Vector512.LoadUnsafe(ref start, i + 16);
                b2 += Vector512.LoadUnsafe(ref start, i + 32); b3 += Vector512.LoadUnsafe(ref start, i + 48);
                b4 += Vector512.LoadUnsafe(ref start, i + 64); b5 += Vector512.LoadUnsafe(ref start, i + 80);
                b6 += Vector512.LoadUnsafe(ref start, i + 96); b7 += Vector512.LoadUnsafe(ref start, i + 112);
            }
        }
        return Vector512.Sum(b0 + b1 + b2 + b3 + b4 + b5 + b6 + b7);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float SumAll256(float[] buffer, int reps)
    {
        ref float start = ref MemoryMarshal.GetArrayDataReference(buffer);
        Vector256<float> b0 = Vector256<float>.Zero, b1 = b0, b2 = b0, b3 = b0, b4 = b0, b5 = b0, b6 = b0, b7 = b0;
        for (int r = 0; r < reps; r++)
        {
            for (nuint i = 0; i + 64 <= (nuint)buffer.Length; i += 64)
            {
                b0 += Vector256.LoadUnsafe(ref start, i); b1 += Vector256.LoadUnsafe(ref start, i + 8);
                b2 += Vector256.LoadUnsafe(ref start, i + 16); b3 += Vector256.LoadUnsafe(ref start, i + 24);
                b4 += Vector256.LoadUnsafe(ref start, i + 32); b5 += Vector256.LoadUnsafe(ref start, i + 40);
                b6 += Vector256.LoadUnsafe(ref start, i + 48); b7 += Vector256.LoadUnsafe(ref start, i + 56);
            }
        }
        return Vector256.Sum(b0 + b1 + b2 + b3 + b4 + b5 + b6 + b7);
    }
}
