using Flatness.Solver;
using CliProcess = Flatness.Cli.Cli;
using Flatness.Solver.Backends;

namespace Flatness.Tests;

/// <summary>Exit code 2 only for the user's mistakes; a bug inside the library is exit code 70 with one line saying so.</summary>
[Collection("Console")]
public sealed class ExitCodeTests
{
    private static (int Code, string Stderr) Guarded(Func<int> body)
    {
        var saved = Console.Error;
        var error = new StringWriter();
        Console.SetError(error);
        try
        {
            return (CliProcess.Guard(body), error.ToString());
        }
        finally
        {
            Console.SetError(saved);
        }
    }

    [Fact]
    public void UserMistakesAreExitCodeTwo()
    {
        foreach (var e in new Exception[]
                 {
                     new ArgumentException("bad option"), new IOException("no such file"), new FormatException("not a number"),
                     new ProblemTooLargeException("too large"), new Flatness.Kernels.Gpu.GpuUnavailableException("no CUDA device"),
                 })
        {
            var (code, stderr) = Guarded(() => throw e);
            Assert.Equal(CliProcess.BadInput, code);
            Assert.Equal($"flatness: {e.Message}", stderr.TrimEnd());
        }
    }

    [Fact]
    public void BugsAreExitCodeSeventyInOneLine()
    {
        foreach (var e in new Exception[] { new InvalidOperationException("state broke"), new NotSupportedException("no such kernel"), new NullReferenceException() })
        {
            var (code, stderr) = Guarded(() => throw e);
            Assert.Equal(CliProcess.InternalError, code);
            Assert.StartsWith($"flatness: internal error ({e.GetType().Name}: ", stderr);
            Assert.Contains("please report it", stderr);
            Assert.Single(stderr.TrimEnd().Split('\n'));
        }
    }
}
