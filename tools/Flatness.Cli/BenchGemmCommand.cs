using System.CommandLine;

namespace Flatness.Cli;

internal static class BenchGemmCommand
{
    public static Command Create()
    {
        var command = new Command("gemm", "(under construction)");
        command.SetAction(_ => Cli.Guard(() => throw new NotSupportedException("'bench gemm' is not built yet")));
        return command;
    }
}
