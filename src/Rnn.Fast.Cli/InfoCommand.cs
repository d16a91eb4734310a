using System.CommandLine;
using Rnn.Fast.IO;
using Spectre.Console;

namespace Rnn.Fast.Cli;

/// <summary><c>rnnfast info</c>: what a model file holds and how it would run here.</summary>
internal static class InfoCommand
{
    public static Command Create()
    {
        var model = new Option<FileInfo>("--model") { Description = "Model file: .safetensors, .nam, .json or .onnx.", Required = true, HelpName = "FILE" };
        var kernel = new Option<string?>("--kernel") { Description = "Kernel to report instead of the default.", HelpName = "NAME" };
        Option<string?> nonlinearity = RunCommand.NonlinearityOption();
        Option<string?> precision = PrecisionOption.Create(
            "Report the model's weights in this precision: their bytes and, for bf16 and int8, " +
            "the error against float32 on a seeded probe input. Default: both bf16 and int8.");
        var command = new Command("info", "Show a model file's architecture, sizes, parameter count, the kernel that would run it, and what bf16/int8 weights would cost in accuracy.")
        {
            model, kernel, nonlinearity, precision,
        };
        command.SetAction(parse => Execute(parse.GetValue(model)!.FullName, parse.GetValue(kernel), parse.GetValue(nonlinearity), parse.GetValue(precision)));
        return command;
    }

    /// <summary>Runs the command: 0, 1 for a file that cannot be loaded, 2 for a bad argument (reported on stderr).</summary>
    public static int Execute(string modelPath, string? kernel = null, string? nonlinearity = null, string? precision = null)
    {
        RnnModel model;
        ModelFileDetails details;
        WeightPrecision? chosen;
        IReadOnlyList<PrecisionErrorStats> errors;
        int probeSteps;
        try
        {
            chosen = PrecisionOption.Parse(precision);
            model = RunCommand.LoadModel(modelPath, RunCommand.LoadOptions(modelPath, kernel, nonlinearity), out details);
            probeSteps = PrecisionError.ProbeSteps(model);
            float[] probe = PrecisionError.Probe(model.InputSize, probeSteps);
            IEnumerable<WeightPrecision> measured = chosen is { } c ? (c == WeightPrecision.Float32 ? [] : [c]) : PrecisionError.Reduced;
            errors = [.. measured.Select(p => PrecisionError.Measure(model, p, probe, probeSteps))];
        }
        catch (Exception e) when (e is UsageException || Messages.IsRuntimeError(e))
        {
            return Messages.Report(e);
        }
        IAnsiConsole console = Terminal.Out;
        console.MarkupLine($"[bold]{Markup.Escape(Path.GetFileName(modelPath))}[/] ({ModelFiles.FormatOf(modelPath)})");
        var table = new Table().AddColumn("Layer").AddColumn("Cell").AddColumn(new TableColumn("Inputs").RightAligned())
            .AddColumn(new TableColumn("Hidden").RightAligned()).AddColumn(new TableColumn("Bias")).AddColumn(new TableColumn("Parameters").RightAligned());
        // Counted as PyTorch counts them (a layer or head without bias has no bias parameters).
        long parameters = 0;
        void AddLayer(string label, LayerWeights layer)
        {
            string cell = layer.Cell == CellType.Elman
                ? $"Elman ({layer.Nonlinearity.ToString().ToLowerInvariant()}{(details.NonlinearityAssumed ? ", assumed" : "")})"
                : layer.Cell.ToString().ToUpperInvariant();
            string bias = (layer.HasBiasIh, layer.HasBiasHh) switch { (true, true) => "yes", (false, false) => "no", (true, false) => "ih only", _ => "hh only" };
            table.AddRow(label, cell, $"{layer.InputSize}", $"{layer.HiddenSize}", bias, $"{layer.ParameterCount:N0}");
            parameters += layer.ParameterCount;
        }
        for (int l = 0; l < model.Layers.Count; l++)
        {
            AddLayer($"{l}", model.Layers[l]);
            if (model.Options.ReverseLayers?[l] is { } reverse)
            {
                AddLayer($"{l} reverse", reverse);
            }
        }
        if (model.Head is { } head)
        {
            table.AddRow("head", $"Linear ({head.Activation.ToString().ToLowerInvariant()})", $"{head.InputSize}", $"{head.OutputSize} out",
                head.HasBias ? "yes" : "no", $"{head.ParameterCount:N0}");
            parameters += head.ParameterCount;
        }
        console.Write(table);
        if (details.NonlinearityAssumed)
        {
            console.MarkupLine("Nonlinearity: tanh [bold](assumed)[/]: the file does not say; use --nonlinearity to choose.");
        }
        if (model.Options.Skip > 0)
        {
            console.MarkupLine($"Residual: the first {model.Options.Skip} input channel(s) are added to the output.");
        }
        if (model.Options.InitialHidden is not null || model.Options.InitialCell is not null)
        {
            console.MarkupLine("Initial state: from the file (not zero).");
        }
        if (model.IsBidirectional)
        {
            console.MarkupLine("Bidirectional: runs whole sequences only.");
        }
        if (details.SampleRate is { } rate)
        {
            console.MarkupLine($"Sample rate: {rate:0.###} Hz (trained at; a WAV input must match).");
        }
        console.MarkupLine($"Input size {model.InputSize}, output size {model.OutputSize}, [bold]{parameters:N0}[/] parameters.");
        console.MarkupLine($"Kernel: [bold]{Markup.Escape(model.Kernel)}[/] (available here: {Markup.Escape(string.Join(", ", RnnKernels.Available))}).");
        WritePrecision(console, model, chosen, errors, probeSteps);
        if (RnnKernels.BelowHardwareNote is { } note)
        {
            console.MarkupLine($"[yellow]Below the hardware:[/] {Markup.Escape(note)}");
        }
        return ExitCodes.Success;
    }

    /// <summary>The weights' precision and, for bf16/int8, their bytes and error against float32 on the probe.</summary>
    private static void WritePrecision(IAnsiConsole console, RnnModel model, WeightPrecision? chosen, IReadOnlyList<PrecisionErrorStats> errors, int probeSteps)
    {
        if (errors.Count == 0)
        {
            WeightPrecision shown = chosen ?? model.Precision;
            console.MarkupLine($"Weights: [bold]{PrecisionOption.Name(shown)}[/], {PrecisionError.WeightBytes(model, shown):N0} bytes of weight matrices.");
            return;
        }
        console.WriteLine();
        string probe = model.InputSize == 1
            ? "a plucked 220 Hz note at 48 kHz with noise"
            : $"uniform values in [-1, 1] on each of {model.InputSize} inputs";
        console.MarkupLine(chosen is { } c
            ? $"Weights in [bold]{PrecisionOption.Name(c)}[/] against fp32, on {probeSteps} steps of a seeded probe ({Markup.Escape(probe)}):"
            : $"Reduced-precision weights (--precision bf16|int8) against fp32, on {probeSteps} steps of a seeded probe ({Markup.Escape(probe)}):");
        console.Write(PrecisionError.ToTable(errors));
        console.MarkupLine(Markup.Escape(
            $"Weight bytes: the recurrent and head matrices (int8 adds a float32 scale per row; biases stay float32). " +
            $"Relative error: |y - y_fp32| / max(|y_fp32|, {PrecisionError.FloorOfRms:0.#} x RMS(y_fp32) = {PrecisionError.Format(errors[0].Floor)}), " +
            $"over {errors[0].Values:N0} output values."));
    }
}
