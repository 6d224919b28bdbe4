using System.Diagnostics;

namespace Flatness.Tests;

/// <summary>Outputs are checked before the work, never replace what is not a file, follow links, and clean up after a killed writer.</summary>
[Collection("Console")]
public sealed class OutputTargetTests : IDisposable
{
    private readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    private static readonly string Problem = CliRunner.Example("problem.npz");
    private static readonly string Layers = CliRunner.Example("layers.npz");

    [Fact]
    public void AMissingOutputDirectoryFailsBeforeTheSolveRuns()
    {
        var clock = Stopwatch.StartNew();
        var (code, _, stderr) = CliRunner.Run("solve", "--generate", "gaussian", "--d0", "6", "--dL", "6", "--rank", "1", "--n", "40",
            "--method", "gd", "--steps", "400000", "--out", _dir.File("missing/run.npz"));
        Assert.Equal(2, code);
        Assert.StartsWith($"flatness: cannot write {_dir.File("missing/run.npz")}: the directory", stderr);
        Assert.DoesNotContain(".tmp", stderr);
        Assert.True(clock.Elapsed.TotalSeconds < 20, "refused before the 400000 steps");
    }

    [Fact]
    public void DevicesAndDirectoriesAreNeverReplaced()
    {
        foreach (var target in new[] { "/dev/null", _dir.Path })
        {
            var (code, _, stderr) = CliRunner.Run("eval", "--problem", Problem, "--layers", Layers, "--grad-out", target);
            Assert.Equal(2, code);
            Assert.Contains("not a file to replace", stderr);
        }
        Assert.True(File.Exists("/dev/null") && !new FileInfo("/dev/null").Attributes.HasFlag(FileAttributes.Directory));
    }

    [Fact]
    public void ASymbolicLinkIsFollowedToItsTarget()
    {
        string target = _dir.File("target.npz"), link = _dir.File("link.npz");
        File.CreateSymbolicLink(link, target);
        var (code, _, stderr) = CliRunner.Run("eval", "--problem", Problem, "--layers", Layers, "--grad-out", link, "--json");
        Assert.True(code == 0, stderr);
        Assert.NotNull(new FileInfo(link).LinkTarget);
        Assert.True(new FileInfo(target).Length > 0);
    }

    [Fact]
    public void TemporariesOfAKilledWriterAreRemovedOnTheNextWrite()
    {
        // A temporary named after a process that no longer runs (pid 2^22 + 1 is above Linux's default limit).
        string stale = _dir.File($".grad.npz.{(1 << 22) + 1}.0123456789abcdef.tmp");
        File.WriteAllText(stale, "half a file");
        var (code, _, stderr) = CliRunner.Run("eval", "--problem", Problem, "--layers", Layers, "--grad-out", _dir.File("grad.npz"), "--json");
        Assert.True(code == 0, stderr);
        Assert.False(File.Exists(stale));
        Assert.Equal(["grad.npz"], _dir.Listing());
    }

    [SkippableFact]
    public void APipeGivenAsAnInputIsRefusedNotReadForever()
    {
        Skip.IfNot(OperatingSystem.IsLinux() && File.Exists("/usr/bin/mkfifo"), "needs mkfifo");
        string fifo = _dir.File("problem.npz");
        Process.Start("/usr/bin/mkfifo", fifo).WaitForExit();
        var (code, _, stderr) = CliRunner.Run("eval", "--problem", fifo, "--layers", Layers);
        Assert.Equal(2, code);
        Assert.Contains("not a regular file", stderr);
    }
}

[Collection("Console")]
public sealed class OutputCollisionTests : IDisposable
{
    private readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    [Fact]
    public void ALinkToAnInputAndTwoOutputsOnOneFileAreRefused()
    {
        string layers = _dir.File("layers.npz"), link = _dir.File("link.npz");
        File.Copy(CliRunner.Example("layers.npz"), layers);
        File.CreateSymbolicLink(link, layers);
        var problem = Flatness.Solver.Problems.ProblemFiles.LoadProblem(CliRunner.Example("problem.npz"));
        var w = Flatness.Solver.Problems.ProblemFiles.LoadLayers(layers, problem).Layers;
        string v = _dir.File("v.npz");
        Flatness.Solver.Problems.ProblemFiles.SaveChain(v, "V", w);
        long before = new FileInfo(layers).Length;
        var (code, _, stderr) = CliRunner.Run("hessian", "--problem", CliRunner.Example("problem.npz"), "--layers", layers, "--hvp", v, "--hvp-out", link);
        Assert.Equal(2, code);
        Assert.Contains("would overwrite the input file", stderr);
        Assert.Equal(before, new FileInfo(layers).Length);
        (code, _, stderr) = CliRunner.Run("hessian", "--problem", CliRunner.Example("problem.npz"), "--layers", layers, "--hvp", v,
            "--hvp-out", _dir.File("x.csv"), "--spectrum", "density", "--plot", _dir.File("x.png"));
        Assert.Equal(2, code);
        Assert.Contains("are the same file", stderr);
    }
}
