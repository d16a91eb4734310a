using System.Diagnostics;

namespace Rnn.Fast.Tests;

/// <summary>Runs Python scripts for the exporter tests, and finds the repository they live in.</summary>
internal static class Python
{
    /// <summary>The python3 on PATH (CI has one; it need not have torch).</summary>
    public const string Plain = "python3";

    private static readonly Lazy<string?> s_torch = new(FindTorch);

    /// <summary>A Python with PyTorch (Debian's /usr/bin/python3 after apt-get install python3-torch), or null.</summary>
    public static string? WithTorch => s_torch.Value;

    /// <summary>The repository root: the first ancestor of the test assembly's folder holding Rnn.Fast.sln.</summary>
    public static string RepositoryRoot { get; } = FindRoot();

    public static string ExporterDirectory => Path.Combine(RepositoryRoot, "tools", "export");

    /// <summary>Runs <paramref name="script"/> with tools/export importable; returns stdout, throws with stderr on failure.</summary>
    public static string Run(string python, string script, string workingDirectory, int timeoutSeconds = 300)
    {
        var start = new ProcessStartInfo(python)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory,
        };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(script);
        start.Environment["PYTHONPATH"] = ExporterDirectory;
        start.Environment["PYTHONDONTWRITEBYTECODE"] = "1";
        using Process process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {python}.");
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeoutSeconds * 1000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{python} did not finish in {timeoutSeconds} s.");
        }
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{python} exited with {process.ExitCode}:\n{stderr.Result}\n{stdout.Result}");
        }
        return stdout.Result;
    }

    private static string? FindTorch()
    {
        if (Environment.GetEnvironmentVariable("RNNFAST_TESTS_NO_TORCH") == "1")
        {
            return null;   // to see the skip on a machine that has torch
        }
        foreach (string candidate in new[] { "/usr/bin/python3", Plain })
        {
            try
            {
                Run(candidate, "import torch", Path.GetTempPath(), timeoutSeconds: 120);
                return candidate;
            }
            catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception or TimeoutException)
            {
                // Not this one.
            }
        }
        return null;
    }

    private static string FindRoot()
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "Rnn.Fast.sln")))
            {
                return d.FullName;
            }
        }
        throw new InvalidOperationException($"No Rnn.Fast.sln above {AppContext.BaseDirectory}.");
    }
}

/// <summary>A fact that needs PyTorch: reported as skipped, with the reason, when no Python here has it.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class TorchFactAttribute : FactAttribute
{
    public TorchFactAttribute()
    {
        if (Python.WithTorch is null)
        {
            Skip = "PyTorch is not installed (apt-get install -y python3-torch for /usr/bin/python3): the PyTorch round trip did not run.";
        }
    }
}
