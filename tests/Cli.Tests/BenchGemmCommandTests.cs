using System.CommandLine;
using System.Text.Json;
using Flatness.Cli;

namespace Flatness.Tests;

[Collection("Console")]
public class BenchGemmCommandTests
{
    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var root = new RootCommand("test");
        root.Subcommands.Add(BenchCommand.Create());
        var (oldOut, oldErr) = (Console.Out, Console.Error);
        var (output, error) = (new StringWriter(), new StringWriter());
        try
        {
            Console.SetOut(output);
            Console.SetError(error);
            return (global::Flatness.Cli.Cli.Run(root, args), output.ToString(), error.ToString());
        }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldErr);
        }
    }

    [Fact]
    public void JsonPrintsOneObjectWithTheTiming()
    {
        var (code, output, _) = Run("bench", "gemm", "--size", "48", "--precision", "f32", "--threads", "1",
            "--repeats", "2", "--json");
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(output);
        var root = doc.RootElement;
        Assert.Equal(48, root.GetProperty("size").GetInt32());
        Assert.Equal("f32", root.GetProperty("precision").GetString());
        Assert.Equal(1, root.GetProperty("threads").GetInt32());
        Assert.Equal("cpu", root.GetProperty("backend").GetString());
        double seconds = root.GetProperty("seconds_median").GetDouble();
        Assert.Equal(2.0 * 48 * 48 * 48 / seconds * 1e-9, root.GetProperty("gflops").GetDouble(), 1e-6);
    }

    [Theory]
    [InlineData("--backend", "cuda")]
    [InlineData("--precision", "f16")]
    [InlineData("--size", "0")]
    public void BadOptionsAreOneLineAndExitCodeTwo(string option, string value)
    {
        var (code, output, error) = Run("bench", "gemm", option, value, "--json");
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Single(error.Trim().Split('\n'));
    }
}
