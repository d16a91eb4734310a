using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Parsing;
using Spectre.Console;

namespace Rnn.Fast.Cli;

/// <summary>
/// The <c>rnnfast</c> command line: parses, runs the command, and maps every outcome to an exit code
/// (<see cref="ExitCodes"/>): 0 success, 1 runtime error, 2 usage error. Errors go to stderr as one line, without a
/// stack trace (set <c>RNNFAST_STACKTRACE=1</c> to get one for an unexpected error).
/// </summary>
internal static class CommandLine
{
    public static RootCommand CreateRoot() =>
        new("rnnfast: run models trained elsewhere, and time and verify the Rnn.Fast RNN/LSTM kernels on this machine.")
        {
            DemoCommand.Create(),
            VerifyCommand.Create(),
            RunCommand.Create(),
            InfoCommand.Create(),
            BenchCommand.Create(),
            PrecisionReportCommand.Create(),
        };

    /// <summary>Runs a command line in-process (the tests' entry point too); returns the exit code.</summary>
    public static int Run(string[] args)
    {
        // Piped or redirected output (CI logs, `| tee`, a file) has no real width; Spectre would assume 80 columns and
        // wrap tables and long lines, so let lines be as long as they are.
        if (Console.IsOutputRedirected)
        {
            AnsiConsole.Profile.Width = Terminal.UnwrappedWidth;
        }
        ParseResult parse = CreateRoot().Parse(args);
        if (parse.Errors.Count > 0 && parse.Action is not HelpAction)
        {
            foreach (ParseError error in parse.Errors)
            {
                Terminal.Error(Plain(error.Message));
            }
            Terminal.ErrorWriter.WriteLine($"See 'rnnfast {string.Join(' ', CommandPath(parse))} --help'.".Replace("  ", " ", StringComparison.Ordinal));
            return ExitCodes.Usage;
        }
        try
        {
            return parse.Invoke(new InvocationConfiguration
            {
                EnableDefaultExceptionHandler = false,
                Error = Terminal.ErrorWriter,
            });
        }
        catch (Exception e) when (e is UsageException || Messages.IsRuntimeError(e))
        {
            return Messages.Report(e);
        }
        catch (Exception e)
        {
            // A bug, not a user error: say what happened in one line; the stack trace only on request.
            Terminal.Error($"unexpected {e.GetType().Name}: {Messages.Of(e)}");
            if (Environment.GetEnvironmentVariable("RNNFAST_STACKTRACE") is "1")
            {
                Terminal.ErrorWriter.WriteLine(e.ToString());
            }
            else
            {
                Terminal.ErrorWriter.WriteLine("Set RNNFAST_STACKTRACE=1 to see where it happened.");
            }
            return ExitCodes.Failure;
        }
    }

    /// <summary>A parse error without .NET type names: "as expected type 'System.Nullable`1[System.Int32]'" reads "as a whole number".</summary>
    internal static string Plain(string message)
    {
        int at = message.IndexOf(" as expected type '", StringComparison.Ordinal);
        if (at < 0)
        {
            return message;
        }
        string type = message[(at + " as expected type '".Length)..];
        string kind = type.Contains("Int32", StringComparison.Ordinal) || type.Contains("Int64", StringComparison.Ordinal) ? "a whole number"
            : type.Contains("Double", StringComparison.Ordinal) || type.Contains("Single", StringComparison.Ordinal) ? "a number"
            : type.Contains("Boolean", StringComparison.Ordinal) ? "true or false"
            : "the expected kind of value";
        return message[..at] + $"; expected {kind} in range.";
    }

    private static IEnumerable<string> CommandPath(ParseResult parse)
    {
        var names = new Stack<string>();
        for (SymbolResult? result = parse.CommandResult; result is not null; result = result.Parent)
        {
            if (result is CommandResult { Command: { } command } && command is not RootCommand)
            {
                names.Push(command.Name);
            }
        }
        return names;
    }
}
