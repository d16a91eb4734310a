namespace Rnn.Fast.Tests.Precision;

/// <summary>The public side of reduced precision: the schemes, <see cref="RnnModel.WithPrecision(WeightPrecision)"/>, errors and allocation.</summary>
public sealed class PrecisionApiTests
{
    [Theory]
    [InlineData(1f, (ushort)0x3F80)]
    [InlineData(-2f, (ushort)0xC000)]
    [InlineData(0f, (ushort)0x0000)]
    [InlineData(-0f, (ushort)0x8000)]
    [InlineData(float.PositiveInfinity, (ushort)0x7F80)]
    [InlineData(float.NegativeInfinity, (ushort)0xFF80)]
    public void ToBFloat16_ExactValues_KeepTheirBits(float value, ushort bits) =>
        Assert.Equal(bits, WeightQuantization.ToBFloat16(value));

    [Fact]
    public void ToBFloat16_Ties_RoundToEven()
    {
        // 0x3F80_8000 is exactly halfway between 0x3F80 (even) and 0x3F81: stays; 0x3F81_8000 goes up to 0x3F82.
        Assert.Equal((ushort)0x3F80, WeightQuantization.ToBFloat16(BitConverter.UInt32BitsToSingle(0x3F80_8000)));
        Assert.Equal((ushort)0x3F82, WeightQuantization.ToBFloat16(BitConverter.UInt32BitsToSingle(0x3F81_8000)));
        Assert.Equal((ushort)0x3F81, WeightQuantization.ToBFloat16(BitConverter.UInt32BitsToSingle(0x3F80_8001)));
        Assert.Equal((ushort)0x3F80, WeightQuantization.ToBFloat16(BitConverter.UInt32BitsToSingle(0x3F80_7FFF)));
        // The largest float rounds to infinity, as in PyTorch.
        Assert.Equal((ushort)0x7F80, WeightQuantization.ToBFloat16(float.MaxValue));
    }

    [Fact]
    public void ToBFloat16_NaN_StaysNaN()
    {
        Assert.True(float.IsNaN(WeightQuantization.FromBFloat16(WeightQuantization.ToBFloat16(float.NaN))));
        // A NaN whose payload sits only in the low bits must not become infinity.
        float lowPayload = BitConverter.UInt32BitsToSingle(0x7F80_0001);
        Assert.True(float.IsNaN(WeightQuantization.FromBFloat16(WeightQuantization.ToBFloat16(lowPayload))));
    }

    [Fact]
    public void QuantizeInt8_RowScalesAndTiesToEven()
    {
        // Row 0: max 1.27 → scale 0.01; 0.005 / 0.01 = 0.5 → 0 (even), 0.015 / 0.01 = 1.5 → 2. Row 1: zeros. Row 2: -254 → -127.
        float[] w = [1.27f, 0.005f, 0.015f, -1.27f, 0f, 0f, 0f, 0f, -254f, 127f, 1f, 0.5f];
        var q = new sbyte[12];
        var scales = new float[3];
        WeightQuantization.QuantizeInt8(w, 3, 4, q, scales);
        Assert.Equal(1.27f / 127f, scales[0]);
        Assert.Equal(0f, scales[1]);
        Assert.Equal(2f, scales[2]);
        Assert.Equal(new sbyte[] { 127, (sbyte)MathF.Round(0.005f / (1.27f / 127f), MidpointRounding.ToEven), (sbyte)MathF.Round(0.015f / (1.27f / 127f), MidpointRounding.ToEven), -127 }, q[..4]);
        Assert.Equal(new sbyte[] { 0, 0, 0, 0 }, q[4..8]);
        Assert.Equal(new sbyte[] { -127, 64, 0, 0 }, q[8..]); // 127/2 = 63.5 → 64; 1/2 = 0.5 → 0; 0.25 → 0
    }

    [Fact]
    public void QuantizeInt8_NonFiniteWeight_ThrowsNamingTheWeight()
    {
        var e = Assert.Throws<ArgumentException>(() =>
            WeightQuantization.QuantizeInt8([1f, float.NaN], 1, 2, new sbyte[2], new float[1]));
        Assert.Contains("[0, 1]", e.Message);
        Assert.Throws<ArgumentException>(() => WeightQuantization.QuantizeInt8([1f, 2f], 1, 2, new sbyte[1], new float[1]));
    }

