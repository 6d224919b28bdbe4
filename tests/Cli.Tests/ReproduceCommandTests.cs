using Flatness.Solver.Backends;
using System.Text.Json;
using Flatness.Cli;
using Flatness.Experiments;
using Spectre.Console;

namespace Flatness.Tests;

[Collection("Console")]
public sealed class ReproduceCommandTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "flatness-repro-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    private string Dir(string name) => Path.Combine(_root, name);

    private static (IAnsiConsole Console, StringWriter Text) CaptureConsole()
    {
        var writer = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(writer),
        });
        console.Profile.Width = 200;
        return (console, writer);
    }

    private static ReproduceOptions Tiny(string claims, string dir, Shard? shard = null, bool json = true) =>
        new(claims, ExperimentMode.Tiny, dir, null, Precision.F64, BackendKind.Auto, shard ?? Shard.All, 2, json);

    private static int Run(params string[] args) => CliRunner.Run(args).Code;

    [Fact]
    public void TinySweepOfEveryClaimPassesAndEqualsItsMergedShards()
    {
        var (console, text) = CaptureConsole();
        int code = ReproduceCommand.Execute(Tiny("all", Dir("all")), console);
        string output = text.ToString();
        Assert.True(code == 0, output);

        using var doc = JsonDocument.Parse(output);   // --json: exactly one JSON object on stdout
        var root = doc.RootElement;
        Assert.Equal("tiny", root.GetProperty("mode").GetString());
        Assert.True(root.GetProperty("passed").GetBoolean());
        var claims = root.GetProperty("claims").EnumerateArray().ToArray();
        Assert.Equal(ClaimCatalog.All.Select(c => c.Id), claims.Select(c => c.GetProperty("id").GetString()));
        foreach (var claim in claims)
        {
            string id = claim.GetProperty("id").GetString()!;
            Assert.True(claim.GetProperty("passed").GetBoolean(), $"{id}: {claim.GetProperty("reason").GetString()}");
            Assert.False(string.IsNullOrWhiteSpace(claim.GetProperty("title").GetString()));
            Assert.True(claim.GetProperty("cells").GetInt32() > 0);
            Assert.NotEmpty(claim.GetProperty("numbers").EnumerateObject());
            Assert.True(File.Exists(Path.Combine(Dir("all"), $"{id}.csv")));
            var figures = claim.GetProperty("figures").EnumerateArray().Select(f => f.GetString()!).ToArray();
            Assert.NotEmpty(figures);
            Assert.All(figures, f => Assert.True(new FileInfo(Path.Combine(Dir("all"), f)).Length > 1000, f));
        }
        Assert.Equal(output.Trim(), File.ReadAllText(Path.Combine(Dir("all"), SweepSummary.FileName)).Trim());

        // The same sweep in two shards, merged, gives the same CSVs and verdicts.
        for (int k = 0; k < 2; k++)
            Assert.Equal(0, ReproduceCommand.Execute(Tiny("all", Dir($"part{k}"), new Shard(k, 2)), CaptureConsole().Console));
        var (mergeConsole, mergeText) = CaptureConsole();
        Assert.Equal(0, MergeCommand.Execute([Dir("part0"), Dir("part1")], Dir("merged"), json: true, mergeConsole));
        foreach (var claim in claims.Select(c => c.GetProperty("id").GetString()))
            Assert.Equal(File.ReadAllText(Path.Combine(Dir("all"), $"{claim}.csv")), File.ReadAllText(Path.Combine(Dir("merged"), $"{claim}.csv")));
        Assert.Equal(Verdicts(output), Verdicts(mergeText.ToString()));
    }

    private static string Verdicts(string json) => string.Join("\n", JsonDocument.Parse(json).RootElement.GetProperty("claims").EnumerateArray()
        .Select(c => $"{c.GetProperty("id")} {c.GetProperty("passed")} {c.GetProperty("numbers")} {c.GetProperty("reason")} {c.GetProperty("cells")}"));

    [Fact]
    public void ShardsMergedByTheMergeCommandEqualAnUnshardedRun()
    {
        var (console, _) = CaptureConsole();
        Assert.Equal(0, ReproduceCommand.Execute(Tiny("C1", Dir("whole")), console));
        for (int k = 0; k < 3; k++)
        {
            var (shardConsole, shardText) = CaptureConsole();
            Assert.Equal(0, ReproduceCommand.Execute(Tiny("C1", Dir($"s{k}"), new Shard(k, 3)), shardConsole));
            using var progress = JsonDocument.Parse(shardText.ToString());
            Assert.False(progress.RootElement.GetProperty("complete").GetBoolean());
        }
        var (mergeConsole, mergeText) = CaptureConsole();
        Assert.Equal(0, MergeCommand.Execute([Dir("s0"), Dir("s1"), Dir("s2")], Dir("merged"), json: true, mergeConsole));

        Assert.Equal(File.ReadAllText(Path.Combine(Dir("whole"), "C1.csv")), File.ReadAllText(Path.Combine(Dir("merged"), "C1.csv")));
        Assert.Equal(Verdicts(File.ReadAllText(Path.Combine(Dir("whole"), SweepSummary.FileName))), Verdicts(mergeText.ToString()));
    }

    [Fact]
    public void RerunResumesWithoutRecomputing()
    {
        var (console, _) = CaptureConsole();
        Assert.Equal(0, ReproduceCommand.Execute(Tiny("C1", Dir("a"), json: false), console));
        var (again, text) = CaptureConsole();
        Assert.Equal(0, ReproduceCommand.Execute(Tiny("C1", Dir("a"), json: false), again));
        Assert.Contains("0 cells computed", text.ToString());
        Assert.Contains("PASS", text.ToString());
    }

    [Theory]
    [InlineData("reproduce", "--claim", "C9")]
    [InlineData("reproduce", "--shard", "3/3")]
    [InlineData("reproduce", "--shard", "x")]
    [InlineData("reproduce", "--quick", "--mode", "full")]
    [InlineData("reproduce", "--mode", "huge")]
    [InlineData("reproduce", "--backend", "abacus")]
    [InlineData("reproduce", "--precision", "f16")]
    [InlineData("reproduce", "--backend", "reference", "--precision", "f32")]
    [InlineData("merge")]
    [InlineData("merge", "/nonexistent/flatness-shard", "--out", "/tmp/x")]
    public void BadInputIsExitCodeTwo(params string[] args)
    {
        var full = args.Append("--out").Append(Path.Combine(Path.GetTempPath(), "flatness-never-" + Guid.NewGuid().ToString("N"))).ToArray();
        if (args[0] == "merge" && args.Contains("--out")) full = args;
        Assert.Equal(2, Run(full));
    }

    [Fact]
    public void MergeOfIncompleteShardsNamesTheMissingCells()
    {
        var (console, _) = CaptureConsole();
        Assert.Equal(0, ReproduceCommand.Execute(Tiny("C1", Dir("s0"), new Shard(0, 2)), console));
        var e = Assert.Throws<InvalidDataException>(() => MergeCommand.Execute([Dir("s0")], Dir("m"), json: true, console));
        Assert.Contains("cells are missing", e.Message);
        Assert.Equal(2, Run("merge", Dir("s0"), "--out", Dir("m")));
    }
}

