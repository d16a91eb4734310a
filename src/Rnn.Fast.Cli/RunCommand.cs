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

    // A cap on the recurrent state for all streams together (1 GiB of floats).
    private const long MaxStateValues = 1L << 28;

    public static Command Create()
    {
        var model = new Option<FileInfo>("--model") { Description = "Model file: .safetensors, .nam, .json or .onnx.", Required = true, HelpName = "FILE" };
        var input = new Option<FileInfo>("--input") { Description = "Input sequence: .npy ([T], [T, I] or [T, B, I]), .csv (a row per step) or .wav.", Required = true, HelpName = "FILE" };
        var output = new Option<FileInfo>("--output")
        {
            Description = "Output sequence: .npy (float32), .csv or .wav. Must not be the input; a symbolic link is written through.",
            Required = true,
            HelpName = "FILE",
        };
        var outputFormat = new Option<string>("--output-format")
        {
            Description = "WAV sample format of the output: same (as the input WAV; float32 otherwise), float, pcm16, pcm24 or pcm32.",
            DefaultValueFactory = _ => "same",
        };
        outputFormat.AcceptOnlyFromAmong("same", "float", "pcm16", "pcm24", "pcm32");
        var sampleRate = new Option<int?>("--sample-rate")
        {
            Description = $"Sample rate of a WAV output when the input is not WAV (1 to {WavFile.MaxSampleRate} Hz; default: the model's, else {DefaultSampleRate}).",
            HelpName = "HZ",
        };
        var ignoreSampleRate = new Option<bool>("--ignore-sample-rate")
        {
            Description = "Run a WAV input whose sample rate differs from the one the model was trained at (the output will not sound like the modelled device).",
        };
        var kernel = new Option<string?>("--kernel") { Description = "Kernel to run on instead of the default.", HelpName = "NAME" };
        Option<string?> nonlinearity = NonlinearityOption();
        var batchFirst = new Option<bool>("--batch-first")
        {
            Description = "A 3-d .npy input is [B, T, I] (PyTorch's batch_first=True) and the output is written [B, T, O]. Default: what the model file records (rnnfast.batch_first), else time-major.",
        };
        var timeMajor = new Option<bool>("--time-major") { Description = "A 3-d .npy input is [T, B, I], whatever the model file records." };
        Option<string?> precision = PrecisionOption.Create(
            "Run with the model's weight matrices in this precision; default: as the file stores them. " +
            "`rnnfast info --model FILE` shows what bf16 and int8 cost in accuracy.");
        var command = new Command("run", "Run a model over a sequence file and write its outputs.")
        {
            model, input, output, outputFormat, sampleRate, ignoreSampleRate, kernel, nonlinearity, batchFirst, timeMajor, precision,
        };
        command.Validators.Add(result =>
        {
            if (result.GetValue(batchFirst) && result.GetValue(timeMajor))
            {
                result.AddError("--batch-first and --time-major contradict each other.");
            }
        });
        command.SetAction(parse => Execute(parse.GetValue(model)!.FullName, parse.GetValue(input)!.FullName, parse.GetValue(output)!.FullName,
            parse.GetValue(outputFormat)!, parse.GetValue(sampleRate), parse.GetValue(kernel), parse.GetValue(nonlinearity), parse.GetValue(ignoreSampleRate),
            parse.GetValue(batchFirst) ? true : parse.GetValue(timeMajor) ? false : null, parse.GetValue(precision)));
        return command;
    }

    /// <summary>The WAV output rate when neither the input, the option nor the model gives one.</summary>
    internal const int DefaultSampleRate = 48000;

    /// <summary><c>--nonlinearity</c>, shared with <c>info</c>: what a PyTorch state_dict cannot say.</summary>
    internal static Option<string?> NonlinearityOption()
    {
        var option = new Option<string?>("--nonlinearity")
        {
            Description = "Nonlinearity of the model's Elman (nn.RNN) layers: tanh, relu, sigmoid or identity. A PyTorch state_dict does not record it; " +
                "without this option (or rnnfast.nonlinearity metadata) tanh, PyTorch's default, is assumed and a warning printed.",
            HelpName = "NAME",
        };
        option.AcceptOnlyFromAmong("tanh", "relu", "sigmoid", "identity");
        return option;
    }

    /// <summary>Model load options from the command line's values; a bad value is a usage error.</summary>
    internal static ModelLoadOptions LoadOptions(string modelPath, string? kernel, string? nonlinearity)
    {
        try
        {
            ModelFiles.FormatOf(modelPath);
        }
        catch (ArgumentException)
        {
            throw new UsageException($"--model {modelPath}: unknown model file type; use .safetensors, .nam, .json or .onnx.");
        }
        if (kernel is not null && !RnnKernels.Available.Contains(kernel, StringComparer.OrdinalIgnoreCase))
        {
            throw new UsageException(RnnKernels.All.Contains(kernel, StringComparer.OrdinalIgnoreCase)
                ? $"--kernel {kernel}: not supported on this machine; available here: {string.Join(", ", RnnKernels.Available)}."
                : $"--kernel {kernel}: unknown kernel; available here: {string.Join(", ", RnnKernels.Available)}.");
        }
        Activation? f = nonlinearity?.ToUpperInvariant() switch
        {
            null => null,
            "TANH" => Activation.Tanh,
            "RELU" => Activation.Relu,
            "SIGMOID" => Activation.Sigmoid,
            "IDENTITY" => Activation.Identity,
            _ => throw new UsageException($"--nonlinearity {nonlinearity}: use tanh, relu, sigmoid or identity."),
        };
        return new ModelLoadOptions { Kernel = kernel, Nonlinearity = f };
    }

    /// <summary>Loads the model and says on stderr what had to be assumed.</summary>
    internal static RnnModel LoadModel(string modelPath, ModelLoadOptions options, out ModelFileDetails details)
    {
        RnnModel model = ModelFiles.Load(modelPath, options, out details);
        if (details.NonlinearityAssumed)
        {
            Terminal.Warning($"{Path.GetFileName(modelPath)} does not say which nonlinearity its RNN layers use; assuming tanh " +
                "(PyTorch's default). Pass --nonlinearity relu for an nn.RNN(nonlinearity='relu').");
        }
        else if (options.Nonlinearity is not null && !model.Layers.Any(l => l.Cell == CellType.Elman))
        {
            Terminal.Warning($"--nonlinearity is ignored: {Path.GetFileName(modelPath)} has no Elman (nn.RNN) layers.");
        }
        return model;
    }

    /// <summary>
    /// Runs the command. Returns <see cref="ExitCodes.Success"/>, <see cref="ExitCodes.Failure"/> for a runtime error or
    /// <see cref="ExitCodes.Usage"/> for a bad argument; every error is reported on stderr, with no output file left behind.
    /// <paramref name="batchFirst"/> is the layout of a 3-d input: true [B, T, I], false [T, B, I], null as the model file
    /// records (else time-major). <paramref name="precision"/> (fp32, bf16, int8) stores the loaded model's weight
    /// matrices in that precision before running.
    /// </summary>
    public static int Execute(string modelPath, string inputPath, string outputPath, string outputFormat = "same", int? sampleRate = null,
        string? kernel = null, string? nonlinearity = null, bool ignoreSampleRate = false, bool? batchFirst = null, string? precision = null)
    {
        try
        {
            if (sampleRate is < 1 or > WavFile.MaxSampleRate)
            {
                throw new UsageException($"--sample-rate {sampleRate}: must be between 1 and {WavFile.MaxSampleRate} Hz.");
            }
            if (!SignalFile.IsKnownExtension(inputPath))
            {
                throw new UsageException($"--input {inputPath}: unknown input type; use .npy, .csv or .wav.");
            }
            if (!SignalFile.IsKnownExtension(outputPath))
            {
                throw new UsageException($"--output {outputPath}: unknown output type; use .npy, .csv or .wav.");
            }
            ModelLoadOptions options = LoadOptions(modelPath, kernel, nonlinearity);
            WeightPrecision? weights = PrecisionOption.Parse(precision);
            SignalFile.PrepareOutput(outputPath, inputPath, modelPath);
            RnnModel model = PrecisionOption.Apply(LoadModel(modelPath, options, out ModelFileDetails details), weights);
            Signal input = SignalFile.Read(inputPath);
            string inputName = Path.GetFileName(inputPath);
            bool? recorded = ModelFiles.ReadBatchFirst(modelPath);
            bool transpose = (batchFirst ?? recorded ?? false) && input.Rank == 3;
            // Said with the result (a failed run prints nothing on stdout), and only where a layout was chosen.
            string? layout = input.Rank == 3 ? LayoutLine(input, transpose, batchFirst, recorded) : null;
            if (transpose)
            {
                // Read as [B, T, I] into Steps = B, Batch = T: make it time-major for the model.
                input = new Signal(Transpose(input.Data, input.Steps, input.Batch, input.Channels), input.Batch, input.Steps, input.Channels, input.Wav) { Rank = 3 };
            }
            bool channelsAsStreams = ChannelsAsStreams(input, model, inputName);
            int? rate = CheckSampleRate(input, details, sampleRate, ignoreSampleRate, inputName);
            ReportNonFinite(input.Data, $"{inputName} has", "input samples", "the outputs they reach will be NaN or infinite too");

            Signal streams = channelsAsStreams ? new Signal(input.Data, input.Steps, input.Channels, 1, input.Wav) : input;
            float[] outputs = Process(model, streams);
            Signal signal = channelsAsStreams
                // [T, C streams, O] is, in memory, [T, C*O]: channel c's outputs at c*O..c*O+O-1 of each step.
                ? new Signal(outputs, input.Steps, 1, input.Channels * model.OutputSize, input.Wav)
                : transpose
                    ? new Signal(Transpose(outputs, input.Steps, input.Batch, model.OutputSize), input.Batch, input.Steps, model.OutputSize) { Rank = 3 }
                    : new Signal(outputs, input.Steps, input.Batch, model.OutputSize, input.Wav) { Rank = input.Rank == 1 && model.OutputSize == 1 ? 1 : input.Rank };
            WavFormat wav = OutputWav(outputFormat, input.Wav, rate ?? DefaultSampleRate);
            bool isWav = Path.GetExtension(outputPath).Equals(".wav", StringComparison.OrdinalIgnoreCase);
            ReportNonFinite(outputs, "the model produced", "output values",
                isWav && !wav.IsFloat ? "PCM cannot hold them: NaN is written as 0 and infinities as full scale" : "they are written as they are");
            SignalFile.Write(outputPath, signal, wav);
            if (layout is not null)
            {
                Terminal.Out.MarkupLine(Markup.Escape(layout));
            }
            Terminal.Out.MarkupLine(
                $"Wrote [bold]{Markup.Escape(Path.GetFileName(outputPath))}[/]: {input.Steps} steps × {streams.Batch} stream(s) × {model.OutputSize} output(s)" +
                (channelsAsStreams ? $" (the {input.Channels} channels of {Markup.Escape(inputName)} run as independent streams)" : "") +
                (isWav ? $", {wav}" : "") +
                $" [grey](kernel {model.Kernel}{(model.Precision == WeightPrecision.Float32 ? "" : $", {PrecisionOption.Name(model.Precision)} weights")})[/].");
            return ExitCodes.Success;
        }
        catch (Exception e) when (e is UsageException || Messages.IsRuntimeError(e))
        {
            return Messages.Report(e);
        }
    }

    /// <summary>
    /// True when a multichannel WAV meets a 1-input model: its channels then run as independent streams (a batch), as
    /// a mono amp model is applied to each side of a stereo file. Any other mismatch of channels and model inputs is an error.
    /// </summary>
    private static bool ChannelsAsStreams(Signal input, RnnModel model, string inputName)
    {
        if (input.Channels == model.InputSize)
        {
            return false;
        }
        if (model.InputSize == 1 && input.Wav is not null && input.Batch == 1)
        {
            return true;
        }
        throw new SignalFormatException($"{inputName} has {input.Channels} channel(s) per step but the model takes {model.InputSize}.");
    }

    /// <summary>
    /// The sample rate for a WAV output made from a non-WAV input (the option, else the model's); refuses a WAV input at
    /// another rate than the model was trained at, unless told to ignore it.
    /// </summary>
    private static int? CheckSampleRate(Signal input, ModelFileDetails details, int? sampleRate, bool ignore, string inputName)
    {
        int? modelRate = details.SampleRate is { } r ? (int)Math.Round(r) : null;
        if (input.Wav is { } wav)
        {
            if (modelRate is { } m && wav.SampleRate != m)
            {
                string message = $"{inputName} is sampled at {wav.SampleRate} Hz but {details.FileName} was trained at {m} Hz";
                if (!ignore)
                {
                    throw new SignalFormatException($"{message}; resample the input to {m} Hz, or pass --ignore-sample-rate to run it anyway.");
                }
                Terminal.Warning($"{message}; running it anyway (--ignore-sample-rate).");
            }
            if (sampleRate is { } s && s != wav.SampleRate)
            {
                Terminal.Warning($"--sample-rate {s} is ignored: a WAV input keeps its own rate ({wav.SampleRate} Hz) in the output.");
            }
            return wav.SampleRate;
        }
        if (sampleRate is { } given && modelRate is { } trained && given != trained)
        {
            Terminal.Warning($"--sample-rate {given} labels the output, but {details.FileName} was trained at {trained} Hz.");
        }
        return sampleRate ?? modelRate;
    }

    /// <summary>Counts NaN and infinite values and, if any, says so on stderr: the library passes them on as it should, silently.</summary>
    private static void ReportNonFinite(float[] values, string subject, string what, string consequence)
    {
        long nan = 0, infinite = 0;
        foreach (float v in values)
        {
            if (float.IsNaN(v))
            {
                nan++;
            }
            else if (float.IsInfinity(v))
            {
                infinite++;
            }
        }
        if (nan + infinite > 0)
        {
            Terminal.Warning($"{subject} {nan + infinite} non-finite {what} ({nan} NaN, {infinite} infinite) of {values.Length}; {consequence}.");
        }
    }

    /// <summary>The model over the whole input, in chunks of <see cref="ChunkSteps"/> steps (the state carries over).</summary>
    internal static float[] Process(RnnModel model, Signal input)
    {
        if (input.Steps == 0)
        {
            // Nothing to run: no state, however many streams the (empty) input claims.
            return [];
        }
        long outputLength = (long)input.Steps * input.Batch * model.OutputSize;
        if (outputLength > Array.MaxLength)
        {
            throw new SignalFormatException($"The output would hold {outputLength:N0} values ({input.Steps} steps × {input.Batch} streams × {model.OutputSize}), more than this tool writes at once; split the input.");
        }
        // The state holds about (G + 2) * H floats per stream and layer (gates, h, c); the input bounds the batch only by its size.
        long stateLength = input.Batch * model.Layers.Concat(model.Options.ReverseLayers ?? Array.Empty<LayerWeights>()).Sum(l => (long)(l.GateCount + 2) * l.HiddenSize);
        if (stateLength > MaxStateValues)
        {
            throw new SignalFormatException(
                $"{input.Batch:N0} streams of this model need about {stateLength * 4 / (1 << 20):N0} MB of state; at most {MaxStateValues * 4 / (1 << 20):N0} MB is allowed. Split the input into fewer streams.");
        }
        var outputs = new float[outputLength];
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
            Terminal.Out.Progress().Start(context =>
            {
                ProgressTask task = context.AddTask("Running", maxValue: input.Steps);
                RunChunks(steps => task.Increment(steps));
            });
        }
        return outputs;
    }

    private static string LayoutLine(Signal input, bool transpose, bool? batchFirst, bool? recorded)
    {
        string why = batchFirst is not null ? (batchFirst.Value ? "--batch-first" : "--time-major")
            : recorded is not null ? $"the model file's {ModelFile.BatchFirstKey}={(recorded.Value ? "true" : "false")}" : "the default";
        if (input.Rank != 3)
        {
            return $"Layout: one stream, [T, I] (time steps in rows; {why} applies to 3-d .npy inputs only).";
        }
        return transpose
            ? $"Layout: batch-first [B, T, I] = [{input.Steps}, {input.Batch}, {input.Channels}] ({why}); the output is [B, T, O]."
            : $"Layout: time-major [T, B, I] = [{input.Steps}, {input.Batch}, {input.Channels}] ({why}); the output is [T, B, O].";
    }

    /// <summary>[A, B, C] -> [B, A, C].</summary>
    internal static float[] Transpose(float[] data, int a, int b, int c)
    {
        var result = new float[data.Length];
        for (int i = 0; i < a; i++)
        {
            for (int j = 0; j < b; j++)
            {
                data.AsSpan((i * b + j) * c, c).CopyTo(result.AsSpan((j * a + i) * c, c));
            }
        }
        return result;
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
