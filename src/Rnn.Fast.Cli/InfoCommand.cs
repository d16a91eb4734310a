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
        var command = new Command("info", "Show a model file's architecture, sizes, parameter count and the kernel that would run it.") { model, kernel };
        command.SetAction(parse => Execute(parse.GetValue(model)!.FullName, parse.GetValue(kernel)));
        return command;
    }

    public static int Execute(string modelPath, string? kernel = null)
    {
        RnnModel model;
        try
        {
            model = ModelFiles.Load(modelPath, new ModelLoadOptions { Kernel = kernel });
        }
        catch (Exception e) when (e is ModelFormatException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            AnsiConsole.MarkupLine($"[red]Error:[/] {Markup.Escape(e.Message)}");
            return 1;
        }
        AnsiConsole.MarkupLine($"[bold]{Markup.Escape(Path.GetFileName(modelPath))}[/] ({ModelFiles.FormatOf(modelPath)})");
        var table = new Table().AddColumn("Layer").AddColumn("Cell").AddColumn(new TableColumn("Inputs").RightAligned())
            .AddColumn(new TableColumn("Hidden").RightAligned()).AddColumn(new TableColumn("Parameters").RightAligned());
        for (int l = 0; l < model.Layers.Count; l++)
        {
            LayerWeights layer = model.Layers[l];
            string cell = layer.Cell == CellType.Elman ? $"Elman ({layer.Nonlinearity.ToString().ToLowerInvariant()})" : layer.Cell.ToString().ToUpperInvariant();
            table.AddRow($"{l}", cell, $"{layer.InputSize}", $"{layer.HiddenSize}", $"{layer.ParameterCount:N0}");
            if (model.Options.ReverseLayers?[l] is { } reverse)
            {
                table.AddRow($"{l} reverse", cell, $"{reverse.InputSize}", $"{reverse.HiddenSize}", $"{reverse.ParameterCount:N0}");
            }
        }
        if (model.Head is { } head)
        {
            table.AddRow("head", $"Linear ({head.Activation.ToString().ToLowerInvariant()})", $"{head.InputSize}", $"{head.OutputSize} out",
                $"{(long)head.OutputSize * (head.InputSize + 1):N0}");
        }
        AnsiConsole.Write(table);
        if (model.Options.Skip > 0)
        {
            AnsiConsole.MarkupLine($"Residual: the first {model.Options.Skip} input channel(s) are added to the output.");
        }
        if (model.Options.InitialHidden is not null || model.Options.InitialCell is not null)
        {
            AnsiConsole.MarkupLine("Initial state: from the file (not zero).");
        }
        if (model.IsBidirectional)
        {
            AnsiConsole.MarkupLine("Bidirectional: runs whole sequences only.");
        }
        AnsiConsole.MarkupLine($"Input size {model.InputSize}, output size {model.OutputSize}, [bold]{model.ParameterCount:N0}[/] parameters.");
        AnsiConsole.MarkupLine($"Kernel: [bold]{Markup.Escape(model.Kernel)}[/] (available here: {Markup.Escape(string.Join(", ", RnnKernels.Available))}).");
        return 0;
    }
}