    [Theory]
    [InlineData(WeightPrecision.BFloat16)]
    [InlineData(WeightPrecision.Int8)]
    public void WithPrecision_LayersHoldTheDequantizedValues(WeightPrecision precision)
    {
        RnnModel fp32 = Models.Lstm(5, 37, 3, seed: 4);
        RnnModel reduced = fp32.WithPrecision(precision);
        Assert.Equal(precision, reduced.Precision);
        Assert.Equal(WeightPrecision.Float32, fp32.Precision);
        LayerWeights source = fp32.Layers[0], layer = reduced.Layers[0];
        Assert.Equal(WeightQuantization.Dequantized(source.WeightHh, source.WeightHh.Length / 37, 37, precision), layer.WeightHh.ToArray());
        Assert.Equal(source.BiasIh.ToArray(), layer.BiasIh.ToArray()); // biases stay float32
        Assert.Equal(WeightQuantization.Dequantized(fp32.Head!.Weight, 3, 37, precision), reduced.Head!.Weight.ToArray());
        Assert.Same(reduced, reduced.WithPrecision(precision));
    }

    [Fact]
    public void WithKernel_Int8Model_KeepsItsExactValues()
    {
        RnnModel int8 = Models.Lstm(3, 29, 2, seed: 9).WithPrecision(WeightPrecision.Int8);
        foreach (string kernel in RnnKernels.Available)
        {
            RnnModel other = int8.WithKernel(kernel);
            Assert.Equal(WeightPrecision.Int8, other.Precision);
            Assert.Equal(int8.Layers[0].WeightIh.ToArray(), other.Layers[0].WeightIh.ToArray());
            Assert.Equal(int8.Layers[0].WeightHh.ToArray(), other.Layers[0].WeightHh.ToArray());
            Assert.Equal(int8.Head!.Weight.ToArray(), other.Head!.Weight.ToArray());
        }
    }

    [Fact]
    public void WithPrecision_Float32OfInt8_IsTheDequantizedModel()
    {
        RnnModel int8 = Models.Gru(2, 20, 1, seed: 3).WithPrecision(WeightPrecision.Int8);
        RnnModel back = int8.WithPrecision(WeightPrecision.Float32);
        Assert.Equal(WeightPrecision.Float32, back.Precision);
        Assert.Equal(int8.Layers[0].WeightIh.ToArray(), back.Layers[0].WeightIh.ToArray());
    }

    [Fact]
    public void WithPrecision_Undefined_Throws() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => Models.Lstm(1, 4, 1, seed: 1).WithPrecision((WeightPrecision)7));

    [Fact]
    public void WithPrecision_BFloat16OverflowingWeight_ThrowsNamingIt()
    {
        RnnModel model = Models.Lstm(1, 4, 1, seed: 1);
        LayerWeights l = model.Layers[0];
        float[] whh = l.WeightHh.ToArray();
        whh[5] = float.MaxValue;
        RnnModel big = RnnModel.Create([LayerWeights.Lstm(1, 4, l.WeightIh.ToArray(), whh, l.BiasIh.ToArray(), l.BiasHh.ToArray())]);
        var e = Assert.Throws<ArgumentException>(() => big.WithPrecision(WeightPrecision.BFloat16));
        Assert.Contains("overflows bfloat16", e.Message);
        Assert.Contains("int8 scale", Assert.Throws<ArgumentException>(() => big.WithPrecision(WeightPrecision.Int8)).Message);
    }

    [Theory]
    [InlineData(CellType.Lstm)]
    [InlineData(CellType.Gru)]
    [InlineData(CellType.Elman)]
    public void Int8_NonFiniteInput_GivesNaNNotAWrongNumber(CellType cell)
    {
        RnnModel model = Models.Of(cell, 3, 24, 2, seed: 5).WithPrecision(WeightPrecision.Int8, ReducedProducts.Always);
        RnnState state = model.CreateState();
        var y = new float[2];
        model.Step([1f, float.NaN, 0f], state, y);
        Assert.All(y, v => Assert.True(float.IsNaN(v), $"{cell}: {v}"));
        state.Reset();
        model.Step([1f, float.PositiveInfinity, 0f], state, y);
        Assert.All(y, v => Assert.False(float.IsFinite(v), $"{cell}: {v}"));
    }

    [Theory]
    [InlineData(WeightPrecision.BFloat16, CellType.Lstm)]
    [InlineData(WeightPrecision.Int8, CellType.Lstm)]
    [InlineData(WeightPrecision.BFloat16, CellType.Gru)]
    [InlineData(WeightPrecision.Int8, CellType.Gru)]
    [InlineData(WeightPrecision.Int8, CellType.Elman)]
    public void StepAndRun_ReducedModels_AllocateNothingFromTheFirstCallOnAFreshThread(WeightPrecision precision, CellType cell)
    {
        RnnModel model = Models.Of(cell, 4, 70, 3, seed: 2).WithPrecision(precision, ReducedProducts.Always);
        long stepBytes = -1, runBytes = -1, warmStep = -1;
        var thread = new Thread(() =>
        {
            RnnState state = model.CreateState(2);
            float[] x = new float[2 * 4 * 10], y = new float[2 * 3 * 10];
            long before = GC.GetAllocatedBytesForCurrentThread();
            model.Step(x.AsSpan(0, 8), state, y.AsSpan(0, 6));
            stepBytes = GC.GetAllocatedBytesForCurrentThread() - before;
            before = GC.GetAllocatedBytesForCurrentThread();
            model.Run(x, 10, state, y);
            runBytes = GC.GetAllocatedBytesForCurrentThread() - before;
            warmStep = AllocationMeter.MinBytesPerWindow(() => model.Step(x.AsSpan(0, 8), state, y.AsSpan(0, 6)), 100);
        });
        thread.Start();
        thread.Join();
        Assert.Equal(0, stepBytes);
        Assert.Equal(0, runBytes);
        Assert.Equal(0, warmStep);
    }
}

