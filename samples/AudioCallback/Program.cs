// A real-time audio effect: the README's "Use" example (the <snippet:audio> regions are copied there verbatim,
// and a test checks they still match) and its "Reduced precision" example (<snippet:precision>). CI runs this program; it exits 1 if the contract is broken.
// <snippet:audio>
using Rnn.Fast;

// An LSTM with 1 input, 32 hidden units and a 1-output linear head (PyTorch's default init, seeded).
// A trained one: ModelFile.Load("amp.safetensors") (namespace Rnn.Fast.IO).
RnnModel model = RnnModel.CreateLstm(inputSize: 1, hiddenSize: 32, outputSize: 1, seed: 42);
var effect = new StereoEffect(model);

// The host's audio callback hands over blocks of 128 interleaved stereo frames: L R L R ...
const int Frames = 128;
float[] input = new float[2 * Frames], output = new float[2 * Frames];
for (int i = 0; i < Frames; i++)
{
    input[2 * i] = input[2 * i + 1] = 0.5f * MathF.Sin(2 * MathF.PI * 440 * i / 48_000f);
}
effect.Process(input, output);   // the first call JIT-compiles; do it before the audio starts

// The contract: a warm callback allocates nothing, so the GC never pauses the audio thread.
long before = GC.GetAllocatedBytesForCurrentThread();
for (int block = 0; block < 1000; block++)
{
    effect.Process(input, output);
}
long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
Console.WriteLine($"1000 callbacks of {Frames} stereo frames: {allocated} bytes allocated");
effect.Reset();                  // playback stopped: the next block starts from silence
// </snippet:audio>

// The checks behind the example: no allocation; after Reset the first block comes out again; left and right are
// independent streams (the same input gives the same output on both, whatever the other channel did before).
int failures = 0;
void Check(bool ok, string what)
{
    Console.WriteLine($"{(ok ? "ok  " : "FAIL")} {what}");
    failures += ok ? 0 : 1;
}
Check(allocated == 0, "a warm Process allocates nothing");

var fresh = new StereoEffect(model);
float[] expected = new float[2 * Frames], again = new float[2 * Frames];
fresh.Process(input, expected);
effect.Process(input, again);
Check(expected.AsSpan().SequenceEqual(again), "after Reset, the first block's output again");

bool channelsAgree = true;
for (int i = 0; i < Frames; i++)
{
    channelsAgree &= expected[2 * i] == expected[2 * i + 1];
}
Check(channelsAgree, "left and right: same input, same output");
Check(expected.All(float.IsFinite) && expected.Any(y => y != expected[0]), "the output is finite and not constant");

// <snippet:precision>
// The same model with int8 weights (WeightPrecision.BFloat16 for bf16): a quarter of the bytes per weight, which pays
// once a step streams its weights from L2 or further. Biases, state and activations stay float32.
RnnModel int8 = model.WithPrecision(WeightPrecision.Int8);
float[] y32 = new float[2 * Frames], y8 = new float[2 * Frames];
model.Run(input, Frames, model.CreateState(batch: 2), y32);
int8.Run(input, Frames, int8.CreateState(batch: 2), y8);
float maxError = y32.Zip(y8, (a, b) => MathF.Abs(a - b)).Max();
Console.WriteLine($"int8 against float32, one block: max |error| {maxError:0.0e+0}");   // rnnfast info --model FILE measures it
// </snippet:precision>
Check(maxError > 0 && maxError < 0.01, "int8 weights: outputs within 0.01 of float32, and not identical");

// Published with NativeAOT, the kernels depend on <IlcInstructionSet>; CI passes --all-kernels after publishing with
// IlcInstructionSet=native, so losing AVX2/AVX-512 to the AOT defaults fails the run.
if (RnnKernels.BelowHardwareNote is { } note)
{
    Console.WriteLine(note);
}
if (args.Contains("--all-kernels"))
{
    Check(!RnnKernels.RunsBelowHardware, $"every kernel the CPU supports is available ({string.Join(", ", RnnKernels.Available)})");
}

Console.WriteLine($"kernel {model.Kernel}; {(failures == 0 ? "all checks passed" : $"{failures} check(s) failed")}");
return failures == 0 ? 0 : 1;

// <snippet:audio>

/// <summary>A stereo effect for a real-time audio callback: the two channels are two streams of one state.</summary>
public sealed class StereoEffect(RnnModel model)
{
    // Allocated once, outside the audio thread: h and c of both channels (batch 2).
    private readonly RnnState _state = model.CreateState(batch: 2);

    /// <summary>
    /// One callback. Interleaved stereo <c>[N frames, 2 channels]</c> is exactly the time-major
    /// <c>[T, B, I]</c> of <see cref="RnnModel.Run(ReadOnlySpan{float}, int, RnnState, Span{float})"/> with T = N, B = 2, I = 1: one call per block.
    /// </summary>
    public void Process(ReadOnlySpan<float> input, Span<float> output) => model.Run(input, input.Length / 2, _state, output);

    /// <summary>Forget the past (transport stopped, preset changed).</summary>
    public void Reset() => _state.Reset();
}
// </snippet:audio>
