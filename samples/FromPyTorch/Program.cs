// PyTorch -> tools/export -> C#: the README's "Models trained elsewhere" example (the <snippet:pytorch> regions are
// copied there verbatim, and a test checks they still match).
// With PyTorch installed (Debian: apt-get install python3-torch), this program first runs train.py, which trains a
// small batch-first GRU and exports it with tools/export/rnnfast_export.py; without it, the committed export is used.
// Either way the C# outputs are checked against PyTorch's (expected.json) and the program exits 1 if they differ.
using System.Diagnostics;
using System.Text.Json;
// <snippet:pytorch>
using Rnn.Fast;
using Rnn.Fast.IO;

// </snippet:pytorch>
string? python = FindPyTorch();
if (python is not null)
{
    // Overwrites the committed copies beside the program (not the source files) with a fresh export.
    Run(python, Path.Combine(AppContext.BaseDirectory, "train.py"), AppContext.BaseDirectory);
    Console.WriteLine($"Trained and exported with PyTorch ({python}).");
}
else
{
    Console.WriteLine("PyTorch not found (apt-get install python3-torch): using the committed export of train.py.");
}

// <snippet:pytorch>
// model.safetensors: a batch_first nn.GRU + nn.Linear trained in PyTorch, written by tools/export (see train.py).
string path = Path.Combine(AppContext.BaseDirectory, "model.safetensors");
RnnModel model = ModelFile.Load(path);
bool batchFirst = ModelFile.ReadBatchFirst(path) ?? false;   // the layout it was trained with: true here

// The input PyTorch saw, x[b, t] = sin(0.2 t + b), is batch-first [B, T, I], as the file says.
const int B = 2, T = 50;
float[] x = new float[B * T * model.InputSize];
for (int b = 0; b < B; b++)
{
    for (int t = 0; t < T; t++)
    {
        x[b * T + t] = (float)Math.Sin(0.2 * t + b);
    }
}
float[] output = new float[B * T * model.OutputSize];            // [B, T, O], as PyTorch's
model.Run(x, T, model.CreateState(B), output, batchFirst ? SequenceLayout.BatchFirst : SequenceLayout.TimeMajor);

// The same file embedded in the assembly (<EmbeddedResource Include="model.safetensors" LogicalName="model.safetensors" />):
using Stream resource = typeof(Program).Assembly.GetManifestResourceStream("model.safetensors")!;
RnnModel embedded = ModelFile.Load(resource, ModelFileFormat.Safetensors);
// </snippet:pytorch>

// The checks behind the example: PyTorch's outputs, to float rounding; the embedded copy is a model of the same shape.
using JsonDocument expected = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "expected.json")));
float[] reference = [.. expected.RootElement.GetProperty("output").EnumerateArray().Select(v => v.GetSingle())];
float worst = 0;
for (int i = 0; i < reference.Length; i++)
{
    worst = Math.Max(worst, Math.Abs(reference[i] - output[i]));
}
bool ok = batchFirst && reference.Length == output.Length && worst <= 1e-5f
    && embedded.InputSize == model.InputSize && embedded.OutputSize == model.OutputSize && embedded.Layers[0].Cell == CellType.Gru;
Console.WriteLine($"{(ok ? "ok  " : "FAIL")} batch_first={batchFirst}; {output.Length} outputs, max |C# - PyTorch| = {worst:G3} (kernel {model.Kernel})");
return ok ? 0 : 1;

// Debian's /usr/bin/python3 (where apt installs python3-torch) or the python3 on PATH, if it can import torch.
static string? FindPyTorch()
{
    foreach (string candidate in new[] { "/usr/bin/python3", "python3" })
    {
        try
        {
            Run(candidate, "-c", "import torch");
            return candidate;
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // Not this one.
        }
    }
    return null;
}

static void Run(string program, string first, string second)
{
    var start = new ProcessStartInfo(program) { RedirectStandardError = true };
    start.ArgumentList.Add(first);
    start.ArgumentList.Add(second);
    using Process process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {program}");
    string errors = process.StandardError.ReadToEnd();
    process.WaitForExit();
    if (process.ExitCode != 0)
    {
        throw new InvalidOperationException($"{program} {first} failed ({process.ExitCode}): {errors}");
    }
}
