using System.CommandLine;
using Rnn.Fast.IO;
using Spectre.Console;

namespace Rnn.Fast.Cli;

/// <summary>
/// <c>rnnfast run</c>: a model file over a sequence file (.npy, .csv or .wav), written as .npy, .csv or .wav.
/// </summary>
internal static class RunCommand
{
    // Steps per call to RnnModel.Run: the state carries over between calls, and the progress bar moves per chunk.
    internal const int ChunkSteps = 4096;

    // Below this many steps the run takes a blink and a progress bar would only flicker.
    private const int ProgressThreshold = 16 * ChunkSteps;

    public static Command Create()
    {
        var model = new Option<FileInfo>("--model") { Description = "Model file: .safetensors, .nam, .json or .onnx.", Required = true, HelpName = "FILE" };
        var input = new Option<FileInfo>("--input") { Description = "Input sequence: .npy ([T], [T, I] or [T, B, I]), .csv (a row per step) or .wav.", Required = true, HelpName = "FILE" };
        var output = new Option<FileInfo>("--output") { Description = "Output sequence: .npy (float32), .csv or .wav.", Required = true, HelpName = "FILE" };
        var outputFormat = new Option<string>("--output-format")
        {
            Description = "WAV sample format of the output: same (as the input WAV; float32 otherwise), float, pcm16, pcm24 or pcm32.",
            DefaultValueFactory = _ => "same",
        };
        outputFormat.AcceptOnlyFromAmong("same", "float", "pcm16", "pcm24", "pcm32");
        var sampleRate = new Option<int>("--sample-rate")
        {
            Description = "Sample rate of a WAV output when the input is not WAV.",
            DefaultValueFactory = _ => 48000,
        };
        var kernel = new Option<string?>("--kernel") { Description = "Kernel to run on instead of the default.", HelpName = "NAME" };
        var command = new Command("run", "Run a model over a sequence file and write its outputs.")
        {
            model, input, output, outputFormat, sampleRate, kernel,
        };
        command.SetAction(parse => Execute(parse.GetValue(model)!.FullName, parse.GetValue(input)!.FullName, parse.GetValue(output)!.FullName,
            parse.GetValue(outputFormat)!, parse.GetValue(sampleRate), parse.GetValue(kernel)));
        return command;
    }

    /// <summary>Runs the command; returns 0 on success, 1 on any error (reported, with no output file left behind).</summary>
    public static int Execute(string modelPath, string inputPath, string outputPath, string outputFormat = "same", int sampleRate = 48000, string? kernel = null)
    {
        try
        {
            SignalFile.CheckWritable(outputPath);
            RnnModel model = ModelFiles.Load(modelPath, new ModelLoadOptions { Kernel = kernel });
            Signal input = SignalFile.Read(inputPath);
            if (input.Channels != model.InputSize)
            {
                throw new SignalFormatException(
                    $"{Path.GetFileName(inputPath)} has {input.Channels} channel(s) per step but the model takes {model.InputSize}.");
            }
            float[] outputs = Process(model, input);
            var signal = new Signal(outputs, input.Steps, input.Batch, model.OutputSize, input.Wav) { Rank = input.Rank == 1 && model.OutputSize == 1 ? 1 : input.Rank };
            WavFormat wav = OutputWav(outputFormat, input.Wav, sampleRate);
            SignalFile.Write(outputPath, signal, wav);
            AnsiConsole.MarkupLine(
                $"Wrote [bold]{Markup.Escape(Path.GetFileName(outputPath))}[/]: {input.Steps} steps × {input.Batch} stream(s) × {model.OutputSize} output(s)" +
                (Path.GetExtension(outputPath).Equals(".wav", StringComparison.OrdinalIgnoreCase) ? $", {wav}" : "") + $" [grey](kernel {model.Kernel})[/].");
            return 0;
        }
        catch (Exception e) when (e is ModelFormatException or SignalFormatException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            AnsiConsole.MarkupLine($"[red]Error:[/] {Markup.Escape(e.Message)}");
            return 1;
        }
    }

    /// <summary>The model over the whole input, in chunks of <see cref="ChunkSteps"/> steps (the state carries over).</summary>
    internal static float[] Process(RnnModel model, Signal input)
    {
        var outputs = new float[(long)input.Steps * input.Batch * model.OutputSize];
        RnnState state = model.CreateState(input.Batch);
        int inStride = input.Batch * model.InputSize;
        int outStride = input.Batch * model.OutputSize;
        void RunChunks(Action<int>? advance)
        {
            // A bidirectional model's reverse direction starts from the end, so it must see the whole sequence at once.
            int chunk = model.IsBidirectional ? Math.Max(input.Steps, 1) : ChunkSteps;
            for (int t0 = 0; t0 < input.Steps; t0 += chunk)
            {
                int steps = Math.Min(chunk, input.Steps - t0);
                model.Run(input.Data.AsSpan(t0 * inStride, steps * inStride), steps, state, outputs.AsSpan(t0 * outStride, steps * outStride));
                advance?.Invoke(steps);
            }
        }
        if (input.Steps < ProgressThreshold || model.IsBidirectional)
        {
            RunChunks(null);
        }
        else
        {
            AnsiConsole.Progress().Start(context =>
            {
                ProgressTask task = context.AddTask("Running", maxValue: input.Steps);
                RunChunks(steps => task.Increment(steps));
            });
        }
        return outputs;
    }

    private static WavFormat OutputWav(string outputFormat, WavFormat? input, int sampleRate)
    {
        int rate = input?.SampleRate ?? sampleRate;
        return outputFormat switch
        {
            "float" => WavFormat.Float32(rate),
            "pcm16" => new WavFormat(rate, 16, false),
            "pcm24" => new WavFormat(rate, 24, false),
            "pcm32" => new WavFormat(rate, 32, false),
            _ => input ?? WavFormat.Float32(rate),
        };
    }
}
