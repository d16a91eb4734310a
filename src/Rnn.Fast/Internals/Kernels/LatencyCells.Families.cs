using System.Runtime.Intrinsics;

namespace Rnn.Fast.Internals;

// The latency role specialised per width, named like the other families (technique, then ISA).

/// <summary>Latency cells (whole streaming step, head fused) on 512-bit registers, 16 units per block.</summary>
internal sealed class LatencyCellsAvx512 : LatencyCells<Vector512Ops, Vector512<float>>;

/// <summary>Latency cells (whole streaming step, head fused) on 256-bit registers with FMA, 8 units per block.</summary>
internal sealed class LatencyCellsAvx2Fma : LatencyCells<Vector256Ops, Vector256<float>>;

/// <summary>Latency cells (whole streaming step, head fused) on 128-bit registers, 4 units per block.</summary>
internal sealed class LatencyCellsVector128 : LatencyCells<Vector128Ops, Vector128<float>>;

/// <summary>Latency cells (whole streaming step, head fused), one float at a time.</summary>
internal sealed class LatencyCellsScalar : LatencyCells<ScalarOps, float>;
