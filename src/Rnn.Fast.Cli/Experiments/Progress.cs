using Spectre.Console;

namespace Rnn.Fast.Cli.Experiments;

/// <summary>Where an experiment reports how far it is (a progress bar on the console, nothing in tests).</summary>
internal interface IExperimentProgress
{
    /// <summary>A new task of <paramref name="total"/> units of work.</summary>
    IProgressTask AddTask(string description, double total);
}

/// <summary>One task's progress.</summary>
internal interface IProgressTask
{
    /// <summary>Marks <paramref name="amount"/> more units done.</summary>
    void Increment(double amount = 1);
}

/// <summary>Progress that goes nowhere (tests, library use).</summary>
internal sealed class NullProgress : IExperimentProgress, IProgressTask
{
    public static readonly NullProgress Instance = new();

    public IProgressTask AddTask(string description, double total) => this;

    public void Increment(double amount = 1)
    {
    }
}

/// <summary>Spectre.Console progress bars.</summary>
internal sealed class SpectreProgress(ProgressContext context) : IExperimentProgress
{
    public IProgressTask AddTask(string description, double total) =>
        new Task(context.AddTask(Markup.Escape(description), maxValue: Math.Max(total, 1)));

    private sealed class Task(ProgressTask task) : IProgressTask
    {
        public void Increment(double amount = 1) => task.Increment(amount);
    }
}
