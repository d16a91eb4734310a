using Rnn.Fast.Compare;
using Spectre.Console;

// Piped or redirected output has no real width; Spectre would assume 80 columns and wrap the table.
if (Console.IsOutputRedirected)
{
    AnsiConsole.Profile.Width = 160;
}

return CompareCommand.Create().Parse(args).Invoke();
