using System.CommandLine;

namespace Flatness.Cli;

internal static class EvalCommand
{
    public static Command Create()
    {
        var command = new Command("eval", "(under construction)");
        command.SetAction(_ => Cli.Guard(() => throw new NotSupportedException("'eval' is not built yet")));
        return command;
    }
}
