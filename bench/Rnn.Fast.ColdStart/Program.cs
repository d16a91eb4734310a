using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text;
using Rnn.Fast;

// Cold start of a 1x16 LSTM amp model (I = 1, H = 16, 1-output head, seed 1), one Step per sample of 48 kHz
// audio (a 440 Hz sine plus 1% noise), in a fresh process per run:
//   average ns/step over the first 48,000 steps (one second of audio), per 4,800-step block, and the steady
//   state (median of ten 48,000-step blocks after 4 s of running), plus the time to create the model.
// Each is measured twice: wall-clock time, and the CPU time of the stepping thread (Linux
// CLOCK_THREAD_CPUTIME_ID), which leaves out time the thread spends preempted on a busy machine (and the
// background tier-1 JIT thread, which on an idle multi-core machine runs beside the audio thread anyway) but
// keeps the JIT work done on the thread itself (tier-0 and full-opt compiles at first call).
//
//   dotnet run -c Release --project bench/Rnn.Fast.ColdStart -- [--runs N] [--variants a,b,...]
//        [--exe name=path/to/other/build/Rnn.Fast.ColdStart] [--exe-variants a,b] [--out FILE]
//
// The parent starts a child (this program with --child VARIANT) per variant and run, interleaved, and prints a
// markdown table of medians over runs. Variants:
//   default             the runtime's defaults (tiered compilation, quick JIT for loops, PGO)
//   TieredPGO=0         DOTNET_TieredPGO=0             (runtimeconfig System.Runtime.TieredPGO: false)
//   QuickJitForLoops=0  DOTNET_TC_QuickJitForLoops=0   (System.Runtime.TieredCompilation.QuickJitForLoops: false)
//   QuickJit=0          DOTNET_TC_QuickJit=0           (System.Runtime.TieredCompilation.QuickJit: false)
//   TC=0                DOTNET_TieredCompilation=0     (System.Runtime.TieredCompilation: false)
//   CallCountDelay=0    DOTNET_TC_CallCountingDelayMs=0 (no 100 ms quiet period before tier-up; no runtimeconfig name)
//   PrepareMethod       RuntimeHelpers.PrepareMethod on every method of the model's kernel, RnnModel and RnnState after creation
//   PrepareAggressive   the same for just those of them marked AggressiveOptimization (none in an unmarked build)
//   Warmup              2,000 Steps on a scratch state right after creation (what a library could do in Create)
//   Step1               one Step on a scratch state right after creation (compiles AggressiveOptimization methods
//                       fully optimized at once; without them it only produces tier-0 code)
// --exe adds a variant that runs another build of this program (e.g. with AggressiveOptimization on the kernels,
// or published ReadyToRun), with each of the --exe-variants (default: just "default").
const int SampleRate = 48_000;
const int Block = 4_800;

int child = Array.IndexOf(args, "--child");
if (child >= 0)
{
    return RunChild(args[child + 1]);
}

int runs = IntArg("--runs", 3);
string[] variants = (StringArg("--variants") ?? "default,TieredPGO=0,QuickJitForLoops=0,QuickJit=0,TC=0,CallCountDelay=0,PrepareMethod,Warmup")
    .Split(',', StringSplitOptions.RemoveEmptyEntries);
var exes = new List<(string Name, string Path)>();
for (int i = 0; i < args.Length - 1; i++)
{
    if (args[i] == "--exe")
    {
        string[] parts = args[i + 1].Split('=', 2);
        exes.Add((parts[0], Path.GetFullPath(parts[1])));
    }
}

string[] exeVariants = (StringArg("--exe-variants") ?? "default").Split(',', StringSplitOptions.RemoveEmptyEntries);
var results = new Dictionary<string, List<double[]>>();
string self = Environment.ProcessPath!;
for (int run = 0; run < runs; run++)
{
    foreach (string variant in variants)
    {
        Record(variant, Launch(self, variant));
    }
    foreach ((string name, string path) in exes)
    {
        foreach (string variant in exeVariants)
        {
            Record(variant == "default" ? name : $"{name} + {variant}", Launch(path, variant));
        }
    }
}

