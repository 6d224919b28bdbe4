using System.CommandLine;

namespace Flatness.Cli;

internal static class MergeCommand
{
    public static Command Create()
    {
        var command = new Command("merge", "(under construction)");
        command.SetAction(_ => Cli.Guard(() => throw new NotSupportedException("'merge' is not built yet")));
        return command;
    }
}
