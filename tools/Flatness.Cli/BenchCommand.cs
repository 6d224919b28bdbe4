using System.CommandLine;

namespace Flatness.Cli;

internal static class BenchCommand
{
    public static Command Create()
    {
        var command = new Command("bench", "Time kernels and evaluations (medians after warm-up)");
        command.Subcommands.Add(BenchGemmCommand.Create());
        command.Subcommands.Add(BenchObjectiveCommand.Create());
        command.Subcommands.Add(BenchHessianCommand.Create());
        command.Subcommands.Add(BenchEstimatorsCommand.Create());
        foreach (var gpu in BenchGpuCommands.Create()) command.Subcommands.Add(gpu);
        return command;
    }
}
