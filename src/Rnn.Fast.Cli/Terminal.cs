using Spectre.Console;

namespace Rnn.Fast.Cli;

/// <summary>
/// Where the commands write: results to stdout (through Spectre), errors and warnings to stderr as plain lines that
/// are never wrapped. Tests redirect both for their own call with <see cref="Capture"/>, so tests running in parallel
/// do not see each other's output.
/// </summary>
internal static class Terminal
{
    private static readonly AsyncLocal<IAnsiConsole?> s_out = new();
    private static readonly AsyncLocal<TextWriter?> s_error = new();

    /// <summary>Standard output, for results.</summary>
    public static IAnsiConsole Out => s_out.Value ?? AnsiConsole.Console;

    /// <summary>Standard error, for errors and warnings.</summary>
    public static TextWriter ErrorWriter => s_error.Value ?? Console.Error;

    /// <summary>Writes <c>Error: message</c> to stderr.</summary>
    public static void Error(string message) => ErrorWriter.WriteLine("Error: " + message);

    /// <summary>Writes <c>Warning: message</c> to stderr.</summary>
    public static void Warning(string message) => ErrorWriter.WriteLine("Warning: " + message);

    /// <summary>Sends stdout and stderr of the calling flow to strings until disposed (for tests).</summary>
    public static Captured Capture()
    {
        var output = new StringWriter();
        var error = new StringWriter();
        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(output),
        });
        console.Profile.Width = UnwrappedWidth;
        s_out.Value = console;
        s_error.Value = error;
        return new Captured(output, error);
    }

    /// <summary>The width given to Spectre when stdout is not a terminal: lines as long as they are, no wrapping.</summary>
    public const int UnwrappedWidth = 4096;

    /// <summary>What was written while capturing.</summary>
    public sealed class Captured(StringWriter output, StringWriter error) : IDisposable
    {
        public string Output => output.ToString();

        public string Error => error.ToString();

        public void Dispose()
        {
            s_out.Value = null;
            s_error.Value = null;
        }
    }
}

/// <summary>Process exit codes of <c>rnnfast</c>.</summary>
internal static class ExitCodes
{
    /// <summary>The command did what was asked.</summary>
    public const int Success = 0;

    /// <summary>A runtime error: a file is missing, malformed or unwritable, a check failed.</summary>
    public const int Failure = 1;

    /// <summary>A usage error: an unknown command or option, a missing or invalid argument value.</summary>
    public const int Usage = 2;
}

/// <summary>The command line asks for something impossible (a bad option value or combination): exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>Turns exceptions into the one-line messages users see.</summary>
internal static class Messages
{
    /// <summary>
    /// The message without .NET's argument decorations: <c>(Parameter 'path')</c> and <c>Actual value was ...</c>
    /// mean nothing to someone at a shell.
    /// </summary>
    public static string Of(Exception e)
    {
        string message = e.Message;
        if (e is ArgumentException { ParamName: { } name })
        {
            int cut = message.IndexOf($" (Parameter '{name}')", StringComparison.Ordinal);
            if (cut >= 0)
            {
                message = message[..cut];
            }
        }
        int actual = message.IndexOf("\nActual value was", StringComparison.Ordinal);
        return (actual >= 0 ? message[..actual] : message).Trim();
    }

    /// <summary>Errors a command reports as a failure (exit 1) rather than a crash: bad files and I/O.</summary>
    public static bool IsRuntimeError(Exception e) =>
        e is Rnn.Fast.IO.ModelFormatException or SignalFormatException or IOException or UnauthorizedAccessException or ArgumentException;

    /// <summary>Reports <paramref name="e"/> on stderr and returns its exit code: 2 for usage, 1 otherwise.</summary>
    public static int Report(Exception e)
    {
        Terminal.Error(Of(e));
        return e is UsageException ? ExitCodes.Usage : ExitCodes.Failure;
    }
}
