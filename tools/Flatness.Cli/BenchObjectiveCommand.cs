using System.CommandLine;

namespace Flatness.Cli;

internal static class BenchObjectiveCommand
{
    public static Command Create()
    {
        var command = new Command("objective", "(under construction)");
        command.SetAction(_ => Cli.Guard(() => throw new NotSupportedException("'bench objective' is not built yet")));
        return command;
    }
}
