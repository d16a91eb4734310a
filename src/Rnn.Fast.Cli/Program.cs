using System.CommandLine;
using Rnn.Fast.Cli;
using Spectre.Console;

// Piped or redirected output (CI logs, `| tee`) has no real width; Spectre would assume 80 columns and
// wrap the tables cell by cell, so give it room.
if (Console.IsOutputRedirected)
{
    AnsiConsole.Profile.Width = 160;
}

// Wiring only: each command builds its own options and renders its own output.
var root = new RootCommand("rnnfast: run models trained elsewhere, and time and verify the Rnn.Fast RNN/LSTM kernels on this machine.")
{
    DemoCommand.Create(),
    VerifyCommand.Create(),
    RunCommand.Create(),
    InfoCommand.Create(),
    BenchCommand.Create(),
};
return root.Parse(args).Invoke();
