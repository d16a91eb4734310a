using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using BenchmarkDotNet.Attributes;
using Rnn.Fast.Internals;

namespace Rnn.Fast.Benchmarks;

/// <summary>
/// The LSTM cell's activation chain alone, per register width: from pre-activations, three sigmoids and a tanh
/// (the gates), the cell update c' = f c + i g, tanh(c') and h' = o tanh(c'). Times are per chain (one block of
/// one register's lanes).
/// <list type="bullet">
/// <item><c>Latency</c>: one chain whose next pre-activations depend on h' (as a recurrence with H = 1 does), so
/// each step waits for the previous one: the serial cost a small streaming model pays per step.</item>
/// <item><c>Throughput</c>: eight such chains, independent of each other, stepped together: the cost per chain when
/// the out-of-order core can overlap them (large H, batches).</item>
/// </list>
/// <c>Math</c> = <c>Taylor</c> is the activations as they were before the minimax/reciprocal rewrite (a frozen copy
/// below), <c>Current</c> is <see cref="SimdMath"/> as the kernels call it, <c>Divide</c> and <c>Reciprocal</c> the same
/// functions with the quotient form forced (the A/B behind <c>ISimdOps.PreferReciprocal</c>, in one process), and
/// <c>Flushed</c> is <c>Current</c> with the LSTM kernels' flush of the state below 2^-63 (c' stored flushed, tanh(c')
/// flushing its tiny arguments, o flushed: <see cref="SimdMath.FlushTiny{TOps, TV}"/>): what the flush costs a
/// latency-bound step.
/// Internal types: this measures code the public API cannot reach.
/// </summary>
[MemoryDiagnoser]
public class ActivationBenchmarks
{
    private const int Steps = 256;
    private const int Streams = 8;

    [Params("Vector512", "Vector256", "Vector128", "Scalar")]
    public string Width { get; set; } = "";

    [Params("Taylor", "Current", "Divide", "Reciprocal", "Flushed")]
    public string Math { get; set; } = "";

    private float[] _state = new float[2 * Streams * 16]; // [stream][h, c][lanes]

    [GlobalSetup]
    public void Setup()
    {
        bool supported = Width switch
        {
            "Vector512" => Vector512.IsHardwareAccelerated,
            "Vector256" => Vector256.IsHardwareAccelerated,
            "Vector128" => Vector128.IsHardwareAccelerated,
            _ => true,
        };
        if (!supported)
        {
            throw new NotSupportedException($"{Width} is not accelerated on this machine.");
        }
        for (int i = 0; i < _state.Length; i++)
        {
            _state[i] = 0.01f * (i % 17) - 0.05f;
        }
    }

    [Benchmark(OperationsPerInvoke = Steps)]
    public float Latency() => (Width, Math) switch
    {
        ("Vector512", "Taylor") => Chain<Vector512Ops, Vector512<float>, TaylorMath>(1),
        ("Vector512", "Divide") => Chain<Vector512Ops, Vector512<float>, DivideMath>(1),
        ("Vector512", "Reciprocal") => Chain<Vector512Ops, Vector512<float>, ReciprocalMath>(1),
        ("Vector512", "Flushed") => Chain<Vector512Ops, Vector512<float>, FlushedMath>(1),
        ("Vector512", _) => Chain<Vector512Ops, Vector512<float>, CurrentMath>(1),
        ("Vector256", "Taylor") => Chain<Vector256Ops, Vector256<float>, TaylorMath>(1),
        ("Vector256", "Divide") => Chain<Vector256Ops, Vector256<float>, DivideMath>(1),
        ("Vector256", "Reciprocal") => Chain<Vector256Ops, Vector256<float>, ReciprocalMath>(1),
        ("Vector256", "Flushed") => Chain<Vector256Ops, Vector256<float>, FlushedMath>(1),
        ("Vector256", _) => Chain<Vector256Ops, Vector256<float>, CurrentMath>(1),
        ("Vector128", "Taylor") => Chain<Vector128Ops, Vector128<float>, TaylorMath>(1),
        ("Vector128", "Divide") => Chain<Vector128Ops, Vector128<float>, DivideMath>(1),
        ("Vector128", "Reciprocal") => Chain<Vector128Ops, Vector128<float>, ReciprocalMath>(1),
        ("Vector128", "Flushed") => Chain<Vector128Ops, Vector128<float>, FlushedMath>(1),
        ("Vector128", _) => Chain<Vector128Ops, Vector128<float>, CurrentMath>(1),
        (_, "Taylor") => Chain<ScalarOps, float, TaylorMath>(1),
        (_, "Divide") => Chain<ScalarOps, float, DivideMath>(1),
        (_, "Reciprocal") => Chain<ScalarOps, float, ReciprocalMath>(1),
        (_, "Flushed") => Chain<ScalarOps, float, FlushedMath>(1),
        _ => Chain<ScalarOps, float, CurrentMath>(1),
    };

