using Rnn.Fast.Reference;

namespace Rnn.Fast.Tests.Precision;

/// <summary><c>rnnfast verify</c>'s checker on bf16 and int8 models: every kernel here passes, and it notices a wrong model.</summary>
[Trait("Category", "Kernel")]
public sealed class PrecisionVerifierTests
{
    [Theory]
    [InlineData(WeightPrecision.BFloat16)]
    [InlineData(WeightPrecision.Int8)]
    public void Verify_ReducedModels_EveryKernelPasses(WeightPrecision precision)
    {
        VerificationReport report = KernelVerifier.Verify(RnnKernels.Available, cases: 20, seed: 11, precision);
        Assert.True(report.Passed, string.Join("\n", report.Kernels.Select(k => $"{k.Kernel}: {k.Failures} failures, worst {k.Worst}")));
        Assert.All(report.Families, f => Assert.EndsWith(precision == WeightPrecision.Int8 ? "(int8)" : "(bf16)", f.Family));
    }

    // `rnnfast verify --precision int8 --seed 8` reported a correct kernel as failing (1.037 of the old allowance, an
    // Elman ReLU case): the int8 allowance must leave the kernels room on every seed a user may pick. The int8 products
    // are bit for bit the scalar definition on every kernel, so the default kernel stands for all of them here.
    [Fact]
    public void Verify_Int8_SeedThatOnceFailed_PassesWithRoom()
    {
        VerificationReport report = KernelVerifier.Verify([RnnKernels.Default], cases: 300, seed: 8, WeightPrecision.Int8);
        Assert.True(report.Passed, string.Join("\n", report.Kernels.Select(k => $"{k.Kernel}: {k.Failures} failures, worst {k.Worst}")));
        Assert.All(report.Kernels, k => Assert.True(k.MaxScaledError < 0.8, $"{k.Kernel}: {k.MaxScaledError:G3} of the tolerance used"));
    }

    [Fact]
    public void Check_Int8Tolerance_StillCatchesUnquantizedReference()
    {
        // The int8 model against the reference on the *original* float32 weights differs by the weight rounding
        // (~0.4 % of a row's largest weight per term), far above the int16 activation allowance: the check must fail.
        var testCase = new VerificationCase(24, [new LayerSpec(CellType.Lstm, Activation.Tanh, 48)], 3, Activation.Identity,
            Steps: 12, Batch: 1, Seed: 5, Precision: WeightPrecision.Int8);
        RnnModel fp32 = (testCase with { Precision = WeightPrecision.Float32 }).CreateModel();
        RnnModel int8 = testCase.CreateModel();
        var x = new float[12 * 24];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = MathF.Sin(i * 0.37f) * 2f;
        }
        float[] a = new float[12 * 3], b = new float[12 * 3];
        fp32.Run(x, 12, fp32.CreateState(), a);
        int8.Run(x, 12, int8.CreateState(), b);
        double worst = a.Zip(b, (p, q) => Math.Abs(p - q) / KernelVerifier.Tolerance(p, testCase)).Max();
        Assert.True(worst > 1.5, $"weight rounding hid under the int8 tolerance (scaled error {worst:G3})");
    }
}
