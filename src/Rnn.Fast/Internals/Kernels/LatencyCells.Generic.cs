using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Rnn.Fast.Internals;

/// <summary>
/// The latency role written once and specialised by the JIT per width through <typeparamref name="TOps"/>. Shapes
/// are validated by <c>RnnModel.Step</c> before anything here runs; these loops use unchecked refs.
/// </summary>
internal abstract partial class LatencyCells<TOps, TV> : LatencyCells where TOps : struct, ISimdOps<TV> where TV : struct
{
    public sealed override int Lanes => TOps.Lanes;

    /// <summary>
    /// Compiles the step's entry points now (fully optimised, as their attributes ask), so the JIT's work happens
    /// when a model is created rather than inside the first audio callback. Idempotent; a no-op under Native AOT.
    /// </summary>
    public sealed override void Prepare()
    {
        if (_prepared)
        {
            return;
        }
        const BindingFlags Members = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        foreach (MethodInfo method in typeof(LatencyCells<TOps, TV>).GetMethods(Members))
        {
            if (!method.IsGenericMethodDefinition && (method.MethodImplementationFlags & MethodImplAttributes.AggressiveOptimization) != 0)
            {
                RuntimeHelpers.PrepareMethod(method.MethodHandle);
            }
        }
        _prepared = true;
    }

