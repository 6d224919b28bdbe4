using System.CommandLine;

namespace Flatness.Cli;

internal static class ReproduceCommand
{
    public static Command Create()
    {
        var command = new Command("reproduce", "(under construction)");
        command.SetAction(_ => Cli.Guard(() => throw new NotSupportedException("'reproduce' is not built yet")));
        return command;
    }
}
