using System.CommandLine;

namespace Flatness.Cli;

internal static class BenchCommand
{
    public static Command Create()
    {
        var command = new Command("bench", "(under construction)");
        command.SetAction(_ => Cli.Guard(() => throw new NotSupportedException("'bench' is not built yet")));
        return command;
    }
}
