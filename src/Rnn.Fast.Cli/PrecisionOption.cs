using System.CommandLine;
using System.CommandLine.Parsing;

namespace Rnn.Fast.Cli;

/// <summary>
/// <c>--precision fp32|bf16|int8</c> of <c>run</c>, <c>info</c> and <c>bench</c>: the model is loaded (or built) in
/// float32, then <see cref="RnnModel.WithPrecision(WeightPrecision)"/> stores its weight matrices in the chosen precision. The long
/// names float32 and bfloat16 are accepted too, in any case.
/// </summary>
internal static class PrecisionOption
{
    /// <summary>The accepted values, for help and errors.</summary>
    public const string Accepted = "fp32, bf16 or int8 (also float32, bfloat16)";

    /// <summary>The option; a value outside <see cref="Accepted"/> is a parse error (exit code 2) naming the option.</summary>
    public static Option<string?> Create(string description)
    {
        var option = new Option<string?>("--precision") { Description = description, HelpName = "fp32|bf16|int8" };
        option.Validators.Add(Validate);
        return option;
    }

    /// <summary>As <see cref="Create"/>, taking one or more values (<c>bench --precision fp32 bf16 int8</c>).</summary>
    public static Option<string[]> CreateMany(string description)
    {
        var option = new Option<string[]>("--precision")
        {
            Description = description,
            HelpName = "fp32|bf16|int8",
            AllowMultipleArgumentsPerToken = true,
            DefaultValueFactory = _ => ["fp32"],
        };
        option.Validators.Add(Validate);
        return option;
    }

    /// <summary>fp32/float32, bf16/bfloat16 or int8, in any case.</summary>
    public static bool TryParse(string? text, out WeightPrecision precision)
    {
        switch (text?.Trim().ToUpperInvariant())
        {
            case "FP32" or "FLOAT32":
                precision = WeightPrecision.Float32;
                return true;
            case "BF16" or "BFLOAT16":
                precision = WeightPrecision.BFloat16;
                return true;
            case "INT8":
                precision = WeightPrecision.Int8;
                return true;
            default:
                precision = default;
                return false;
        }
    }

    /// <summary>The precision named by <paramref name="text"/>, null for null; anything else is a <see cref="UsageException"/>.</summary>
    public static WeightPrecision? Parse(string? text) =>
        text is null ? null : TryParse(text, out WeightPrecision precision) ? precision : throw new UsageException(Problem(text));

    /// <summary>The short name the option takes and the tables print: fp32, bf16, int8.</summary>
    public static string Name(WeightPrecision precision) => precision switch
    {
        WeightPrecision.Float32 => "fp32",
        WeightPrecision.BFloat16 => "bf16",
        WeightPrecision.Int8 => "int8",
        _ => precision.ToString(),
    };

    /// <summary><paramref name="model"/> in <paramref name="precision"/>; itself for null or its own precision.</summary>
    public static RnnModel Apply(RnnModel model, WeightPrecision? precision) => precision is { } p ? model.WithPrecision(p) : model;

    /// <summary>The message for a value that names no precision.</summary>
    public static string Problem(string value) => $"--precision {value}: unknown precision; use {Accepted}.";

    private static void Validate(OptionResult result)
    {
        foreach (Token token in result.Tokens)
        {
            if (!TryParse(token.Value, out _))
            {
                result.AddError(Problem(token.Value));
            }
        }
    }
}
