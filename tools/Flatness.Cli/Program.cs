using System.CommandLine;
using Flatness.Cli;

var root = new RootCommand("flatness: exact Hessian-trace flatness for deep matrix factorisation");
root.Subcommands.Add(EvalCommand.Create());
root.Subcommands.Add(SolveCommand.Create());
root.Subcommands.Add(HessianCommand.Create());
root.Subcommands.Add(BenchCommand.Create());
root.Subcommands.Add(ReproduceCommand.Create());
root.Subcommands.Add(MergeCommand.Create());
root.Subcommands.Add(DevicesCommand.Create());
return Cli.Run(root, args);