[Collection("Console")]
public sealed class ClaimSelectionTests
{
    [Fact]
    public void AnEmptyClaimListIsAnErrorNotAll()
    {
        var (code, _, stderr) = CliRunner.Run("reproduce", "--claim", "", "--mode", "tiny", "--out", Path.Combine(Path.GetTempPath(), "flatness-none"));
        Assert.Equal(2, code);
        Assert.StartsWith("flatness: --claim '' names no claim", stderr);
        Assert.False(Directory.Exists(Path.Combine(Path.GetTempPath(), "flatness-none")));
    }
}

/// <summary>A signal stops a sweep between cells: exit 130, one line, the finished cells kept, and the same command resumes.</summary>
[Collection("Console")]
public sealed class ReproduceSignalTests
{
    [SkippableFact]
    public void SigintStopsTheSweepAndTheSameCommandResumes()
    {
        Skip.IfNot(OperatingSystem.IsLinux() && File.Exists("/bin/kill"), "needs Linux and /bin/kill to send SIGINT");
        using var dir = new TempDir();
        string output = dir.File("sweep");
        string[] args = ["reproduce", "--mode", "quick", "--claim", "C5", "--jobs", "1", "--out", output, "--json"];
        var start = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        start.ArgumentList.Add(typeof(Flatness.Cli.Cli).Assembly.Location);
        foreach (string a in args) start.ArgumentList.Add(a);
        using var process = System.Diagnostics.Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();

        string cells = Path.Combine(output, "cells");
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!(Directory.Exists(cells) && Directory.GetFiles(cells).Length >= 1) && !process.HasExited && waited.Elapsed.TotalSeconds < 120)
            Thread.Sleep(20);
        Assert.False(process.HasExited, "the sweep finished before the signal could be sent");
        using (var kill = System.Diagnostics.Process.Start("/bin/kill", ["-INT", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            kill.WaitForExit();
        Assert.True(process.WaitForExit(120_000), "the sweep did not stop after SIGINT");

        Assert.Equal(130, process.ExitCode);
        Assert.Contains("reproduce: stopped by a signal", stderr.Result);
        Assert.Single(stderr.Result.Trim().Split('\n'));
        int saved = Directory.GetFiles(cells).Length;
        Assert.InRange(saved, 1, 11); // C5 has 12 cells in quick mode
        Assert.False(File.Exists(Path.Combine(output, "summary.json")));
        _ = stdout.Result;

        var (code, json, _) = CliRunner.Run(args);
        Assert.Contains(code, new[] { 0, 1 });
        Assert.True(File.Exists(Path.Combine(output, "summary.json")));
        Assert.Equal(12, Directory.GetFiles(cells).Length);
        Assert.Contains("\"claims\"", json);
    }
}