    [Benchmark(OperationsPerInvoke = Steps * Streams)]
    public float Throughput() => (Width, Math) switch
    {
        ("Vector512", "Taylor") => Chain<Vector512Ops, Vector512<float>, TaylorMath>(Streams),
        ("Vector512", "Divide") => Chain<Vector512Ops, Vector512<float>, DivideMath>(Streams),
        ("Vector512", "Reciprocal") => Chain<Vector512Ops, Vector512<float>, ReciprocalMath>(Streams),
        ("Vector512", "Flushed") => Chain<Vector512Ops, Vector512<float>, FlushedMath>(Streams),
        ("Vector512", _) => Chain<Vector512Ops, Vector512<float>, CurrentMath>(Streams),
        ("Vector256", "Taylor") => Chain<Vector256Ops, Vector256<float>, TaylorMath>(Streams),
        ("Vector256", "Divide") => Chain<Vector256Ops, Vector256<float>, DivideMath>(Streams),
        ("Vector256", "Reciprocal") => Chain<Vector256Ops, Vector256<float>, ReciprocalMath>(Streams),
        ("Vector256", "Flushed") => Chain<Vector256Ops, Vector256<float>, FlushedMath>(Streams),
        ("Vector256", _) => Chain<Vector256Ops, Vector256<float>, CurrentMath>(Streams),
        ("Vector128", "Taylor") => Chain<Vector128Ops, Vector128<float>, TaylorMath>(Streams),
        ("Vector128", "Divide") => Chain<Vector128Ops, Vector128<float>, DivideMath>(Streams),
        ("Vector128", "Reciprocal") => Chain<Vector128Ops, Vector128<float>, ReciprocalMath>(Streams),
        ("Vector128", "Flushed") => Chain<Vector128Ops, Vector128<float>, FlushedMath>(Streams),
        ("Vector128", _) => Chain<Vector128Ops, Vector128<float>, CurrentMath>(Streams),
        (_, "Taylor") => Chain<ScalarOps, float, TaylorMath>(Streams),
        (_, "Divide") => Chain<ScalarOps, float, DivideMath>(Streams),
        (_, "Reciprocal") => Chain<ScalarOps, float, ReciprocalMath>(Streams),
        (_, "Flushed") => Chain<ScalarOps, float, FlushedMath>(Streams),
        _ => Chain<ScalarOps, float, CurrentMath>(Streams),
    };

    // `streams` chains, each Steps dependent LSTM activation steps; the streams of one step are independent.
    // State lives in memory between steps (a store and a reload, as in the kernel), so the JIT cannot keep
    // eight streams' worth of registers or hoist anything across streams.
    private float Chain<TOps, TV, TMath>(int streams) where TOps : struct, ISimdOps<TV> where TV : struct where TMath : struct, IActivationMath
    {
        int v = TOps.Lanes;
        ref float state = ref _state[0];
        for (int step = 0; step < Steps; step++)
        {
            for (int s = 0; s < streams; s++)
            {
                ref float h = ref Unsafe.Add(ref state, 2 * s * v);
                ref float c = ref Unsafe.Add(ref h, v);
                TV hPrev = TOps.Load(in h);
                // Pre-activations from h as a 1-unit recurrence would form them (weight, bias per gate).
                TV i = TMath.Sigmoid<TOps, TV>(TOps.MultiplyAdd(hPrev, TOps.Broadcast(0.7f), TOps.Broadcast(0.2f)));
                TV f = TMath.Sigmoid<TOps, TV>(TOps.MultiplyAdd(hPrev, TOps.Broadcast(-0.4f), TOps.Broadcast(1.1f)));
                TV g = TMath.Tanh<TOps, TV>(TOps.MultiplyAdd(hPrev, TOps.Broadcast(1.3f), TOps.Broadcast(-0.3f)));
                TV o = TMath.Sigmoid<TOps, TV>(TOps.MultiplyAdd(hPrev, TOps.Broadcast(0.5f), TOps.Broadcast(0.1f)));
                TV cNew = TOps.MultiplyAdd(f, TOps.Load(in c), TOps.Multiply(i, g));
                if (TMath.FlushesState)
                {
                    // As GateInterleavedCells.FinishLstmBlock: the flush kept off the chain from c' to h'.
                    TOps.Store(SimdMath.FlushTiny<TOps, TV>(cNew), ref c);
                    TOps.Store(TOps.Multiply(SimdMath.FlushTiny<TOps, TV>(o), SimdMath.TanhFlushingTiny<TOps, TV>(cNew)), ref h);
                }
                else
                {
                    TOps.Store(cNew, ref c);
                    TOps.Store(TOps.Multiply(o, TMath.Tanh<TOps, TV>(cNew)), ref h);
                }
            }
        }
        return state;
    }

