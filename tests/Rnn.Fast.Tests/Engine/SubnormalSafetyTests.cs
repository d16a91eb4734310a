using Rnn.Fast.Internals;
using Rnn.Fast.Training;

namespace Rnn.Fast.Tests;

/// <summary>
/// Nothing the engine carries or reads is subnormal (on x86 every multiply of one is a microcode assist, 20× a step's
/// time): a state decaying in silence goes to zero without passing through the subnormals, on every path that steps
/// it; subnormal (and any below 2^-63) inputs are read as zero on every entry point; and vanishing gradients in BPTT
/// go to zero too. Every kernel this machine runs. No timing here: the tests assert the values that make the time
/// value-independent (SimdMath.FlushTiny explains the measurements).
/// </summary>
[Trait("Category", "Kernel")]
public sealed class SubnormalSafetyTests
{
    private const int Hidden = 16;

    public static TheoryData<string, CellType, int, int> DecayCases()
    {
        var data = new TheoryData<string, CellType, int, int>();
        foreach (RnnKernel kernel in KernelRegistry.Available)
        {
            foreach (CellType cell in Enum.GetValues<CellType>())
            {
                // 1: the latency family's Step; 3: its multi-stream Step; 9 streams: the recurrence, on the gate-interleaved
                // cells at H = 16 and on the stream tiles from H = 128 (Recurrence.StreamTileMinHidden).
                data.Add(kernel.Name, cell, 1, 16);
                data.Add(kernel.Name, cell, 3, 16);
                data.Add(kernel.Name, cell, 9, 16);
                data.Add(kernel.Name, cell, 9, Recurrence.StreamTileMinHidden);
            }
        }
        return data;
    }

