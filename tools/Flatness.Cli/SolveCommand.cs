using System.CommandLine;

namespace Flatness.Cli;

internal static class SolveCommand
{
    public static Command Create()
    {
        var command = new Command("solve", "(under construction)");
        command.SetAction(_ => Cli.Guard(() => throw new NotSupportedException("'solve' is not built yet")));
        return command;
    }
}
