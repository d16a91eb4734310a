using Rnn.Fast.Internals;
using Rnn.Fast.Reference;
using Rnn.Fast.Training;

namespace Rnn.Fast.Tests.Precision;

/// <summary>
/// Reduced-precision models where the random property tests rarely go: sequences much longer than a chunk, batch-first
/// bidirectional runs, stacks whose layers choose differently between the reduced products and float32, special inputs,
/// several threads on one model, and what the API gives back.
/// </summary>
[Trait("Category", "Kernel")]
public sealed class PrecisionReviewTests
{
    public static TheoryData<string, CellType, WeightPrecision> KernelsCellsAndPrecisions()
    {
        var data = new TheoryData<string, CellType, WeightPrecision>();
        foreach (string kernel in RnnKernels.Available)
        {
            foreach (CellType cell in new[] { CellType.Lstm, CellType.Gru, CellType.Elman })
            {
                data.Add(kernel, cell, WeightPrecision.BFloat16);
                data.Add(kernel, cell, WeightPrecision.Int8);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(KernelsCellsAndPrecisions))]
    public void Run_ReducedBidirectionalManyChunks_BothLayoutsMatchReference(string kernel, CellType cell, WeightPrecision precision)
    {
        // 2 layers of 19 units both ways (the next layer's input is 38, a stride that is not Hp), a softmax head, a residual
        // and an initial state; 3 streams of 300 steps: several chunks of the state's scratch in each direction.
        var c = new NetworkCase(cell, Activation.Tanh, 5, 19, 2, 4, Activation.Softmax, 300, 3, 1f, 17,
            Bidirectional: true, SkipWanted: 2, InitialState: true);
        CheckBothLayouts(c, kernel, precision, ReducedProducts.Always);
    }

    [Theory]
    [MemberData(nameof(KernelsCellsAndPrecisions))]
    public void Run_ReducedUnidirectionalManyChunks_BothLayoutsMatchReference(string kernel, CellType cell, WeightPrecision precision)
    {
        var c = new NetworkCase(cell, Activation.Relu, 3, 33, 2, 3, Activation.Sigmoid, 700, 2, 1f, 23, SkipWanted: 1, InitialState: true);
        CheckBothLayouts(c, kernel, precision, ReducedProducts.Always);
    }

    /// <summary>K past 512 (the int8 products sum int32 runs of 256 column pairs, then float32), odd K, and K = 0.</summary>
    [Theory]
    [InlineData(CellType.Lstm, WeightPrecision.Int8, 1101)]
    [InlineData(CellType.Elman, WeightPrecision.Int8, 1024)]
    [InlineData(CellType.Gru, WeightPrecision.Int8, 513)]
    [InlineData(CellType.Gru, WeightPrecision.BFloat16, 1101)]
    [InlineData(CellType.Lstm, WeightPrecision.Int8, 0)]
    [InlineData(CellType.Gru, WeightPrecision.BFloat16, 0)]
    public void Run_ReducedWideAndEmptyInputs_MatchReference(CellType cell, WeightPrecision precision, int input)
    {
        foreach (string kernel in RnnKernels.Available)
        {
            var c = new NetworkCase(cell, Activation.Tanh, input, 9, 1, 2, Activation.Identity, 4, 2, 1f, 41, InitialState: true);
            CheckBothLayouts(c, kernel, precision, ReducedProducts.Always);
        }
    }

    private static void CheckBothLayouts(NetworkCase c, string kernel, WeightPrecision precision, ReducedProducts products)
    {
        RnnModel model = c.Build(kernel).WithPrecision(precision, products);
        float[] inputs = c.Inputs();
        int o = model.OutputSize;
        var timeMajor = new float[c.Steps * c.Batch * o];
        model.Run(inputs, c.Steps, model.CreateState(c.Batch), timeMajor);
        double[] expected = new ReferenceModel(model).Run(inputs, c.Steps, NetworkCase.ReferenceStates(model, c.Batch));
        for (int i = 0; i < timeMajor.Length; i++)
        {
            double tolerance = PrecisionModelTests.Tolerance(c, precision, expected[i]);
            Assert.True(Math.Abs(timeMajor[i] - expected[i]) <= tolerance,
                $"{kernel} {precision} {c}: output {i} is {timeMajor[i]}, reference {expected[i]}, tolerance {tolerance:G3}");
        }
        float[] batchFirstInputs = Transpose(inputs, c.Steps, c.Batch, c.Input);
        var batchFirst = new float[timeMajor.Length];
        model.Run(batchFirstInputs, c.Steps, model.CreateState(c.Batch), batchFirst, SequenceLayout.BatchFirst);
        Assert.Equal(Transpose(timeMajor, c.Steps, c.Batch, o), batchFirst);
    }

    // [T, B, width] → [B, T, width]
    private static float[] Transpose(float[] values, int steps, int batch, int width)
    {
        var result = new float[values.Length];
        for (int t = 0; t < steps; t++)
        {
            for (int b = 0; b < batch; b++)
            {
                values.AsSpan((t * batch + b) * width, width).CopyTo(result.AsSpan((b * steps + t) * width, width));
            }
        }
        return result;
    }

    /// <summary>
    /// A stack where the size rule picks per layer: a large layer on the reduced products next to a small one on the float32
    /// kernels (in both orders, the small one's input a large layer's h), Step of 1 and 3 streams and Run, all against the
    /// reference on the dequantized weights.
    /// </summary>
    [Theory]
    [InlineData(CellType.Lstm, WeightPrecision.BFloat16, true)]
    [InlineData(CellType.Lstm, WeightPrecision.Int8, true)]
    [InlineData(CellType.Gru, WeightPrecision.Int8, true)]
    [InlineData(CellType.Gru, WeightPrecision.BFloat16, false)]
    [InlineData(CellType.Lstm, WeightPrecision.Int8, false)]
    [InlineData(CellType.Elman, WeightPrecision.Int8, false)]
    public void AutoProducts_LayersChoosingDifferently_MatchReference(CellType cell, WeightPrecision precision, bool largeFirst)
    {
        var random = new Random(31);
        // Over the size rule's thresholds (128 KB int8, 256 KB bf16, as float32): 3·100·200·4 B = 240 KB (GRU, int8) and
        // more, and 1·260·272·4 B = 283 KB (Elman) and more; under them 4·12·(100+12)·4 B = 21 KB.
        LayerWeights[] layers = largeFirst
            ? [Layer(random, cell, 100, 100), Layer(random, cell, 100, 12)]
            : [Layer(random, cell, 3, 12), Layer(random, cell, 12, 260)];
        int last = layers[^1].HiddenSize;
        RnnModel model = RnnModel.Create(layers, HeadWeights.Random(last, 3, random, Activation.Tanh))
            .WithPrecision(precision);
        Assert.NotEqual(model.Network.Layers[0].UsesReducedProducts, model.Network.Layers[1].UsesReducedProducts);
        var reference = new ReferenceModel(model);
        int input = model.InputSize, steps = 40;
        foreach (int batch in new[] { 1, 3 })
        {
            float[] x = NetworkCase.Uniform(new Random(batch), steps * batch * input, 2f);
            var y = new float[steps * batch * 3];
            model.Run(x, steps, model.CreateState(batch), y);
            double[] expected = reference.Run(x, steps, NetworkCase.ReferenceStates(model, batch));
            var stepped = new float[y.Length];
            RnnState state = model.CreateState(batch);
            for (int t = 0; t < steps; t++)
            {
                model.Step(x.AsSpan(t * batch * input, batch * input), state, stepped.AsSpan(t * batch * 3, batch * 3));
            }
            for (int i = 0; i < y.Length; i++)
            {
                Assert.True(Math.Abs(y[i] - expected[i]) <= 2e-3, $"Run {precision} {cell} batch {batch}: {i} is {y[i]}, reference {expected[i]}");
                Assert.True(Math.Abs(stepped[i] - expected[i]) <= 2e-3, $"Step {precision} {cell} batch {batch}: {i} is {stepped[i]}, reference {expected[i]}");
            }
        }
    }

    private static LayerWeights Layer(Random random, CellType cell, int input, int hidden)
    {
        int rows = LayerWeights.GatesOf(cell) * hidden;
        float bound = 1f / MathF.Sqrt(hidden);
        float[] wih = NetworkCase.Uniform(random, rows * input, bound), whh = NetworkCase.Uniform(random, rows * hidden, bound);
        float[] bih = NetworkCase.Uniform(random, rows, bound), bhh = NetworkCase.Uniform(random, rows, bound);
        return cell switch
        {
            CellType.Lstm => LayerWeights.Lstm(input, hidden, wih, whh, bih, bhh),
            CellType.Gru => LayerWeights.Gru(input, hidden, wih, whh, bih, bhh),
            _ => LayerWeights.Elman(input, hidden, Activation.Tanh, wih, whh, bih, bhh),
        };
    }

    /// <summary>Zeros, subnormals, tiny and huge inputs through a ReLU Elman layer and a linear head (the products see them as they are).</summary>
    [Theory]
    [InlineData(WeightPrecision.BFloat16, 0f)]
    [InlineData(WeightPrecision.Int8, 0f)]
    [InlineData(WeightPrecision.BFloat16, 1e-41f)]
    [InlineData(WeightPrecision.Int8, 1e-41f)]
    [InlineData(WeightPrecision.Int8, 1e-36f)]
    [InlineData(WeightPrecision.Int8, 1e-30f)]
    [InlineData(WeightPrecision.BFloat16, 1e30f)]
    [InlineData(WeightPrecision.Int8, 1e30f)]
    public void Step_SpecialInputMagnitudes_MatchReference(WeightPrecision precision, float magnitude)
    {
        var random = new Random(4);
        LayerWeights layer = LayerWeights.Elman(9, 20, Activation.Relu, NetworkCase.Uniform(random, 20 * 9, 0.5f),
            NetworkCase.Uniform(random, 20 * 20, 0.2f), new float[20], new float[20]);
        RnnModel model = RnnModel.Create([layer], new HeadWeights(20, 2, NetworkCase.Uniform(random, 40, 0.5f), new float[2], Activation.Identity))
            .WithPrecision(precision, ReducedProducts.Always);
        var reference = new ReferenceModel(model);
        ReferenceState referenceState = reference.CreateState();
        RnnState state = model.CreateState();
        var y = new float[2];
        for (int t = 0; t < 5; t++)
        {
            float[] x = [.. NetworkCase.Uniform(new Random(t), 9, 1f).Select((v, j) => j % 3 == 0 ? 0f : v * magnitude)];
            model.Step(x, state, y);
            double[] expected = reference.Step(x, referenceState);
            for (int i = 0; i < 2; i++)
            {
                // Relative: the int16 rounding of activations is at most 1/65534 of the largest |x| per term.
                double tolerance = 1e-3 * Math.Abs(expected[i]) + 2e-3 * magnitude + 1e-30;
                Assert.True(Math.Abs(y[i] - expected[i]) <= tolerance, $"{precision} x ~ {magnitude}, step {t}: {y[i]} vs {expected[i]}");
            }
        }
    }

    /// <summary>
    /// A large weight scale times a large activation scale overflows float32 although the product does not: row [1e8, 1]
    /// quantizes to [127, 0], and x = [0, 3e38] makes every integer term 0; s_w · s_x = 7.9e5 · 9.2e33 is +Inf, and 0 · Inf
    /// would be NaN where the dequantized model gives 0.
    /// </summary>
    [Fact]
    public void Int8_LargeWeightAndActivationScales_NoOverflowWhereTheProductIsFinite()
    {
        LayerWeights layer = LayerWeights.Elman(2, 1, Activation.Relu, [1e8f, 1f], [0f], [0.5f], [0f]);
        foreach (string kernel in RnnKernels.Available)
        {
            RnnModel model = RnnModel.Create([layer], kernel: kernel).WithPrecision(WeightPrecision.Int8, ReducedProducts.Always);
            var y = new float[1];
            model.Step([0f, 3e38f], model.CreateState(), y);
            double expected = new ReferenceModel(model).Step([0f, 3e38f], new ReferenceModel(model).CreateState())[0];
            Assert.Equal(0.5, expected);
            Assert.Equal(0.5f, y[0]);
        }
    }

    /// <summary>
    /// Zero allocation beyond the existing shapes: a stack whose first layer runs the reduced products and second the float32
    /// kernels, one stream and five, batch-first Run (gathered into the state's scratch), a head through the reduced products.
    /// </summary>
    [Theory]
    [InlineData(WeightPrecision.BFloat16, CellType.Gru, 1)]
    [InlineData(WeightPrecision.Int8, CellType.Gru, 5)]
    [InlineData(WeightPrecision.Int8, CellType.Lstm, 1)]
    [InlineData(WeightPrecision.BFloat16, CellType.Lstm, 5)]
    public void StepAndRun_MixedStackBatchFirst_AllocateNothingOnAFreshThread(WeightPrecision precision, CellType cell, int batch)
    {
        var random = new Random(8);
        // 3·128·256·4 B = 384 KB and more as float32: over both thresholds; the second layer and the first head far under.
        RnnModel model = RnnModel.Create([Layer(random, cell, 128, 128), Layer(random, cell, 128, 12)],
            HeadWeights.Random(12, 3, random, Activation.Softmax)).WithPrecision(precision);
        Assert.True(model.Network.Layers[0].UsesReducedProducts && !model.Network.Layers[1].UsesReducedProducts);
        RnnModel forcedHead = RnnModel.Create([Layer(random, cell, 7, 150)], HeadWeights.Random(150, 450, random)).WithPrecision(precision);
        Assert.True(forcedHead.Network.Head!.UsesReducedProducts);
        foreach (RnnModel m in new[] { model, forcedHead })
        {
            long stepBytes = -1, runBytes = -1;
            var thread = new Thread(() =>
            {
                RnnState state = m.CreateState(batch);
                const int steps = 70;
                float[] x = new float[batch * steps * m.InputSize], y = new float[batch * steps * m.OutputSize];
                // Windows of calls, not one first call: a 70-step run promotes methods through tiered JIT mid-call, which
                // on a loaded machine shows as a few KB once (see AllocationMeter); a real allocation shows in every window.
                stepBytes = AllocationMeter.MinBytesPerWindow(() => m.Step(x.AsSpan(0, batch * m.InputSize), state, y.AsSpan(0, batch * m.OutputSize)), 20);
                runBytes = AllocationMeter.MinBytesPerWindow(() => m.Run(x, steps, state, y, SequenceLayout.BatchFirst), 2);
            });
            thread.Start();
            thread.Join();
            Assert.Equal(0, stepBytes);
            Assert.Equal(0, runBytes);
        }
    }

    [Theory]
    [InlineData(WeightPrecision.BFloat16, CellType.Gru)]
    [InlineData(WeightPrecision.Int8, CellType.Lstm)]
    [InlineData(WeightPrecision.Int8, CellType.Gru)]
    public void Step_ThreadsOnOneReducedModel_SameAsOneAtATime(WeightPrecision precision, CellType cell)
    {
        RnnModel model = Models.Of(cell, 6, 96, 5, seed: 12).WithPrecision(precision, ReducedProducts.Always);
        const int threads = 4, steps = 300;
        float[][] inputs = [.. Enumerable.Range(0, threads).Select(i => NetworkCase.Uniform(new Random(100 + i), steps * 2 * 6, 1.5f))];
        float[][] Run(RnnModel m, int i)
        {
            RnnState state = m.CreateState(i % 2 + 1);
            int batch = state.Batch;
            var outputs = new float[steps][];
            for (int t = 0; t < steps; t++)
            {
                outputs[t] = new float[batch * m.OutputSize];
                m.Step(inputs[i].AsSpan(t * batch * 6, batch * 6), state, outputs[t]);
            }
            return outputs;
        }
        float[][][] alone = [.. Enumerable.Range(0, threads).Select(i => Run(model, i))];
        var together = new float[threads][][];
        using var start = new Barrier(threads);
        Thread[] workers = [.. Enumerable.Range(0, threads).Select(i => new Thread(() =>
        {
            start.SignalAndWait();
            together[i] = Run(model, i);
        }))];
        foreach (Thread worker in workers)
        {
            worker.Start();
        }
        foreach (Thread worker in workers)
        {
            worker.Join();
        }
        for (int i = 0; i < threads; i++)
        {
            for (int t = 0; t < steps; t++)
            {
                Assert.Equal(alone[i][t], together[i][t]);
            }
        }
    }

    [Fact]
    public void Layers_FirstReadFromManyThreads_AllSeeTheSameValues()
    {
        RnnModel model = Models.Lstm(8, 40, 3, seed: 3).WithPrecision(WeightPrecision.Int8);
        var seen = new IReadOnlyList<LayerWeights>[8];
        Parallel.For(0, seen.Length, i => seen[i] = model.Layers);
        Assert.All(seen, s => Assert.Same(seen[0], s));
    }

    [Fact]
    public void Options_ReducedBidirectionalModel_IsACopy()
    {
        var c = new NetworkCase(CellType.Lstm, Activation.Tanh, 3, 8, 1, 2, Activation.Identity, 1, 1, 1f, 5, Bidirectional: true);
        RnnModel model = c.Build(RnnKernels.Available[0]).WithPrecision(WeightPrecision.BFloat16);
        long parameters = model.ParameterCount;
        RnnModelOptions options = model.Options;
        var reverse = Assert.IsType<LayerWeights[]>(options.ReverseLayers, exactMatch: false);
        reverse[0] = LayerWeights.Lstm(3, 1, new float[4 * 3], new float[4], new float[4], new float[4]);
        Assert.Equal(parameters, model.ParameterCount);
        Assert.Equal(8, model.Options.ReverseLayers![0].HiddenSize);
        Assert.Equal(c.Build(RnnKernels.Available[0]).ParameterCount, parameters);
    }

    /// <summary>
    /// ParameterCount of a reduced model is a count of shapes: it must not dequantize the model (which keeps the float32
    /// copies for the model's lifetime, 4 to 5 times the int8 model's weight memory).
    /// </summary>
    [Fact]
    public void ParameterCount_ReducedModel_DoesNotDequantize()
    {
        var c = new NetworkCase(CellType.Gru, Activation.Tanh, 64, 256, 2, 5, Activation.Identity, 1, 1, 1f, 3, Bidirectional: true);
        RnnModel float32 = c.Build(RnnKernels.Available[0]);
        RnnModel model = float32.WithPrecision(WeightPrecision.Int8);
        long before = GC.GetAllocatedBytesForCurrentThread();
        long count = model.ParameterCount;
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(float32.ParameterCount, count);
        Assert.True(allocated < 4096, $"ParameterCount allocated {allocated} B");
        LayerWeights noBias = LayerWeights.Lstm(3, 5, new float[60], new float[100], [], new float[20]);
        RnnModel biasFree = RnnModel.Create([noBias], new HeadWeights(5, 2, new float[10], [])).WithPrecision(WeightPrecision.BFloat16);
        Assert.Equal(60 + 100 + 20 + 10, biasFree.ParameterCount);
    }

    /// <summary>Options of a unidirectional reduced model has no weights to give: reading its Skip must not dequantize the model.</summary>
    [Fact]
    public void Options_UnidirectionalReducedModel_DoesNotDequantize()
    {
        var c = new NetworkCase(CellType.Lstm, Activation.Tanh, 64, 256, 2, 5, Activation.Identity, 1, 1, 1f, 3, SkipWanted: 2, InitialState: true);
        RnnModel model = c.Build(RnnKernels.Available[0]).WithPrecision(WeightPrecision.Int8);
        long before = GC.GetAllocatedBytesForCurrentThread();
        RnnModelOptions options = model.Options;
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(2, options.Skip);
        Assert.Null(options.ReverseLayers);
        Assert.Equal(256, options.InitialHidden![1]!.Length);
        Assert.True(allocated < 16 * 1024, $"Options allocated {allocated} B");
    }

    /// <summary>Head of a reduced model without one is null, found without dequantizing the layers.</summary>
    [Fact]
    public void Head_HeadlessReducedModel_NullWithoutDequantizing()
    {
        var c = new NetworkCase(CellType.Gru, Activation.Tanh, 64, 256, 2, 0, Activation.Identity, 1, 1, 1f, 3);
        RnnModel model = c.Build(RnnKernels.Available[0]).WithPrecision(WeightPrecision.BFloat16);
        long before = GC.GetAllocatedBytesForCurrentThread();
        HeadWeights? head = model.Head;
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Null(head);
        Assert.True(allocated < 1024, $"Head allocated {allocated} B");
    }

    /// <summary>WithPrecision of weights the precision cannot hold names its own argument, not an internal one.</summary>
    [Theory]
    [InlineData(WeightPrecision.BFloat16)]
    [InlineData(WeightPrecision.Int8)]
    public void WithPrecision_UnrepresentableWeight_ExceptionNamesPrecision(WeightPrecision precision)
    {
        float[] whh = new float[64];
        whh[5] = float.MaxValue;
        RnnModel big = RnnModel.Create([LayerWeights.Lstm(1, 4, new float[16], whh, new float[16], new float[16])]);
        var e = Assert.Throws<ArgumentException>(() => big.WithPrecision(precision));
        Assert.Equal("precision", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => big.WithPrecision(precision, ReducedProducts.Never));
        Assert.Equal("precision", e.ParamName);
    }

    /// <summary>Reset returns a reduced model's state to its initial state (given, forward; zeros, reverse); CopyFrom restores a snapshot.</summary>
    [Theory]
    [InlineData(WeightPrecision.BFloat16, false)]
    [InlineData(WeightPrecision.Int8, false)]
    [InlineData(WeightPrecision.Int8, true)]
    public void ResetAndCopyFrom_ReducedModel_RunAgainTheSame(WeightPrecision precision, bool bidirectional)
    {
        var c = new NetworkCase(CellType.Lstm, Activation.Tanh, 4, 37, 2, 3, Activation.Tanh, 90, 2, 1f, 13,
            Bidirectional: bidirectional, InitialState: true);
        RnnModel model = c.Build(RnnKernels.Available[^1]).WithPrecision(precision, ReducedProducts.Always);
        float[] x = c.Inputs();
        float[] first = new float[c.Steps * c.Batch * 3], second = new float[first.Length], third = new float[first.Length];
        RnnState state = model.CreateState(c.Batch);
        RnnState snapshot = model.CreateState(c.Batch);
        model.Run(x, c.Steps, state, first);
        snapshot.CopyFrom(state);
        state.Reset();
        model.Run(x, c.Steps, state, second);
        Assert.Equal(first, second);
        state.CopyFrom(snapshot);
        model.Run(x, c.Steps, state, third);
        RnnState fresh = model.CreateState(c.Batch);
        model.Run(x, c.Steps, fresh, second);
        model.Run(x, c.Steps, fresh, first);
        Assert.Equal(first, third);
    }

    /// <summary>A reduced model loaded from a file and saved over that file: the same bytes, the same model after reloading.</summary>
    [Theory]
    [InlineData(WeightPrecision.BFloat16)]
    [InlineData(WeightPrecision.Int8)]
    public void SaveSafetensors_ReducedModelOverItsOwnSourceFile_SameBytesAndModel(WeightPrecision precision)
    {
        string directory = TestFiles.TempDirectory();
        try
        {
            string path = Path.Combine(directory, "m.safetensors");
            var c = new NetworkCase(CellType.Lstm, Activation.Tanh, 3, 70, 2, 2, Activation.Identity, 1, 1, 1f, 5, Bidirectional: true);
            Rnn.Fast.IO.ModelFile.SaveSafetensors(c.Build(RnnKernels.Available[0]).WithPrecision(precision), path);
            byte[] first = File.ReadAllBytes(path);
            RnnModel loaded = Rnn.Fast.IO.ModelFile.Load(path);
            Assert.Equal(precision, loaded.Precision);
            Rnn.Fast.IO.ModelFile.SaveSafetensors(loaded, path);
            Assert.Equal(first, File.ReadAllBytes(path));
            RnnModel again = Rnn.Fast.IO.ModelFile.Load(path);
            Assert.Equal(loaded.Options.ReverseLayers![1].WeightHh.ToArray(), again.Options.ReverseLayers![1].WeightHh.ToArray());
            if (precision == WeightPrecision.Int8)
            {
                Assert.Equal(loaded.Network.Int8Source()!.Hh[1].Scales, again.Network.Int8Source()!.Hh[1].Scales);
            }
        }
        finally
        {
            Directory.Delete(directory, true);
        }
    }

    [Theory]
    [InlineData(WeightPrecision.BFloat16)]
    [InlineData(WeightPrecision.Int8)]
    public void TrainableModel_FromReducedModel_TrainsFloat32FromTheDequantizedWeights(WeightPrecision precision)
    {
        RnnModel reduced = Models.Gru(4, 24, 2, seed: 6).WithPrecision(precision);
        TrainableModel trainable = TrainableModel.From(reduced);
        RnnModel back = trainable.ToModel();
        Assert.Equal(WeightPrecision.Float32, back.Precision);
        Assert.Equal(reduced.Layers[0].WeightIh.ToArray(), back.Layers[0].WeightIh.ToArray());
        Assert.Equal(reduced.Layers[0].WeightHh.ToArray(), back.Layers[0].WeightHh.ToArray());
        Assert.Equal(reduced.Head!.Weight.ToArray(), back.Head!.Weight.ToArray());
    }

    [Theory]
    [InlineData(WeightPrecision.BFloat16)]
    [InlineData(WeightPrecision.Int8)]
    public void WithKernelAndPrecision_RoundTrips_KeepBidirectionalValuesExactly(WeightPrecision precision)
    {
        var c = new NetworkCase(CellType.Gru, Activation.Tanh, 5, 21, 2, 3, Activation.Identity, 1, 1, 1f, 9, Bidirectional: true);
        RnnModel model = c.Build(RnnKernels.Available[0]).WithPrecision(precision);
        foreach (string kernel in RnnKernels.Available)
        {
            RnnModel other = model.WithKernel(kernel).WithPrecision(precision, ReducedProducts.Always).WithPrecision(precision);
            Assert.Equal(precision, other.Precision);
            for (int l = 0; l < 2; l++)
            {
                Assert.Equal(model.Layers[l].WeightIh.ToArray(), other.Layers[l].WeightIh.ToArray());
                Assert.Equal(model.Options.ReverseLayers![l].WeightHh.ToArray(), other.Options.ReverseLayers![l].WeightHh.ToArray());
            }
            Assert.Equal(model.Head!.Weight.ToArray(), other.Head!.Weight.ToArray());
            if (precision == WeightPrecision.Int8)
            {
                Int8Weights a = model.Network.Int8Source()!, b = other.Network.Int8Source()!;
                Assert.Equal(a.ReverseHh![1].Values, b.ReverseHh![1].Values);
                Assert.Equal(a.ReverseHh![1].Scales, b.ReverseHh![1].Scales);
                Assert.Equal(a.Head!.Values, b.Head!.Values);
                Assert.Equal(a.Head!.Scales, b.Head!.Scales);
            }
        }
    }
}

/// <summary><c>rnnfast info</c>'s error of an int8 model read from a file is that model's error, not a requantized one's.</summary>
public sealed class PrecisionErrorOfLoadedModelTests
{
    [Fact]
    public void Measure_Int8ModelWithItsOwnScales_MeasuresThatModel()
    {
        // Scales as another quantizer might choose them (the largest |q| of a row 100, not 127): quantizing q · s again
        // with Rnn.Fast's scheme gives other weights.
        var random = new Random(2);
        sbyte[] Values(int count) => [.. Enumerable.Range(0, count).Select(i => (sbyte)(i % 7 == 0 ? 100 : random.Next(-99, 100)))];
        float[] Scales(int count) => [.. Enumerable.Range(0, count).Select(_ => 0.004f + 0.002f * random.NextSingle())];
        var ih = new Int8Matrix(Values(4 * 6 * 2), Scales(4 * 6));
        var hh = new Int8Matrix(Values(4 * 6 * 6), Scales(4 * 6));
        var head = new Int8Matrix(Values(6), Scales(1));
        float[] Dequantize(Int8Matrix m, int columns) => [.. m.Values.Select((q, i) => q * m.Scales[i / columns])];
        LayerWeights layer = LayerWeights.Lstm(2, 6, Dequantize(ih, 2), Dequantize(hh, 6), new float[24], new float[24]);
        RnnModel model = RnnModel.CreateWithPrecision([layer], new HeadWeights(6, 1, Dequantize(head, 6), [0f]), null, new RnnModelOptions(),
            WeightPrecision.Int8, new Int8Weights([ih], [hh], null, null, head));
        int steps = 200;
        float[] probe = Rnn.Fast.Cli.PrecisionError.Probe(model.InputSize, steps);
        Rnn.Fast.Cli.PrecisionErrorStats stats = Rnn.Fast.Cli.PrecisionError.Measure(model, WeightPrecision.Int8, probe, steps);
        // Small enough to run as float32 on its dequantized values: the same weights as its float32 twin.
        Assert.True(stats.MaxAbs < 1e-6, $"int8 of an int8 model: {stats.MaxAbs}");
    }
}

/// <summary>The public schemes check their arguments the same way whatever the precision.</summary>
public sealed class WeightQuantizationArgumentTests
{
    [Theory]
    [InlineData(WeightPrecision.Float32)]
    [InlineData(WeightPrecision.BFloat16)]
    [InlineData(WeightPrecision.Int8)]
    public void Dequantized_WrongShape_ThrowsNamingWeights(WeightPrecision precision)
    {
        var e = Assert.Throws<ArgumentException>(() => WeightQuantization.Dequantized(new float[5], 2, 3, precision));
        Assert.Equal("weights", e.ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => WeightQuantization.Dequantized([], -1, 0, precision));
        Assert.Equal(2, WeightQuantization.Dequantized([1f, 2f], 1, 2, precision).Length);
    }
}