    public static TheoryData<string, CellType> KernelCells()
    {
        var data = new TheoryData<string, CellType>();
        foreach (RnnKernel kernel in KernelRegistry.Available)
        {
            foreach (CellType cell in Enum.GetValues<CellType>())
            {
                data.Add(kernel.Name, cell);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(DecayCases))]
    public void Step_StateDecayingInSilence_NeverSubnormal_EndsAtZero(string kernel, CellType cell, int batch, int hidden)
    {
        // Elman once with tanh (the flush inside tanh's select), once with ReLU (the flush of the result).
        foreach (Activation f in cell == CellType.Elman ? (Activation[])[Activation.Tanh, Activation.Relu] : [Activation.Tanh])
        {
            RnnModel model = RnnModel.Create([Layer(cell, input: 1, seed: 5, hidden: hidden, nonlinearity: f)], kernel: kernel);
            RnnState state = model.CreateState(batch);
            Charge(model, state);
            float[] input = new float[batch], output = new float[batch * hidden];
            string what = $"{kernel} {cell} {f} H={hidden} B={batch}";
            for (int t = 0; t < 2000; t++)
            {
                model.Step(input, state, output);
                AssertNoSubnormal(state, cell, $"{what}, after step {t}");
            }
            AssertAllZero(state, cell, $"{what}: after 2000 silent steps the state must have decayed to 0");
        }
    }

    [Theory]
    [MemberData(nameof(DecayCases))]
    public void Run_StateDecayingInSilence_NeverSubnormal_EndsAtZero(string kernel, CellType cell, int batch, int hidden)
    {
        foreach (Activation f in cell == CellType.Elman ? (Activation[])[Activation.Tanh, Activation.Relu] : [Activation.Tanh])
        {
            RnnModel model = RnnModel.Create([Layer(cell, input: 1, seed: 6, hidden: hidden, nonlinearity: f)], kernel: kernel);
            RnnState state = model.CreateState(batch);
            Charge(model, state);
            const int Steps = 1500;
            float[] outputs = new float[Steps * batch * hidden];
            model.Run(new float[Steps * batch], Steps, state, outputs);
            int subnormal = Array.FindIndex(outputs, float.IsSubnormal);
            string what = $"{kernel} {cell} {f} H={hidden} B={batch}";
            Assert.True(subnormal < 0, $"{what}: h at step {subnormal / (batch * hidden)} is {(subnormal < 0 ? 0 : outputs[subnormal]):R}, subnormal");
            AssertAllZero(state, cell, $"{what}: after {Steps} silent steps the state must have decayed to 0");
        }
    }

    [Theory]
    [InlineData(WeightPrecision.Int8, CellType.Lstm)]
    [InlineData(WeightPrecision.Int8, CellType.Gru)]
    [InlineData(WeightPrecision.Int8, CellType.Elman)]
    [InlineData(WeightPrecision.BFloat16, CellType.Lstm)]
    [InlineData(WeightPrecision.BFloat16, CellType.Gru)]
    [InlineData(WeightPrecision.BFloat16, CellType.Elman)]
    public void ReducedProducts_StateDecayingInSilence_NeverSubnormal_EndsAtZero(WeightPrecision precision, CellType cell)
    {
        // The bf16 and int8 products (forced: this layer is small enough to run as float32 by default), Step and Run.
        RnnModel model = RnnModel.Create([Layer(cell, input: 1, seed: 10)]).WithPrecision(precision, ReducedProducts.Always);
        foreach (int batch in (int[])[1, 4])
        {
            RnnState stepped = model.CreateState(batch);
            Charge(model, stepped);
            float[] input = new float[batch], output = new float[batch * Hidden];
            for (int t = 0; t < 1500; t++)
            {
                model.Step(input, stepped, output);
                AssertNoSubnormal(stepped, cell, $"{precision} {cell} Step B={batch}, after step {t}");
            }
            AssertAllZero(stepped, cell, $"{precision} {cell} Step B={batch}: the state must have decayed to 0");

            RnnState run = model.CreateState(batch);
            Charge(model, run);
            float[] outputs = new float[1500 * batch * Hidden];
            model.Run(new float[1500 * batch], 1500, run, outputs);
            int subnormal = Array.FindIndex(outputs, float.IsSubnormal);
            Assert.True(subnormal < 0, $"{precision} {cell} Run B={batch}: h [{subnormal}] is subnormal");
            AssertAllZero(run, cell, $"{precision} {cell} Run B={batch}: the state must have decayed to 0");
        }
    }

    [Theory]
    [MemberData(nameof(KernelCells))]
    public void TinyInputs_EveryEntryPoint_ReadAsZero_BitForBit(string kernel, CellType cell)
    {
        const int I = 3, B = 3, T = 7;
        var random = new Random(17 + (int)cell);
        // W_ih of magnitude up to 3e20 makes the normal ones among these (5e-20 · 3e20 = 15) change the step, so a
        // path that did not flush would give other outputs; the subnormals would only be slow.
        float[] tiny = [1e-40f, -1e-39f, float.Epsilon, MathF.ScaleB(1f, -64), -1e-19f, 5e-20f, -1e-30f, 1.17549435e-38f];
        float[] dirty = [.. Enumerable.Range(0, T * B * I).Select(_ => (float)(random.NextDouble() * 2 - 1))];
        // Whole rows of tiny values (every other row): beside a normal input the tiny ones would round away.
        for (int i = 0; i < dirty.Length; i++)
        {
            if (i / I % 2 == 0)
            {
                dirty[i] = tiny[random.Next(tiny.Length)];
            }
        }
        float[] zeroed = [.. dirty.Select(x => MathF.Abs(x) < MathF.ScaleB(1f, -63) ? MathF.CopySign(0f, x) : x)];
        var head = new HeadWeights(Hidden, 2, [.. Enumerable.Range(0, 2 * Hidden).Select(i => 0.05f * (i % 7 - 3))], [0.1f, -0.2f]);
        RnnModel model = RnnModel.Create([Layer(cell, I, seed: 7, bias: 0.1f, inputScale: 1e21f)], head, kernel);

        // Step: one stream (latency family), three streams.
        foreach (int batch in (int[])[1, B])
        {
            float[] a = Stepped(model, dirty, batch, I), b = Stepped(model, zeroed, batch, I);
            AssertBitEqual(b, a, $"{kernel} {cell} Step B={batch}");
        }
        // Run, both layouts (batch-first gathers first, then flushes the gathered chunk).
        foreach (SequenceLayout layout in Enum.GetValues<SequenceLayout>())
        {
            float[] a = new float[T * B * 2], b = new float[T * B * 2];
            model.Run(dirty, T, model.CreateState(B), a, layout);
            model.Run(zeroed, T, model.CreateState(B), b, layout);
            AssertBitEqual(b, a, $"{kernel} {cell} Run {layout}");
        }
        // Bidirectional Run (whole-sequence buffers of its own).
        RnnModel both = RnnModel.Create([Layer(cell, I, seed: 7, bias: 0.1f, inputScale: 1e21f)], null, kernel,
            new RnnModelOptions { ReverseLayers = [Layer(cell, I, seed: 8, bias: 0.1f, inputScale: 1e21f)] });
        {
            float[] a = new float[T * B * 2 * Hidden], b = new float[T * B * 2 * Hidden];
            both.Run(dirty, T, both.CreateState(B), a);
            both.Run(zeroed, T, both.CreateState(B), b);
            AssertBitEqual(b, a, $"{kernel} {cell} bidirectional Run");
        }
        // The training forward pass (whose kept copy of the inputs backward's W_ih gradient reads).
        TrainableModel trainable = TrainableModel.From(model);
        TrainingWorkspace ws = trainable.CreateWorkspace(T, B);
        float[] forwardDirty = trainable.Forward(dirty, T, ws).ToArray();
        float[] forwardZeroed = trainable.Forward(zeroed, T, ws).ToArray();
        AssertBitEqual(forwardZeroed, forwardDirty, $"{kernel} {cell} training Forward");
    }

    [Fact]
    public void InitialStateOptions_TinyValues_KeptAsZero_AStateResetFromThemHoldsNoSubnormal()
    {
        float[] h0 = [.. Enumerable.Range(0, Hidden).Select(k => k % 3 == 0 ? 1e-40f : k % 3 == 1 ? -5e-20f : 0.25f)];
        float[] c0 = [.. h0.Select(x => -x)];
        RnnModel model = RnnModel.Create([Layer(CellType.Lstm, input: 1, seed: 11)], null, null,
            new RnnModelOptions { InitialHidden = [h0], InitialCell = [c0] });
        RnnState state = model.CreateState(2);
        state.Hidden(0, 1).Fill(0.5f);
        state.Reset();
        for (int s = 0; s < 2; s++)
        {
            for (int k = 0; k < Hidden; k++)
            {
                float expectedH = k % 3 == 2 ? 0.25f : MathF.CopySign(0f, h0[k]);
                float expectedC = k % 3 == 2 ? -0.25f : MathF.CopySign(0f, c0[k]);
                Assert.Equal(BitConverter.SingleToInt32Bits(expectedH), BitConverter.SingleToInt32Bits(state.Hidden(0, s)[k]));
                Assert.Equal(BitConverter.SingleToInt32Bits(expectedC), BitConverter.SingleToInt32Bits(state.Cell(0, s)[k]));
            }
        }
        Assert.Equal(0f, model.Options.InitialHidden![0]![0]); // what the model reports is what it uses
    }

    [Theory]
    [MemberData(nameof(KernelCells))]
    public void SaturatedGates_LargeNegativePreActivations_NoSubnormalGateOrState(string kernel, CellType cell)
    {
        // Pre-activations of −95 (large inputs): σ(−95) = 5.5e-42 is subnormal, and every product with the gate would pay
        // an assist, every step. The cells compute gates with SimdMath.GateSigmoid, which stops at 2^-63.
        if (cell == CellType.Elman)
        {
            return; // Elman has no gates; its sigmoid nonlinearity is covered by StateActivation's flush.
        }
        const int T = 5, B = 3;
        int gates = LayerWeights.GatesOf(cell) * Hidden;
        float[] wih = [.. Enumerable.Repeat(1f, gates)], whh = new float[gates * Hidden], bias = new float[gates];
        LayerWeights layer = cell == CellType.Lstm
            ? LayerWeights.Lstm(1, Hidden, wih, whh, bias, bias)
            : LayerWeights.Gru(1, Hidden, wih, whh, bias, bias);
        TrainableModel trainable = TrainableModel.From(RnnModel.Create([layer], kernel: kernel));
        TrainingWorkspace ws = trainable.CreateWorkspace(T, B);
        float[] outputs = trainable.Forward([.. Enumerable.Repeat(-95f, T * B)], T, ws).ToArray();
        AssertNoSubnormal(ws.Cache.Layers[0].Gates, $"{kernel} {cell}: cached gates");
        AssertNoSubnormal(outputs, $"{kernel} {cell}: h");
    }

    [Theory]
    [MemberData(nameof(KernelCells))]
    public void Backward_LossOnLastStepOnly_GradientsVanishToZero_NeverSubnormal(string kernel, CellType cell)
    {
        // A loss on the last of 300 steps: its gradient shrinks by about half per step back (small weights), reaching
        // 2^-63 within ~100 steps, where the flush takes it to exactly 0 instead of through the subnormals.
        const int I = 4, B = 2, T = 300;
        var random = new Random(29 + (int)cell);
        RnnModel model = RnnModel.Create([Layer(cell, I, seed: 9, bias: 0.1f)], kernel: kernel);
        TrainableModel trainable = TrainableModel.From(model);
        TrainingWorkspace ws = trainable.CreateWorkspace(T, B);
        float[] inputs = [.. Enumerable.Range(0, T * B * I).Select(_ => (float)(random.NextDouble() * 2 - 1))];
        trainable.Forward(inputs, T, ws);
        float[] dy = new float[T * B * Hidden];
        for (int i = (T - 1) * B * Hidden; i < dy.Length; i++)
        {
            dy[i] = (float)(random.NextDouble() * 2 - 1);
        }
        trainable.ZeroGradients();
        trainable.Backward(dy, ws);

        string what = $"{kernel} {cell}";
        foreach (Parameter parameter in trainable.Parameters)
        {
            AssertNoSubnormal(parameter.PackedGradients, $"{what}: gradient of {parameter.Name}");
        }
        AssertNoSubnormal(ws.InputGradients, $"{what}: dL/dx");
        AssertNoSubnormal(ws.InitialHiddenGradient(0, 0), $"{what}: dL/dh0");
        ReadOnlySpan<float> first = ws.InputGradients[..(B * I)], last = ws.InputGradients[((T - 1) * B * I)..];
        Assert.True(first.IndexOfAnyExcept(0f) < 0, $"{what}: dL/dx of step 0 should have vanished to exactly 0");
        Assert.True(last.IndexOfAnyExcept(0f) >= 0, $"{what}: dL/dx of the last step should not be 0");
    }

    // Weights uniform in ±0.3·√(16/H) (the recurrence contracts at every H; W_ih times inputScale), biases `bias` (0:
    // nothing holds the state away from 0).
    private static LayerWeights Layer(CellType cell, int input, int seed, float bias = 0f, float inputScale = 1f, int hidden = Hidden,
        Activation nonlinearity = Activation.Tanh)
    {
        var random = new Random(seed);
        int gates = LayerWeights.GatesOf(cell) * hidden;
        float scale = 0.3f * MathF.Sqrt(16f / hidden);
        float[] Uniform(int n) => [.. Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 2 - 1) * scale)];
        float[] wih = [.. Uniform(gates * input).Select(w => w * inputScale)], whh = Uniform(gates * hidden);
        float[] b = [.. Enumerable.Repeat(bias, gates)];
        return cell switch
        {
            CellType.Lstm => LayerWeights.Lstm(input, hidden, wih, whh, b, b),
            CellType.Gru => LayerWeights.Gru(input, hidden, wih, whh, b, b),
            _ => LayerWeights.Elman(input, hidden, nonlinearity, wih, whh, b, b),
        };
    }

    // Every stream starts away from 0 (and differently), so its decay crosses the whole range down to 2^-63.
    private static void Charge(RnnModel model, RnnState state)
    {
        for (int s = 0; s < state.Batch; s++)
        {
            for (int k = 0; k < state.Hidden(0, s).Length; k++)
            {
                state.Hidden(0, s)[k] = 0.9f * MathF.Sin(1 + s + 0.7f * k);
                if (model.Layers[0].Cell == CellType.Lstm)
                {
                    state.Cell(0, s)[k] = 1.5f * MathF.Cos(2 + s + 0.3f * k);
                }
            }
        }
    }

    private static float[] Stepped(RnnModel model, float[] inputs, int batch, int inputSize)
    {
        RnnState state = model.CreateState(batch);
        int steps = inputs.Length / (batch * inputSize);
        float[] outputs = new float[steps * batch * model.OutputSize];
        for (int t = 0; t < steps; t++)
        {
            model.Step(inputs.AsSpan(t * batch * inputSize, batch * inputSize), state, outputs.AsSpan(t * batch * model.OutputSize, batch * model.OutputSize));
        }
        return outputs;
    }

    private static void AssertNoSubnormal(RnnState state, CellType cell, string what)
    {
        for (int s = 0; s < state.Batch; s++)
        {
            AssertNoSubnormal(state.Hidden(0, s), $"{what}: h of stream {s}");
            if (cell == CellType.Lstm)
            {
                AssertNoSubnormal(state.Cell(0, s), $"{what}: c of stream {s}");
            }
        }
    }

    private static void AssertNoSubnormal(ReadOnlySpan<float> values, string what)
    {
        for (int i = 0; i < values.Length; i++)
        {
            Assert.False(float.IsSubnormal(values[i]), $"{what}: [{i}] = {values[i]:R} is subnormal");
        }
    }

    private static void AssertAllZero(RnnState state, CellType cell, string what)
    {
        for (int s = 0; s < state.Batch; s++)
        {
            Assert.True(state.Hidden(0, s).IndexOfAnyExcept(0f) < 0, $"{what} (h of stream {s})");
            Assert.True(cell != CellType.Lstm || state.Cell(0, s).IndexOfAnyExcept(0f) < 0, $"{what} (c of stream {s})");
        }
    }

    private static void AssertBitEqual(float[] expected, float[] actual, string what)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]),
                $"{what}: [{i}] = {actual[i]:R} with tiny inputs, {expected[i]:R} with them zeroed");
        }
    }
}
