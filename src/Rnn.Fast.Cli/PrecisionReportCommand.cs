using System.CommandLine;
using System.Globalization;
using System.Text;
using Rnn.Fast.IO;

namespace Rnn.Fast.Cli;

/// <summary>
/// <c>rnnfast precision-report [--model FILE...]</c> (hidden): the markdown error table of docs/precision.md — bf16 and
/// int8 against float32 (<see cref="PrecisionError"/>) on seeded random LSTM, GRU and Elman models at H = 16, 64, 256
/// (I = H, PyTorch's init ±1/√H, uniform inputs) and amp-shaped LSTMs (I = 1, 1-output head, the audio probe), then on
/// each model file given. Seeded throughout: the numbers change only with the kernel that runs them (summation order).
/// </summary>
internal static class PrecisionReportCommand
{
    /// <summary>Seed of the random models' weights (the probe has its own, <see cref="PrecisionError.ProbeSeed"/>).</summary>
    public const int ModelSeed = 15;

    public static Command Create()
    {
        var models = new Option<FileInfo[]>("--model")
        {
            Description = "Model files to add to the table (.safetensors, .nam, .json, .onnx).",
            AllowMultipleArgumentsPerToken = true,
            HelpName = "FILE",
        };
        var kernel = new Option<string?>("--kernel") { Description = "Kernel to run on instead of the default.", HelpName = "NAME" };
        var command = new Command("precision-report", "Print docs/precision.md's table: the error of bf16 and int8 weights against float32 on random and given models.")
        {
            models,
            kernel,
        };
        command.Hidden = true;
        command.SetAction(parse => Execute([.. (parse.GetValue(models) ?? []).Select(f => f.FullName)], parse.GetValue(kernel)));
        return command;
    }

    /// <summary>Writes the table to stdout; 0, 1 for a model file that cannot be loaded, 2 for a bad kernel.</summary>
    public static int Execute(IReadOnlyList<string> modelPaths, string? kernel = null)
    {
        ArgumentNullException.ThrowIfNull(modelPaths);
        try
        {
            if (kernel is not null && !RnnKernels.Available.Contains(kernel, StringComparer.OrdinalIgnoreCase))
            {
                throw new UsageException($"--kernel {kernel}: not available here; available: {string.Join(", ", RnnKernels.Available)}.");
            }
            var rows = new List<(string Name, RnnModel Model)>();
            foreach (CellType cell in (CellType[])[CellType.Lstm, CellType.Gru, CellType.Elman])
            {
                foreach (int hidden in (int[])[16, 64, 256])
                {
                    var random = new Random(ModelSeed);
                    RnnModel model = RnnModel.Create([LayerWeights.Random(cell, hidden, hidden, random)], kernel: kernel);
                    rows.Add(($"random {Name(cell)} I={hidden} H={hidden}", model));
                }
            }
            foreach (int hidden in (int[])[16, 32])
            {
                var random = new Random(ModelSeed);
                RnnModel model = RnnModel.Create([LayerWeights.Random(CellType.Lstm, 1, hidden, random)], HeadWeights.Random(hidden, 1, random), kernel);
                rows.Add(($"random LSTM I=1 H={hidden} O=1 (amp shape)", model));
            }
            foreach (string path in modelPaths)
            {
                RnnModel model = RunCommand.LoadModel(path, RunCommand.LoadOptions(path, kernel, null), out _);
                rows.Add(($"`{Path.GetFileName(path)}` ({Shape(model)})", model));
            }

            var md = new StringBuilder();
            md.Append(CultureInfo.InvariantCulture,
                $"Kernel{(kernel is null ? "s (the defaults here)" : "")}: {string.Join(", ", rows.Select(r => r.Model.Kernel).Distinct())}; probe seed {PrecisionError.ProbeSeed}, model seed {ModelSeed}; relative error floor {PrecisionError.FloorOfRms} × RMS(y_fp32).\n\n");
            md.Append("| model | steps | precision | weight bytes (× fp32) | max abs | mean abs | max rel | mean rel |\n");
            md.Append("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |\n");
            foreach ((string name, RnnModel model) in rows)
            {
                int steps = PrecisionError.ProbeSteps(model);
                float[] probe = PrecisionError.Probe(model.InputSize, steps);
                foreach (WeightPrecision precision in PrecisionError.Reduced)
                {
                    PrecisionErrorStats s = PrecisionError.Measure(model, precision, probe, steps);
                    md.Append(CultureInfo.InvariantCulture,
                        $"| {name} | {steps} | {PrecisionOption.Name(precision)} | {s.WeightBytes:N0} ({(double)s.WeightBytes / s.Float32WeightBytes:0.00}) | " +
                        $"{PrecisionError.Format(s.MaxAbs)} | {PrecisionError.Format(s.MeanAbs)} | {PrecisionError.Format(s.MaxRel)} | {PrecisionError.Format(s.MeanRel)} |\n");
                }
            }
            Terminal.Out.Profile.Out.Writer.Write(md.ToString());
            return ExitCodes.Success;
        }
        catch (Exception e) when (e is UsageException || Messages.IsRuntimeError(e))
        {
            return Messages.Report(e);
        }
    }

    private static string Name(CellType cell) => cell == CellType.Elman ? "Elman" : cell.ToString().ToUpperInvariant();

    private static string Shape(RnnModel model)
    {
        LayerWeights first = model.Layers[0];
        string layers = model.Layers.Count > 1 ? $"{model.Layers.Count}×" : "";
        string direction = model.IsBidirectional ? " bidirectional" : "";
        string head = model.Head is { } h ? $" O={h.OutputSize}" : "";
        return $"{layers}{Name(first.Cell)}{direction} I={first.InputSize} H={first.HiddenSize}{head}";
    }
}
