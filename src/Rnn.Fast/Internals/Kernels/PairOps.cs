using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Rnn.Fast.Internals;

/// <summary>
/// The operations on one register of 32-bit pair slots (<see cref="ReducedMatrix"/>: V output units × columns 2p and
/// 2p+1) that the reduced products need besides the float ops of <see cref="ISimdOps{TV}"/>: widening bf16 pairs to
/// two float registers, widening int8 pairs to int16 and their multiply-add with a pair of int16 activations.
/// </summary>
/// <typeparam name="TF">The float register (<c>Vector512&lt;float&gt;</c>, …); V = its lane count.</typeparam>
/// <typeparam name="TI">The int32 register of the same width.</typeparam>
internal interface IPairOps<TF, TI> where TF : struct where TI : struct
{
    /// <summary>Loads V bf16 pair slots and widens them: <paramref name="low"/> holds column 2p (slot &lt;&lt; 16),
    /// <paramref name="high"/> column 2p+1 (slot with its low half cleared). Exact: a bf16 value is a float's top half.</summary>
    static abstract void Widen(ref readonly uint slots, out TF low, out TF high);

    /// <summary>Loads V int8 pair slots (2V bytes) and sign-extends each byte to int16: lane i of the result (seen as
    /// int32) holds column 2p in its low half and 2p+1 in its high half, the operand layout of <c>pmaddwd</c>.</summary>
    static abstract TI WidenPairs(ref readonly sbyte slots);

    /// <summary>A register of the int32 holding (q[2p], q[2p+1]) in every lane.</summary>
    static abstract TI BroadcastPair(ref readonly short pair);

    /// <summary><c>sum + w.even · pair.even + w.odd · pair.odd</c> per int32 lane (pmaddwd then add). Exact: |each
    /// product| ≤ 127 · 32767, and the runs of <see cref="ReducedProductKernel.PairsPerRun"/> keep every sum below 2³¹.</summary>
    static abstract TI MultiplyAddAdjacent(TI w, TI pair, TI sum);

    static abstract TI ZeroInt { get; }

    /// <summary>int32 to float32, rounded to nearest as <c>(float)int</c>.</summary>
    static abstract TF ConvertToSingle(TI value);

    /// <summary><c>a · b + c</c> rounded once, on any hardware (the int8 epilogue must equal <c>MathF.FusedMultiplyAdd</c>;
    /// it runs once per output, so a software fallback costs little).</summary>
    static abstract TF FusedMultiplyAdd(TF a, TF b, TF c);
}

// The three widths. The bf16 widening is a shift and a mask in the cross-platform API on every ISA. The int8 ops use
// vpmovsxbw + vpmaddwd where this process may (AVX-512BW, AVX2, SSE4.1); elsewhere (ARM64, DOTNET_Enable…=0, a
// width the runtime emulates in software) the cross-platform fallback gives the same int32 lanes: sign-extending
// widen, then the even and odd int16 halves of each lane split by shifts and multiplied in int32.