    private interface IActivationMath
    {
        static abstract TV Sigmoid<TOps, TV>(TV x) where TOps : struct, ISimdOps<TV> where TV : struct;
        static abstract TV Tanh<TOps, TV>(TV x) where TOps : struct, ISimdOps<TV> where TV : struct;

        /// <summary>Whether the cell update flushes the state as the LSTM kernels do.</summary>
        static virtual bool FlushesState => false;
    }

    private readonly struct FlushedMath : IActivationMath
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Sigmoid<TOps, TV>(TV x) where TOps : struct, ISimdOps<TV> where TV : struct => SimdMath.Sigmoid<TOps, TV>(x);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Tanh<TOps, TV>(TV x) where TOps : struct, ISimdOps<TV> where TV : struct => SimdMath.Tanh<TOps, TV>(x);
        public static bool FlushesState => true;
    }

    private readonly struct CurrentMath : IActivationMath
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Sigmoid<TOps, TV>(TV x) where TOps : struct, ISimdOps<TV> where TV : struct => SimdMath.Sigmoid<TOps, TV>(x);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Tanh<TOps, TV>(TV x) where TOps : struct, ISimdOps<TV> where TV : struct => SimdMath.Tanh<TOps, TV>(x);
    }

    private readonly struct DivideMath : IActivationMath
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Sigmoid<TOps, TV>(TV x) where TOps : struct, ISimdOps<TV> where TV : struct => SimdMath.Sigmoid<TOps, TV>(x, reciprocal: false);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Tanh<TOps, TV>(TV x) where TOps : struct, ISimdOps<TV> where TV : struct => SimdMath.Tanh<TOps, TV>(x, reciprocal: false);
    }

    private readonly struct ReciprocalMath : IActivationMath
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Sigmoid<TOps, TV>(TV x) where TOps : struct, ISimdOps<TV> where TV : struct => SimdMath.Sigmoid<TOps, TV>(x, reciprocal: true);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Tanh<TOps, TV>(TV x) where TOps : struct, ISimdOps<TV> where TV : struct => SimdMath.Tanh<TOps, TV>(x, reciprocal: true);
    }

    /// <summary>SimdMath's sigmoid and tanh as of commit 5f84ce5 (Taylor polynomials, divisions), frozen for comparison.</summary>
    private readonly struct TaylorMath : IActivationMath
    {
        private const float Log2E = 1.44269504088896341f;
        private const float Ln2High = 0.693145751953125f;
        private const float Ln2Low = 1.42860682030941723212e-6f;
        private const float ExpHigh = 89f;
        private const float ExpLow = -104f;
        private const float ExpTiny = 1.4901161e-8f;
        private const float C2 = 1f / 2, C3 = 1f / 6, C4 = 1f / 24, C5 = 1f / 120, C6 = 1f / 720, C7 = 1f / 5040;
        private const float TanhSaturation = 9.1f;
        private const float TanhTiny = 1.2207031e-4f;
        private const float E2 = 1f / 2, E3 = 1f / 6, E4 = 1f / 24, E5 = 1f / 120, E6 = 1f / 720, E7 = 1f / 5040, E8 = 1f / 40320;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static TV Exp<TOps, TV>(TV x) where TOps : struct, ISimdOps<TV> where TV : struct
        {
            TV xc = TOps.MinNative(TOps.MaxNative(x, TOps.Broadcast(ExpLow)), TOps.Broadcast(ExpHigh));
            xc = TOps.Select(TOps.LessThan(TOps.Abs(xc), TOps.Broadcast(ExpTiny)), TOps.Zero, xc);
            TV rounded = TOps.MultiplyAdd(xc, TOps.Broadcast(Log2E), TOps.Broadcast(SimdConstants.RoundingMagic));
            TV n = TOps.Subtract(rounded, TOps.Broadcast(SimdConstants.RoundingMagic));
            TV r = TOps.MultiplyAdd(n, TOps.Broadcast(-Ln2High), xc);
            r = TOps.MultiplyAdd(n, TOps.Broadcast(-Ln2Low), r);
            TV r2 = TOps.Multiply(r, r);
            TV p01 = TOps.Add(TOps.Broadcast(1f), r);
            TV p23 = TOps.MultiplyAdd(TOps.Broadcast(C3), r, TOps.Broadcast(C2));
            TV p45 = TOps.MultiplyAdd(TOps.Broadcast(C5), r, TOps.Broadcast(C4));
            TV p67 = TOps.MultiplyAdd(TOps.Broadcast(C7), r, TOps.Broadcast(C6));
            TV r4 = TOps.Multiply(r2, r2);
            TV p03 = TOps.MultiplyAdd(p23, r2, p01);
            TV p47 = TOps.MultiplyAdd(p67, r2, p45);
            TV p = TOps.MultiplyAdd(p47, r4, p03);
            TOps.PowersOfTwo(rounded, out TV first, out TV second);
            TV result = TOps.Multiply(TOps.Multiply(p, first), second);
            return TOps.Select(TOps.IsNaN(x), x, result);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Sigmoid<TOps, TV>(TV x) where TOps : struct, ISimdOps<TV> where TV : struct
        {
            TV e = Exp<TOps, TV>(TOps.Subtract(TOps.Zero, TOps.Abs(x)));
            TV one = TOps.Broadcast(1f);
            TV numerator = TOps.Select(TOps.LessThan(x, TOps.Zero), e, one);
            return TOps.Divide(numerator, TOps.Add(one, e));
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Tanh<TOps, TV>(TV x) where TOps : struct, ISimdOps<TV> where TV : struct
        {
            TV magnitude = TOps.Abs(x);
            TV tiny = TOps.LessThan(magnitude, TOps.Broadcast(TanhTiny));
            TV a = TOps.MinNative(TOps.MaxNative(magnitude, TOps.Broadcast(TanhTiny)), TOps.Broadcast(TanhSaturation));
            TV y = TOps.Multiply(a, TOps.Broadcast(-2f));
            TV rounded = TOps.MultiplyAdd(y, TOps.Broadcast(Log2E), TOps.Broadcast(SimdConstants.RoundingMagic));
            TV n = TOps.Subtract(rounded, TOps.Broadcast(SimdConstants.RoundingMagic));
            TV r = TOps.MultiplyAdd(n, TOps.Broadcast(-Ln2High), y);
            r = TOps.MultiplyAdd(n, TOps.Broadcast(-Ln2Low), r);
            TV r2 = TOps.Multiply(r, r);
            TV r4 = TOps.Multiply(r2, r2);
            TV q23 = TOps.MultiplyAdd(TOps.Broadcast(E3), r, TOps.Broadcast(E2));
            TV q45 = TOps.MultiplyAdd(TOps.Broadcast(E5), r, TOps.Broadcast(E4));
            TV q67 = TOps.MultiplyAdd(TOps.Broadcast(E7), r, TOps.Broadcast(E6));
            TV q25 = TOps.MultiplyAdd(q45, r2, q23);
            TV q68 = TOps.MultiplyAdd(TOps.Broadcast(E8), r2, q67);
            TV q = TOps.MultiplyAdd(q68, r4, q25);
            TV p = TOps.MultiplyAdd(r2, q, r);
            TV s = TOps.PowerOfTwo(rounded);
            TV m = TOps.MultiplyAdd(s, p, TOps.Subtract(s, TOps.Broadcast(1f)));
            TV t = TOps.Divide(TOps.Subtract(TOps.Zero, m), TOps.Add(TOps.Broadcast(2f), m));
            return TOps.Select(tiny, x, TOps.Select(TOps.IsNaN(x), x, TOps.CopySign(t, x)));
        }
    }
}