    private bool _prepared;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public sealed override void Step(Network network, ReadOnlySpan<float> input, RnnState state, Span<float> output)
    {
        PackedLayer[] layers = network.Layers;
        PackedHead? head = network.Head;
        // A one-output head rides along the last layer's blocks; a wider one is a dot product per output after it.
        bool fuse = head is not null && head.OutputSize == 1;
        ref float headWeight = ref fuse ? ref MemoryMarshal.GetArrayDataReference(head!.Weight) : ref Unsafe.NullRef<float>();
        TV headSum = TOps.Zero;
        ref float x = ref MemoryMarshal.GetReference(input);
        for (int l = 0; l < layers.Length; l++)
        {
            PackedLayer layer = layers[l];
            LayerState layerState = state.Forward(l);
            ref float h = ref MemoryMarshal.GetReference(layerState.Hidden);
            ref float hNext = ref MemoryMarshal.GetReference(layerState.Spare);
            bool fuseHere = fuse && l == layers.Length - 1;
            switch (layer.Cell)
            {
                case CellType.Lstm:
                    headSum = Lstm(layer, ref x, ref h, ref MemoryMarshal.GetReference(layerState.Cell), ref hNext, fuseHere, ref headWeight);
                    break;
                case CellType.Gru:
                    headSum = Gru(layer, ref x, ref h, ref hNext, fuseHere, ref headWeight);
                    break;
                default:
                    headSum = Elman(layer, ref x, ref h, ref hNext, fuseHere, ref headWeight);
                    break;
            }
            layerState.SwapHidden();
            x = ref hNext;
        }
        Output(network, ref x, headSum, fuse, ref MemoryMarshal.GetReference(input), output);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public sealed override void StepStreams(Network network, ReadOnlySpan<float> input, RnnState state, Span<float> output)
    {
        int batch = state.Batch;
        PackedLayer[] layers = network.Layers;
        ref float x = ref MemoryMarshal.GetReference(input);
        int xStride = network.InputSize;
        for (int l = 0; l < layers.Length; l++)
        {
            PackedLayer layer = layers[l];
            LayerState layerState = state.Forward(l);
            int hp = layerState.Stride;
            ref float h = ref MemoryMarshal.GetReference(layerState.Hidden);
            ref float hNext = ref MemoryMarshal.GetReference(layerState.Spare);
            ref float c = ref MemoryMarshal.GetReference(layerState.Cell);
            int s = 0;
            // Pairs share every weight load and interleave two independent activation chains.
            for (; s + 1 < batch; s += 2)
            {
                ref float xs = ref Unsafe.Add(ref x, s * xStride);
                int o = s * hp;
                switch (layer.Cell)
                {
                    case CellType.Lstm:
                        LstmPair(layer, ref xs, xStride, ref Unsafe.Add(ref h, o), hp, ref Unsafe.Add(ref c, o), ref Unsafe.Add(ref hNext, o));
                        break;
                    case CellType.Gru:
                        GruPair(layer, ref xs, xStride, ref Unsafe.Add(ref h, o), hp, ref Unsafe.Add(ref hNext, o));
                        break;
                    default:
                        // Elman streams step alone (eight accumulators each, the engine's summation order).
                        Elman(layer, ref xs, ref Unsafe.Add(ref h, o), ref Unsafe.Add(ref hNext, o), false, ref Unsafe.NullRef<float>(), inputChain: true);
                        Elman(layer, ref Unsafe.Add(ref xs, xStride), ref Unsafe.Add(ref h, o + hp), ref Unsafe.Add(ref hNext, o + hp), false,
                            ref Unsafe.NullRef<float>(), inputChain: true);
                        break;
                }
            }
            if (s < batch)
            {
                ref float xs = ref Unsafe.Add(ref x, s * xStride);
                int o = s * hp;
                switch (layer.Cell)
                {
                    case CellType.Lstm:
                        Lstm(layer, ref xs, ref Unsafe.Add(ref h, o), ref Unsafe.Add(ref c, o), ref Unsafe.Add(ref hNext, o), false, ref Unsafe.NullRef<float>(), inputChain: true);
                        break;
                    case CellType.Gru:
                        Gru(layer, ref xs, ref Unsafe.Add(ref h, o), ref Unsafe.Add(ref hNext, o), false, ref Unsafe.NullRef<float>(), inputChain: true);
                        break;
                    default:
                        Elman(layer, ref xs, ref Unsafe.Add(ref h, o), ref Unsafe.Add(ref hNext, o), false, ref Unsafe.NullRef<float>(), inputChain: true);
                        break;
                }
            }
            layerState.SwapHidden();
            x = ref hNext;
            xStride = hp;
        }
        int inputs = network.InputSize, outputs = network.OutputSize;
        for (int s = 0; s < batch; s++)
        {
            Output(network, ref Unsafe.Add(ref x, s * xStride), TOps.Zero, false, ref Unsafe.Add(ref MemoryMarshal.GetReference(input), s * inputs),
                output.Slice(s * outputs, outputs));
        }
    }

    // y from the last layer's h (one stream): the fused head's sum, the head's dot products, or h itself; then the
    // head activation and the input residual.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Output(Network network, ref float h /* [Hp] */, TV headSum, bool fused, ref float x /* [I] */, Span<float> y /* [O] */)
    {
        ref float yRef = ref MemoryMarshal.GetReference(y);
        PackedHead? head = network.Head;
        if (head is null)
        {
            MemoryMarshal.CreateReadOnlySpan(ref h, y.Length).CopyTo(y);
        }
        else
        {
            ref float bias = ref MemoryMarshal.GetArrayDataReference(head.Bias);
            if (fused)
            {
                yRef = TOps.Sum(headSum) + bias;
            }
            else
            {
                ref float w = ref MemoryMarshal.GetArrayDataReference(head.Weight);
                int hp = head.PaddedInput;
                for (int o = 0; o < y.Length; o++)
                {
                    Unsafe.Add(ref yRef, o) = Dot(ref Unsafe.Add(ref w, o * hp), ref h, hp) + Unsafe.Add(ref bias, o);
                }
            }
            if (head.Activation != Activation.Identity)
            {
                network.Kernel.Elementwise.Activate(head.Activation, y);
            }
        }
        for (int j = 0; j < network.Skip; j++)
        {
            Unsafe.Add(ref yRef, j) += Unsafe.Add(ref x, j);
        }
    }

    // w·h over n (a multiple of V) floats, two accumulators.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Dot(ref float w, ref float h, int n)
    {
        int v = TOps.Lanes;
        TV a = TOps.Zero, b = TOps.Zero;
        int j = 0;
        for (; j + 2 * v <= n; j += 2 * v)
        {
            a = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w, j)), TOps.Load(in Unsafe.Add(ref h, j)), a);
            b = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w, j + v)), TOps.Load(in Unsafe.Add(ref h, j + v)), b);
        }
        if (j < n)
        {
            a = TOps.MultiplyAdd(TOps.Load(in Unsafe.Add(ref w, j)), TOps.Load(in Unsafe.Add(ref h, j)), a);
        }
        return TOps.Sum(TOps.Add(a, b));
    }
}