var report = new StringBuilder();
report.AppendLine(CultureInfo.InvariantCulture, $"Cold start, 1x16 LSTM amp model, one Step per sample; medians of {runs} fresh processes per variant; {Environment.ProcessorCount} cores, load average at end {LoadAverage():0.0}; {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
report.AppendLine();
report.Append("| variant | create (ms) | first 48k avg, wall (ns/step) | steady, wall | ratio, wall | first 48k avg, thread CPU | steady, thread CPU | ratio, thread CPU |");
for (int b = 0; b < SampleRate / Block; b++)
{
    report.Append(CultureInfo.InvariantCulture, $" block {b + 1}, CPU |");
}
report.AppendLine();
report.Append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
report.AppendLine(string.Concat(Enumerable.Repeat(" ---: |", SampleRate / Block)));
foreach ((string name, List<double[]> rows) in results)
{
    double[] median = [.. Enumerable.Range(0, rows[0].Length).Select(c => Median(rows.Select(r => r[c])))];
    // Row layout from the child: create ms, first-48k avg and steady (wall), the same in thread CPU time, then
    // the blocks in thread CPU time. Ratios are medians of each run's own ratio.
    report.Append(CultureInfo.InvariantCulture, $"| {name} | {median[0]:0.0} | {median[1]:0} | {median[2]:0.0} | {Median(rows.Select(r => r[1] / r[2])):0.00} | {median[3]:0} | {median[4]:0.0} | {Median(rows.Select(r => r[3] / r[4])):0.00} |");
    for (int c = 5; c < median.Length; c++)
    {
        report.Append(CultureInfo.InvariantCulture, $" {median[c]:0} |");
    }
    report.AppendLine();
}
Console.WriteLine();
Console.WriteLine(report);
string? outPath = StringArg("--out");
if (outPath is not null)
{
    File.WriteAllText(outPath, report.ToString());
}
return 0;

void Record(string name, double[] row)
{
    if (!results.TryGetValue(name, out List<double[]>? list))
    {
        results[name] = list = [];
    }
    list.Add(row);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name}: create {row[0]:0.0} ms, first 48k {row[1]:0} ns/step, steady {row[2]:0.0} ns/step, ratio {row[1] / row[2]:0.00}; thread CPU {row[3]:0} / {row[4]:0.0} = {row[3] / row[4]:0.00}"));
}

static double[] Launch(string exe, string variant)
{
    var start = new ProcessStartInfo(exe) { RedirectStandardOutput = true, UseShellExecute = false };
    start.ArgumentList.Add("--child");
    start.ArgumentList.Add(variant);
    (string Name, string Value)? knob = variant switch
    {
        "TieredPGO=0" => ("DOTNET_TieredPGO", "0"),
        "QuickJitForLoops=0" => ("DOTNET_TC_QuickJitForLoops", "0"),
        "QuickJit=0" => ("DOTNET_TC_QuickJit", "0"),
        "TC=0" => ("DOTNET_TieredCompilation", "0"),
        "CallCountDelay=0" => ("DOTNET_TC_CallCountingDelayMs", "0"),
        _ => null,
    };
    if (knob is { } k)
    {
        start.Environment[k.Name] = k.Value;
    }
    using Process process = Process.Start(start)!;
    string output = process.StandardOutput.ReadToEnd();
    process.WaitForExit();
    string line = output.Split('\n').Last(l => l.StartsWith("ROW ", StringComparison.Ordinal));
    return [.. line[4..].Split(' ').Select(v => double.Parse(v, CultureInfo.InvariantCulture))];
}

