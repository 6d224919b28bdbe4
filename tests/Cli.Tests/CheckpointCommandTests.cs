using System.Diagnostics;
using System.Globalization;
using Flatness.Solver.Problems;

namespace Flatness.Tests;

/// <summary>
/// `solve --checkpoint`: a run killed with SIGKILL (no chance to save) and then stopped with SIGTERM (saves where it
/// stopped), each time rerun with the same command, ends with layers bit-identical to a run never interrupted.
/// </summary>
[Collection("Console")]
public sealed class CheckpointCommandTests
{
    private static string[] Args(string method) => method switch
    {
        "label-noise" => ["solve", "--generate", "gaussian", "--d0", "6", "--dL", "5", "--rank", "1", "--n", "20", "--depth", "3",
            "--method", "label-noise", "--lr", "0.005", "--steps", "3000000", "--history-every", "0", "--backend", "cpu", "--threads", "1", "--json"],
        _ => ["solve", "--generate", "gaussian", "--d0", "20", "--dL", "20", "--rank", "2", "--n", "150", "--depth", "3",
            "--method", "penalty", "--steps", "1000000", "--history-every", "0", "--backend", "cpu", "--threads", "1", "--json"],
    };

    private static Process Start(string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        start.ArgumentList.Add(typeof(Flatness.Cli.Cli).Assembly.Location);
        foreach (string a in args) start.ArgumentList.Add(a);
        return Process.Start(start)!;
    }

