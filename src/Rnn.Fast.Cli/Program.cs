using Rnn.Fast.Cli;

return CommandLine.Run(args);