/// <summary>Which matrices run through the reduced products: only those too big for L1 as float32 (ReducedExecution).</summary>
public sealed class ReducedExecutionTests
{
    [Theory]
    [InlineData(WeightPrecision.BFloat16)]
    [InlineData(WeightPrecision.Int8)]
    public void SmallLayers_RunAsFloat32OnTheDequantizedValues(WeightPrecision precision)
    {
        // 1×16 audio LSTM: 4.4 KB of float32 weights, far under the threshold: the float32 latency kernels run it.
        RnnModel model = Models.Lstm(1, 16, 1, seed: 8).WithPrecision(precision);
        Assert.False(model.Network.UsesReducedProducts);
        Assert.Equal(precision, model.Precision);
        RnnModel dequantized = RnnModel.Create(model.Layers, model.Head, model.Kernel);
        float[] x = [.. Enumerable.Range(0, 50).Select(i => MathF.Sin(i * 0.3f))];
        float[] a = new float[50], b = new float[50];
        model.Run(x, 50, model.CreateState(), a);
        dequantized.Run(x, 50, dequantized.CreateState(), b);
        Assert.Equal(b, a); // the same kernels on the same values
    }

    [Fact]
    public void LargeLayers_UseTheReducedProducts_AndTheHeadDecidesOnItsOwn()
    {
        RnnModel model = Models.Lstm(128, 128, 2, seed: 8).WithPrecision(WeightPrecision.Int8);
        Assert.True(model.Network.UsesReducedProducts);
        Assert.True(model.Network.Layers[0].UsesReducedProducts);
        Assert.False(model.Network.Head!.UsesReducedProducts); // 2×128 floats: float32
        Assert.True(Models.Lstm(128, 128, 2, seed: 8).WithPrecision(WeightPrecision.Int8, ReducedProducts.Always).Network.Head!.UsesReducedProducts);
    }

    [Fact]
    public void Never_RunsEverythingAsFloat32_AndUndefinedIsRejected()
    {
        RnnModel big = Models.Lstm(128, 128, 2, seed: 8);
        Assert.False(big.WithPrecision(WeightPrecision.Int8, ReducedProducts.Never).Network.UsesReducedProducts);
        Assert.Throws<ArgumentOutOfRangeException>(() => big.WithPrecision(WeightPrecision.Int8, (ReducedProducts)9));
    }

    [Fact]
    public void WithKernel_KeepsForcedProducts()
    {
        RnnModel forced = Models.Lstm(1, 16, 1, seed: 8).WithPrecision(WeightPrecision.Int8, ReducedProducts.Always);
        foreach (string kernel in RnnKernels.Available)
        {
            Assert.True(forced.WithKernel(kernel).Network.UsesReducedProducts);
        }
    }
}

/// <summary>Small seeded models for the precision tests (weights uniform ±1/√H, a linear head).</summary>
internal static class Models
{
    public static RnnModel Lstm(int input, int hidden, int output, int seed) => Of(CellType.Lstm, input, hidden, output, seed);
    public static RnnModel Gru(int input, int hidden, int output, int seed) => Of(CellType.Gru, input, hidden, output, seed);

    public static RnnModel Of(CellType cell, int input, int hidden, int output, int seed)
    {
        var c = new NetworkCase(cell, Activation.Tanh, input, hidden, 1, output, Activation.Identity, 1, 1, 1f, seed);
        return c.Build(RnnKernels.Available[0]);
    }
}