static int RunChild(string variant)
{
    float[] audio = new float[SampleRate];
    var random = new Random(7);
    for (int i = 0; i < audio.Length; i++)
    {
        audio[i] = (float)(0.5 * Math.Sin(2 * Math.PI * 440 * i / SampleRate) + 0.01 * (2 * random.NextDouble() - 1));
    }
    float[] output = new float[1];

    long created = Stopwatch.GetTimestamp();
    RnnModel model = RnnModel.CreateLstm(inputSize: 1, hiddenSize: 16, outputSize: 1, seed: 1);
    RnnState state = model.CreateState();
    if (variant is "PrepareMethod" or "PrepareAggressive")
    {
        Prepare(model, onlyAggressive: variant == "PrepareAggressive");
    }
    else if (variant is "Warmup" or "Step1")
    {
        RnnState scratch = model.CreateState();
        for (int i = 0; i < (variant == "Step1" ? 1 : 2_000); i++)
        {
            model.Step(audio.AsSpan(i, 1), scratch, output);
        }
    }
    double createMs = Stopwatch.GetElapsedTime(created).TotalMilliseconds;

    var blocks = new double[SampleRate / Block];
    long first = Stopwatch.GetTimestamp();
    long firstCpu = ThreadCpuNanoseconds();
    for (int b = 0; b < blocks.Length; b++)
    {
        long start = ThreadCpuNanoseconds();
        for (int i = b * Block; i < (b + 1) * Block; i++)
        {
            model.Step(audio.AsSpan(i, 1), state, output);
        }
        blocks[b] = (ThreadCpuNanoseconds() - start) / (double)Block;
    }
    double firstAvg = Stopwatch.GetElapsedTime(first).TotalNanoseconds / SampleRate;
    double firstAvgCpu = (ThreadCpuNanoseconds() - firstCpu) / (double)SampleRate;

    // Keep streaming until 4 s after start (tier-1 code and PGO have long arrived), then ten one-second blocks.
    while (Stopwatch.GetElapsedTime(first).TotalSeconds < 4)
    {
        StreamSecond(model, state, audio, output);
    }
    var steady = new double[10];
    var steadyCpu = new double[10];
    for (int s = 0; s < steady.Length; s++)
    {
        long start = Stopwatch.GetTimestamp();
        long startCpu = ThreadCpuNanoseconds();
        StreamSecond(model, state, audio, output);
        steadyCpu[s] = (ThreadCpuNanoseconds() - startCpu) / (double)SampleRate;
        steady[s] = Stopwatch.GetElapsedTime(start).TotalNanoseconds / SampleRate;
    }
    Array.Sort(steady);
    Array.Sort(steadyCpu);
    double steadyMedian = (steady[4] + steady[5]) / 2;
    double steadyMedianCpu = (steadyCpu[4] + steadyCpu[5]) / 2;
    Console.WriteLine("ROW " + string.Join(' ', new[] { createMs, firstAvg, steadyMedian, firstAvgCpu, steadyMedianCpu }.Concat(blocks)
        .Select(v => v.ToString("R", CultureInfo.InvariantCulture))));
    return 0;
}

static long ThreadCpuNanoseconds()
{
    // CLOCK_THREAD_CPUTIME_ID = 3 on Linux.
    if (NativeMethods.ClockGetTime(3, out NativeMethods.TimeSpec now) != 0)
    {
        throw new InvalidOperationException("clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed; this harness needs Linux.");
    }
    return now.Seconds * 1_000_000_000 + now.Nanoseconds;
}

static void StreamSecond(RnnModel model, RnnState state, float[] audio, float[] output)
{
    for (int i = 0; i < audio.Length; i++)
    {
        model.Step(audio.AsSpan(i, 1), state, output);
    }
}

// Every method the streaming path can reach, found by reflection because the kernels are internal: the model's
// own methods and those of its kernel's class hierarchy, with generic instantiations as the kernel has them.
// With onlyAggressive, just the methods marked MethodImplOptions.AggressiveOptimization (what a library would list
// itself: the step path), the rest left to tiering.
static void Prepare(RnnModel model, bool onlyAggressive)
{
    const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
    object kernel = typeof(RnnModel).GetField("_kernel", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(model)!;
    for (Type? type = kernel.GetType(); type is not null && type != typeof(object); type = type.BaseType)
    {
        PrepareAll(type);
    }
    PrepareAll(typeof(RnnModel));
    PrepareAll(typeof(RnnState));
    foreach (string helper in (string[])["Rnn.Fast.Internals.Guard", "Rnn.Fast.Internals.Guard+ShapeText"])
    {
        if (typeof(RnnModel).Assembly.GetType(helper) is { } type)
        {
            PrepareAll(type);
        }
    }

    void PrepareAll(Type type)
    {
        foreach (MethodBase method in type.GetMethods(all).Concat<MethodBase>(type.GetConstructors(all)))
        {
            bool aggressive = (method.MethodImplementationFlags & MethodImplAttributes.AggressiveOptimization) != 0;
            if (!method.IsAbstract && !method.ContainsGenericParameters && (aggressive || !onlyAggressive))
            {
                RuntimeHelpers.PrepareMethod(method.MethodHandle, type.IsGenericType ? type.GetGenericArguments().Select(t => t.TypeHandle).ToArray() : null);
            }
        }
    }
}

double Median(IEnumerable<double> values)
{
    double[] sorted = [.. values.Order()];
    return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
}

int IntArg(string name, int fallback) => StringArg(name) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;

string? StringArg(string name)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

static double LoadAverage()
{
    try
    {
        return double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], CultureInfo.InvariantCulture);
    }
    catch (IOException)
    {
        return double.NaN;
    }
}

internal static partial class NativeMethods
{
    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
    internal struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "clock_gettime")]
    internal static partial int ClockGetTime(int clock, out TimeSpec time);
}
