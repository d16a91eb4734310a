using System.Runtime.Intrinsics;

namespace Rnn.Fast.Internals;

// One sealed class per role and width, named for technique and ISA, so names show up in stack traces,
// profiles and test output. Each is the generic role implementation specialised for one ops struct.

/// <summary>Gate-interleaved cells on 512-bit registers, 16 units per block (AVX-512F).</summary>
internal sealed class GateInterleavedCellsAvx512 : GateInterleavedCells<Vector512Ops, Vector512<float>>;

/// <summary>Gate-interleaved cells on 256-bit registers with FMA, 8 units per block (AVX2 + FMA3).</summary>
internal sealed class GateInterleavedCellsAvx2Fma : GateInterleavedCells<Vector256Ops, Vector256<float>>;

/// <summary>Gate-interleaved cells on 128-bit registers, 4 units per block (SSE on x64, NEON on ARM64).</summary>
internal sealed class GateInterleavedCellsVector128 : GateInterleavedCells<Vector128Ops, Vector128<float>>;

/// <summary>Gate-interleaved cells one float at a time: the same algorithms, on any hardware.</summary>
internal sealed class GateInterleavedCellsScalar : GateInterleavedCells<ScalarOps, float>;

/// <summary>4×2-tiled packed products on 512-bit registers.</summary>
internal sealed class BlockedProductsAvx512 : BlockedProducts<Vector512Ops, Vector512<float>>;

/// <summary>4×2-tiled packed products on 256-bit registers with FMA.</summary>
internal sealed class BlockedProductsAvx2Fma : BlockedProducts<Vector256Ops, Vector256<float>>;

/// <summary>4×2-tiled packed products on 128-bit registers.</summary>
internal sealed class BlockedProductsVector128 : BlockedProducts<Vector128Ops, Vector128<float>>;

/// <summary>4×2-tiled packed products, one float at a time.</summary>
internal sealed class BlockedProductsScalar : BlockedProducts<ScalarOps, float>;

/// <summary>Element-wise ops on 512-bit registers.</summary>
internal sealed class ElementwiseAvx512 : ElementwiseKernel<Vector512Ops, Vector512<float>>;

/// <summary>Element-wise ops on 256-bit registers with FMA.</summary>
internal sealed class ElementwiseAvx2Fma : ElementwiseKernel<Vector256Ops, Vector256<float>>;

/// <summary>Element-wise ops on 128-bit registers.</summary>
internal sealed class ElementwiseVector128 : ElementwiseKernel<Vector128Ops, Vector128<float>>;

/// <summary>Element-wise ops one float at a time.</summary>
internal sealed class ElementwiseScalar : ElementwiseKernel<ScalarOps, float>;

/// <summary>Stream-tiled cells on 512-bit registers: S streams × one block per register tile (AVX-512F).</summary>
internal sealed class StreamTiledCellsAvx512() : StreamTiledCells<Vector512Ops, Vector512<float>>(new GateInterleavedCellsAvx512());

/// <summary>Stream-tiled cells on 256-bit registers with FMA.</summary>
internal sealed class StreamTiledCellsAvx2Fma() : StreamTiledCells<Vector256Ops, Vector256<float>>(new GateInterleavedCellsAvx2Fma());

/// <summary>Stream-tiled cells on 128-bit registers.</summary>
internal sealed class StreamTiledCellsVector128() : StreamTiledCells<Vector128Ops, Vector128<float>>(new GateInterleavedCellsVector128());

/// <summary>Stream-tiled cells one float at a time.</summary>
internal sealed class StreamTiledCellsScalar() : StreamTiledCells<ScalarOps, float>(new GateInterleavedCellsScalar());

/// <summary>Reduced-precision products on 512-bit registers, 16 units per block: bf16 widened by shift/mask, int8 by
/// vpmovsxbw + vpmaddwd (AVX-512F; the int8 ops use AVX-512BW, which .NET enables together with F).</summary>
internal sealed class PairWidenedProductsAvx512 : PairWidenedProducts<Vector512Ops, Pair512Ops, Vector512<float>, Vector512<int>>;

/// <summary>Reduced-precision products on 256-bit registers with FMA, 8 units per block (int8 ops: AVX2).</summary>
internal sealed class PairWidenedProductsAvx2Fma : PairWidenedProducts<Vector256Ops, Pair256Ops, Vector256<float>, Vector256<int>>;

/// <summary>Reduced-precision products on 128-bit registers, 4 units per block (int8 ops: SSE4.1/SSE2 on x64, the
/// cross-platform widening and multiply on ARM64).</summary>
internal sealed class PairWidenedProductsVector128 : PairWidenedProducts<Vector128Ops, Pair128Ops, Vector128<float>, Vector128<int>>;
