using System.CommandLine;
using Rnn.Fast.Cli.Experiments;

namespace Rnn.Fast.Cli;

/// <summary>
/// <c>rnnfast demo [name]</c>: with no name, the kernel checks (<see cref="KernelDemo"/>) and a quick run of every
/// experiment; with a name, that experiment alone (<c>kernels</c> for the kernel table alone).
/// </summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        var kernel = new Option<string?>("--kernel")
        {
            Description = $"Kernel to run on instead of the default ({string.Join(", ", RnnKernels.Available)} on this machine).",
            HelpName = "NAME",
            Recursive = true,
        };
        var seed = new Option<int>("--seed")
        {
            Description = "Seed of the weights and data.",
            DefaultValueFactory = _ => 1,
            Recursive = true,
        };
        var output = new Option<string>("--output")
        {
            Description = "Folder for the CSV, PNG and markdown files (index.md embeds the plots).",
            DefaultValueFactory = _ => "demo-output",
            HelpName = "DIR",
            Recursive = true,
        };
        var full = new Option<bool>("--full")
        {
            Description = "Full-length experiments (several minutes) instead of the quick ones.",
            Recursive = true,
        };

        var command = new Command("demo",
            "Check and time the kernels, then run every experiment (gradients, adding, clipping, tbptt), quick unless --full, writing CSV, PNG plots and index.md.")
        {
            kernel,
            seed,
            output,
            full,
        };
        command.SetAction(parse =>
        {
            string? chosenKernel = parse.GetValue(kernel);
            int chosenSeed = parse.GetValue(seed);
            if (!ExperimentRunner.TryCreateFolder(parse.GetValue(output)!))
            {
                return ExitCodes.Failure;
            }
            return ExperimentRunner.Run(ExperimentRunner.All, rows => KernelDemo.Run(chosenKernel, chosenSeed, rows),
                parse.GetValue(output)!, parse.GetValue(full), chosenSeed, chosenKernel);
        });

        var kernels = new Command("kernels", "Only the kernel checks and timings.");
        kernels.SetAction(parse => KernelDemo.Run(parse.GetValue(kernel), parse.GetValue(seed)));
        command.Subcommands.Add(kernels);

        foreach (Experiment experiment in ExperimentRunner.All)
        {
            var sub = new Command(experiment.Name, experiment.Description);
            sub.SetAction(parse => ExperimentRunner.TryCreateFolder(parse.GetValue(output)!)
                ? ExperimentRunner.Run([experiment], kernelDemo: null, parse.GetValue(output)!, parse.GetValue(full), parse.GetValue(seed), parse.GetValue(kernel))
                : ExitCodes.Failure);
            command.Subcommands.Add(sub);
        }
        return command;
    }
}
