using System.CommandLine;

namespace Rnn.Fast.Cli;

/// <summary><c>rnnfast demo</c>: the kernel demo on built-in defaults.</summary>
/// <remarks>
/// Further experiments (e.g. <c>rnnfast demo adding</c>) are meant to be subcommands added here, each
/// with its own class like <see cref="KernelDemo"/>; <c>demo</c> on its own keeps running the kernel demo.
/// </remarks>
internal static class DemoCommand
{
    public static Command Create()
    {
        var kernel = new Option<string?>("--kernel")
        {
            Description = $"Kernel to run on instead of the default ({string.Join(", ", RnnKernels.Available)} on this machine).",
            HelpName = "NAME",
        };
        var seed = new Option<int>("--seed")
        {
            Description = "Seed of the weights and inputs.",
            DefaultValueFactory = _ => 1,
        };
        var command = new Command("demo", "Build LSTM and Elman models at a few sizes, check them against the reference, and time them.")
        {
            kernel,
            seed,
        };
        command.SetAction(parse => KernelDemo.Run(parse.GetValue(kernel), parse.GetValue(seed)));
        return command;
    }
}