    private static void Signal(Process process, string signal)
    {
        using var kill = Process.Start("/bin/kill", [signal, process.Id.ToString(CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    private static long CheckpointStep(string file) =>
        ProblemFiles.ReadArrays(file).Single(a => a.Name == "checkpoint_step").Integers![0];

    /// <summary>Waits until the checkpoint holds a step past <paramref name="after"/>; false if the process ended first.</summary>
    private static bool WaitForCheckpoint(Process process, string file, long after)
    {
        var waited = Stopwatch.StartNew();
        while (!process.HasExited && waited.Elapsed.TotalSeconds < 120)
        {
            try
            {
                if (File.Exists(file) && CheckpointStep(file) > after) return true;
            }
            catch (ProblemFileException) { } // replaced while being read: look again
            Thread.Sleep(20);
        }
        return false;
    }

    [SkippableTheory]
    [InlineData("label-noise")]
    [InlineData("penalty")]
    public void KilledAndSignalledRunsResumeToTheSameLayers(string method)
    {
        Skip.IfNot(OperatingSystem.IsLinux() && File.Exists("/bin/kill"), "needs Linux and /bin/kill to send signals");
        using var dir = new TempDir();
        string checkpoint = dir.File("run.ckpt"), plainOut = dir.File("plain.npz"), resumedOut = dir.File("resumed.npz");
        string[] args = [.. Args(method), "--checkpoint", checkpoint, "--checkpoint-every", "0.05", "--out", resumedOut];

        // SIGKILL: whatever was saved last is where the next run starts.
        using (var killed = Start(args))
        {
            Assert.True(WaitForCheckpoint(killed, checkpoint, 0), "the run ended before it saved a checkpoint");
            Thread.Sleep(150);
            Signal(killed, "-KILL");
            killed.WaitForExit();
            Assert.Equal(137, killed.ExitCode);
        }
        long first = CheckpointStep(checkpoint);

        // SIGTERM: the run saves where it stopped, reports "cancelled", keeps the checkpoint.
        using (var stopped = Start(args))
        {
            var stdout = stopped.StandardOutput.ReadToEndAsync();
            Assert.True(WaitForCheckpoint(stopped, checkpoint, first), "the resumed run did not get past the first checkpoint");
            Signal(stopped, "-TERM");
            Assert.True(stopped.WaitForExit(120_000), "the run did not stop after SIGTERM");
            Assert.Equal(0, stopped.ExitCode);
            Assert.Contains("\"stop_reason\": \"cancelled\"", stdout.Result);
            Assert.Contains($"\"resumed_at_step\": {first}", stdout.Result);
            Assert.Contains("\"checkpoint\"", stdout.Result);
        }
        long second = CheckpointStep(checkpoint);
        Assert.True(second > first, $"steps {first} then {second}");

        var (code, json, err) = CliRunner.Run(args);
        Assert.True(code == 0, err);
        Assert.Contains($"\"resumed_at_step\": {second}", json);
        Assert.False(File.Exists(checkpoint), "a finished run removes its checkpoint");

        var (plainCode, plainJson, plainErr) = CliRunner.Run([.. Args(method), "--out", plainOut]);
        Assert.True(plainCode == 0, plainErr);
        Assert.DoesNotContain("resumed_at_step", plainJson);
        var expected = ProblemFiles.ReadArrays(plainOut).Where(a => a.Name.StartsWith('W')).ToList();
        var actual = ProblemFiles.ReadArrays(resumedOut).Where(a => a.Name.StartsWith('W')).ToList();
        Assert.Equal(3, expected.Count);
        for (int j = 0; j < expected.Count; j++)
            Assert.True(expected[j].Floats!.AsSpan().SequenceEqual(actual[j].Floats), $"{expected[j].Name} differs after the resumes");
        Assert.Equal(["plain.npz", "resumed.npz"], dir.Listing()); // no temporaries of the killed writer left
    }

    [Fact]
    public void ACheckpointOfAnotherCommandIsRefusedInOneLine()
    {
        using var dir = new TempDir();
        string checkpoint = dir.File("run.ckpt");
        // A checkpoint the same problem and method wrote with another step size (stopped at step 10).
        using (var cancel = new CancellationTokenSource())
        {
            Flatness.Solver.Runs.SolveRunner.Run(new Flatness.Solver.Runs.SolveRequest
            {
                Generate = new ProblemSpec(ProblemKind.Gaussian, 4, 3, 1, 10), Method = Flatness.Solver.Runs.SolveMethod.Gd,
                LearningRate = 0.01, Steps = 50, CheckpointFile = checkpoint, Cancellation = cancel.Token,
                Progress = new Callback(p => { if (p.Step >= 10) cancel.Cancel(); }),
            });
        }
        Assert.True(File.Exists(checkpoint));
        string[] args = ["solve", "--generate", "gaussian", "--d0", "4", "--dL", "3", "--rank", "1", "--n", "10", "--method", "gd",
            "--lr", "0.02", "--steps", "50", "--json", "--checkpoint", checkpoint];
        var (code, _, err) = CliRunner.Run(args);
        Assert.Equal(2, code);
        Assert.Single(err.Trim().Split('\n'));
        Assert.Contains("run.ckpt", err);
        Assert.Contains("written by another command or version", err);
        Assert.True(File.Exists(checkpoint), "a refused checkpoint is left as it was");

        File.WriteAllText(checkpoint, "");
        var (empty, _, emptyErr) = CliRunner.Run(args);
        Assert.Equal(2, empty);
        Assert.Contains("run.ckpt", emptyErr);

        var (noFile, _, err2) = CliRunner.Run([.. args[..^2], "--checkpoint-every", "5"]);
        Assert.Equal(2, noFile);
        Assert.Contains("--checkpoint-every needs --checkpoint", err2);
        var (baseline, _, err3) = CliRunner.Run(["solve", "--generate", "gaussian", "--d0", "4", "--dL", "3", "--rank", "1", "--n", "10",
            "--method", "nuclear", "--checkpoint", checkpoint]);
        Assert.Equal(2, baseline);
        Assert.Contains("--checkpoint does not apply to method nuclear", err3);
    }

    private sealed class Callback(Action<Flatness.Solver.Optimizers.ProgressReport> report) : IProgress<Flatness.Solver.Optimizers.ProgressReport>
    {
        public void Report(Flatness.Solver.Optimizers.ProgressReport value) => report(value);
    }
}
