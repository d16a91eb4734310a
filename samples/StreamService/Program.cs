// A service stepping many streams together (the README's <snippet:service> regions; a test checks they match).
// CI runs this program; it exits 1 if batching changes a stream's result or a stream reset disturbs its neighbours.
// <snippet:service>
using System.Diagnostics;
using Rnn.Fast;

// 1,000 sensors, each sending 4 readings per tick; one model shared by every thread, one state per group of
// 64 streams, stepped together (each load of W_hh serves several streams), groups in parallel.
RnnModel model = RnnModel.CreateGru(inputSize: 4, hiddenSize: 48, outputSize: 2, seed: 7);
const int Streams = 1000, GroupSize = 64, Ticks = 200;
StreamGroup[] groups = [.. Enumerable.Range(0, (Streams + GroupSize - 1) / GroupSize)
    .Select(g => new StreamGroup(model, Math.Min(GroupSize, Streams - g * GroupSize)))];

var clock = Stopwatch.StartNew();
for (int tick = 0; tick < Ticks; tick++)
{
    Parallel.ForEach(groups, group =>
    {
        group.ReadSensors(tick);   // fills group.Inputs [B, I]
        group.Step();              // group.Outputs [B, O]: one step of every stream in the group
    });
}
Console.WriteLine($"{Streams} streams x {Ticks} ticks: {Streams * (double)Ticks / clock.Elapsed.TotalSeconds:N0} stream-steps/s");
groups[3].ResetStream(5);          // stream 3 * 64 + 5 reconnected: only its state starts over
// </snippet:service>

// The checks behind the example: a stream stepped inside its group gives what it gives alone; resetting one
// stream leaves the others' state untouched.
int failures = 0;
void Check(bool ok, string what)
{
    Console.WriteLine($"{(ok ? "ok  " : "FAIL")} {what}");
    failures += ok ? 0 : 1;
}

var replay = new StreamGroup(model, GroupSize);
var alone = new StreamGroup(model, 1);
float worst = 0;
for (int tick = 0; tick < Ticks; tick++)
{
    replay.ReadSensors(tick);
    replay.Step();
    // Stream 7 of the group alone: same readings, batch 1.
    replay.Inputs.AsSpan(7 * model.InputSize, model.InputSize).CopyTo(alone.Inputs);
    alone.Step();
    for (int o = 0; o < model.OutputSize; o++)
    {
        worst = Math.Max(worst, Math.Abs(alone.Outputs[o] - replay.Outputs[7 * model.OutputSize + o]));
    }
}
// Kernels may sum in a different order with another batch; the difference stays at float rounding.
Check(worst <= 1e-5f, $"stream 7 in a group of {GroupSize} = stream 7 alone (max |diff| {worst:G3})");

float[] neighbour = replay.State.Hidden(0, stream: 8).ToArray();
replay.ResetStream(7);
Check(replay.State.Hidden(0, stream: 7).IndexOfAnyExcept(0f) < 0, "ResetStream(7) zeroes stream 7");
Check(replay.State.Hidden(0, stream: 8).SequenceEqual(neighbour), "ResetStream(7) leaves stream 8 alone");

Console.WriteLine($"kernel {model.Kernel}; {(failures == 0 ? "all checks passed" : $"{failures} check(s) failed")}");
return failures == 0 ? 0 : 1;

// <snippet:service>

/// <summary>Up to a few dozen streams stepped together: one state of batch B, inputs [B, I], outputs [B, O].</summary>
public sealed class StreamGroup(RnnModel model, int streams)
{
    public RnnState State { get; } = model.CreateState(batch: streams);
    public float[] Inputs { get; } = new float[streams * model.InputSize];    // stream b's readings at b * I
    public float[] Outputs { get; } = new float[streams * model.OutputSize];  // stream b's outputs at b * O

    public void Step() => model.Step(Inputs, State, Outputs);

    /// <summary>One stream starts over (zeros, or the model's initial state); the others carry on.</summary>
    public void ResetStream(int stream)
    {
        for (int layer = 0; layer < model.Layers.Count; layer++)
        {
            Span<float> h = State.Hidden(layer, stream);
            h.Clear();
            model.Options.InitialHidden?[layer]?.CopyTo(h);
            if (model.Layers[layer].Cell == CellType.Lstm)
            {
                Span<float> c = State.Cell(layer, stream);
                c.Clear();
                model.Options.InitialCell?[layer]?.CopyTo(c);
            }
        }
    }

    // Stand-in for the network: a deterministic reading per stream, channel and tick.
    public void ReadSensors(int tick)
    {
        for (int i = 0; i < Inputs.Length; i++)
        {
            Inputs[i] = MathF.Sin(0.05f * tick + 0.37f * i);
        }
    }
}
// </snippet:service>
