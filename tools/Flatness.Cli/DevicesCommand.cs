using System.CommandLine;

namespace Flatness.Cli;

internal static class DevicesCommand
{
    public static Command Create()
    {
        var command = new Command("devices", "(under construction)");
        command.SetAction(_ => Cli.Guard(() => throw new NotSupportedException("'devices' is not built yet")));
        return command;
    }
}