internal readonly struct Pair512Ops : IPairOps<Vector512<float>, Vector512<int>>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Widen(ref readonly uint slots, out Vector512<float> low, out Vector512<float> high)
    {
        Vector512<uint> s = Vector512.LoadUnsafe(in slots);
        low = (s << 16).AsSingle();
        high = (s & Vector512.Create(0xFFFF0000u)).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> WidenPairs(ref readonly sbyte slots)
    {
        Vector256<sbyte> bytes = Vector256.LoadUnsafe(in slots);
        if (Avx512BW.IsSupported)
        {
            return Avx512BW.ConvertToVector512Int16(bytes).AsInt32();
        }
        (Vector256<short> lower, Vector256<short> upper) = Vector256.Widen(bytes);
        return Vector512.Create(lower, upper).AsInt32();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> BroadcastPair(ref readonly short pair) =>
        Vector512.Create(Unsafe.ReadUnaligned<int>(in Unsafe.As<short, byte>(ref Unsafe.AsRef(in pair))));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> MultiplyAddAdjacent(Vector512<int> w, Vector512<int> pair, Vector512<int> sum)
    {
        if (Avx512BW.IsSupported)
        {
            return sum + Avx512BW.MultiplyAddAdjacent(w.AsInt16(), pair.AsInt16());
        }
        return sum + ((w << 16) >> 16) * ((pair << 16) >> 16) + (w >> 16) * (pair >> 16);
    }

    public static Vector512<int> ZeroInt => Vector512<int>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ConvertToSingle(Vector512<int> value) => Vector512.ConvertToSingle(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> FusedMultiplyAdd(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Vector512.FusedMultiplyAdd(a, b, c);
}

internal readonly struct Pair256Ops : IPairOps<Vector256<float>, Vector256<int>>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Widen(ref readonly uint slots, out Vector256<float> low, out Vector256<float> high)
    {
        Vector256<uint> s = Vector256.LoadUnsafe(in slots);
        low = (s << 16).AsSingle();
        high = (s & Vector256.Create(0xFFFF0000u)).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> WidenPairs(ref readonly sbyte slots)
    {
        Vector128<sbyte> bytes = Vector128.LoadUnsafe(in slots);
        if (Avx2.IsSupported)
        {
            return Avx2.ConvertToVector256Int16(bytes).AsInt32();
        }
        (Vector128<short> lower, Vector128<short> upper) = Vector128.Widen(bytes);
        return Vector256.Create(lower, upper).AsInt32();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> BroadcastPair(ref readonly short pair) =>
        Vector256.Create(Unsafe.ReadUnaligned<int>(in Unsafe.As<short, byte>(ref Unsafe.AsRef(in pair))));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> MultiplyAddAdjacent(Vector256<int> w, Vector256<int> pair, Vector256<int> sum)
    {
        if (Avx2.IsSupported)
        {
            return sum + Avx2.MultiplyAddAdjacent(w.AsInt16(), pair.AsInt16());
        }
        return sum + ((w << 16) >> 16) * ((pair << 16) >> 16) + (w >> 16) * (pair >> 16);
    }

    public static Vector256<int> ZeroInt => Vector256<int>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ConvertToSingle(Vector256<int> value) => Vector256.ConvertToSingle(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> FusedMultiplyAdd(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Vector256.FusedMultiplyAdd(a, b, c);
}

internal readonly struct Pair128Ops : IPairOps<Vector128<float>, Vector128<int>>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Widen(ref readonly uint slots, out Vector128<float> low, out Vector128<float> high)
    {
        Vector128<uint> s = Vector128.LoadUnsafe(in slots);
        low = (s << 16).AsSingle();
        high = (s & Vector128.Create(0xFFFF0000u)).AsSingle();
    }

    // 8 bytes: one 64-bit load (never past the slots), then pmovsxbw on its low half.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> WidenPairs(ref readonly sbyte slots)
    {
        long bits = Unsafe.ReadUnaligned<long>(in Unsafe.As<sbyte, byte>(ref Unsafe.AsRef(in slots)));
        if (Sse41.IsSupported)
        {
            return Sse41.ConvertToVector128Int16(Vector128.CreateScalarUnsafe(bits).AsSByte()).AsInt32();
        }
        (Vector64<short> lower, Vector64<short> upper) = Vector64.Widen(Vector64.Create(bits).AsSByte());
        return Vector128.Create(lower, upper).AsInt32();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> BroadcastPair(ref readonly short pair) =>
        Vector128.Create(Unsafe.ReadUnaligned<int>(in Unsafe.As<short, byte>(ref Unsafe.AsRef(in pair))));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> MultiplyAddAdjacent(Vector128<int> w, Vector128<int> pair, Vector128<int> sum)
    {
        if (Sse2.IsSupported)
        {
            return sum + Sse2.MultiplyAddAdjacent(w.AsInt16(), pair.AsInt16());
        }
        return sum + ((w << 16) >> 16) * ((pair << 16) >> 16) + (w >> 16) * (pair >> 16);
    }

    public static Vector128<int> ZeroInt => Vector128<int>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> ConvertToSingle(Vector128<int> value) => Vector128.ConvertToSingle(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> FusedMultiplyAdd(Vector128<float> a, Vector128<float> b, Vector128<float> c) => Vector128.FusedMultiplyAdd(a, b, c);
}
