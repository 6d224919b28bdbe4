using System.Text.Json;
using Flatness.Experiments;

namespace Flatness.Tests;

/// <summary>A cheap claim for testing the sweep machinery: counts its runs and can fail on a chosen cell.</summary>
internal sealed class CountingClaim(string id, int configurations = 5) : Claim
{
    private int _runs;
    public int Runs => _runs;
    public string? FailOn { get; set; }

    public override string Id => id;
    public override string Title => "counting claim " + id;

    private protected override IEnumerable<ResultRow> Configurations(SweepSettings settings)
    {
        for (int x = 1; x <= configurations; x++) yield return new ResultRow().Set("x", x).Set("kind", x % 2 == 0 ? "even" : "odd");
    }

    internal override IReadOnlyList<ResultRow> Run(SweepCell cell, ExperimentContext context)
    {
        Interlocked.Increment(ref _runs);
        if (cell.Key == FailOn) throw new InvalidOperationException("planned failure");
        var rng = new Random(cell.Seed);
        double x = cell.Parameters.Number("x");
        return [new ResultRow().Set("y", x * x + rng.NextDouble()), new ResultRow().Set("y", -x).Set("note", "a, \"quoted\" text")];
    }

    internal override ClaimVerdict Judge(IReadOnlyList<ResultRow> rows, SweepSettings settings)
    {
        double max = rows.Max(r => r.Number("y"));
        return new VerdictBuilder().Number("max_y", max).Number("rows", rows.Count)
            .Check(max > 0, $"max y = {VerdictBuilder.F(max)} > 0").Build();
    }

    internal override IReadOnlyList<string> Plot(IReadOnlyList<ResultRow> rows, string directory, SweepSettings settings)
    {
        var pos = rows.Where(r => r.Number("y") > 0).ToArray();
        return [new Chart($"{Id} test", "x", "y", logY: true)
            .Series("y", pos.Select(r => r.Number("x")).ToArray(), pos.Select(r => r.Number("y")).ToArray())
            .Save(directory, $"{Id}-y.png", 300, 200)];
    }
}

public sealed class ExperimentFrameworkTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "flatness-exp-" + Guid.NewGuid().ToString("N"));
    private static readonly SweepSettings Settings = new(ExperimentMode.Tiny, seeds: 2);

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    private string Dir(string name) => Path.Combine(_root, name);

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(7)]
    public void ShardsPartitionTheCells(int shards)
    {
        var runner = new SweepRunner([new CountingClaim("T1"), new CountingClaim("T2", 4)], Settings);
        Assert.Equal(18, runner.Cells.Count);
        var seen = new List<int>();
        for (int k = 0; k < shards; k++) seen.AddRange(runner.CellsOf(new Shard(k, shards)).Select(c => c.Index));
        Assert.Equal(runner.Cells.Select(c => c.Index).Order(), seen.Order());   // union = all, and no cell twice
        Assert.Equal(seen.Count, seen.Distinct().Count());
    }

    [Fact]
    public void CellOrderAndSeedsDoNotDependOnTheOrderClaimsAreGiven()
    {
        var a = new SweepRunner([new CountingClaim("T1"), new CountingClaim("T2")], Settings).Cells;
        var b = new SweepRunner([new CountingClaim("T2"), new CountingClaim("T1")], Settings).Cells;
        Assert.Equal(a.Select(c => (c.Index, c.Key, c.Seed)), b.Select(c => (c.Index, c.Key, c.Seed)));
        Assert.Equal("T1_x-1_kind-odd_seed-0", a[0].Key);
        Assert.Equal(SweepCell.StableSeed("T1_x-1_kind-odd_seed-0"), a[0].Seed);
        Assert.Equal(a.Count, a.Select(c => c.Seed).Distinct().Count());
    }

    [Theory]
    [InlineData("0/1", 0, 1)]
    [InlineData("3/4", 3, 4)]
    public void ShardParses(string text, int k, int n) => Assert.Equal(new Shard(k, n), Shard.Parse(text));

    [Theory]
    [InlineData("4/4")]
    [InlineData("-1/4")]
    [InlineData("1/0")]
    [InlineData("1")]
    [InlineData("a/b")]
    public void BadShardIsRejected(string text) =>
        Assert.ThrowsAny<Exception>(() => Shard.Parse(text)).GetType().IsAssignableTo(typeof(ArgumentException));

    [Fact]
    public void RerunSkipsFinishedCells()
    {
        var claim = new CountingClaim("T1");
        var runner = new SweepRunner([claim], Settings);
        var first = runner.Run(Dir("a"), Shard.All);
        Assert.Equal(10, claim.Runs);
        Assert.Equal((10, 0, 0), (first.Computed, first.Skipped, first.MissingCells));
        Assert.NotNull(first.Summary);

        var second = runner.Run(Dir("a"), Shard.All);
        Assert.Equal(10, claim.Runs);   // no cell evaluated again
        Assert.Equal((0, 10), (second.Computed, second.Skipped));
        Assert.Equal(File.ReadAllText(Path.Combine(Dir("a"), "T1.csv")), Csv.Format(
            new CellStore(Dir("a")).ReadAll().OrderBy(c => runner.Cells.First(x => x.Key == c.Key).Index).SelectMany(c => c.FullRows).ToArray()));
    }

    [Fact]
    public void InterruptedSweepKeepsWholeCellsAndResumes()
    {
        var claim = new CountingClaim("T1");
        var runner = new SweepRunner([claim], Settings);
        claim.FailOn = runner.Cells[4].Key;
        var e = Assert.Throws<ExperimentException>(() => runner.Run(Dir("a"), Shard.All, parallelism: 1));
        Assert.Contains(runner.Cells[4].Key, e.Message);

        var files = Directory.GetFiles(Path.Combine(Dir("a"), CellStore.CellsFolder));
        Assert.Equal(4, files.Length);                       // the cells before the failure, nothing else
        Assert.All(files, f => Assert.False(CellStore.IsTemporary(f)));
        Assert.All(files, f => Assert.Equal(2, CellStore.Read(f).Rows.Count));
        Assert.False(File.Exists(Path.Combine(Dir("a"), SweepSummary.FileName)));

        claim.FailOn = null;
        int before = claim.Runs;
        var resumed = runner.Run(Dir("a"), Shard.All, parallelism: 2);
        Assert.Equal(6, claim.Runs - before);                // only the unfinished cells
        Assert.Equal((6, 4), (resumed.Computed, resumed.Skipped));

        new SweepRunner([new CountingClaim("T1")], Settings).Run(Dir("b"), Shard.All);
        AssertSameOutputs(Dir("b"), Dir("a"), "T1");
    }

    [Fact]
    public void AtomicWritesNeverShowAPartialFile()
    {
        string path = Path.Combine(Dir("atomic"), "value.txt");
        var versions = Enumerable.Range(0, 4).Select(v => new string((char)('a' + v), 50_000)).ToArray();
        CellStore.WriteAtomically(path, versions[0]);
        using var stop = new CancellationTokenSource();
        var writer = new Thread(() =>
        {
            for (int i = 0; i < 30; i++) CellStore.WriteAtomically(path, versions[i % versions.Length]);
            stop.Cancel();
        });
        writer.Start();
        int reads = 0;
        while (!stop.IsCancellationRequested || reads == 0)
        {
            string text = File.ReadAllText(path);
            Assert.Contains(text, versions);
            reads++;
        }
        writer.Join();
        Assert.Single(Directory.GetFiles(Dir("atomic")));   // no temporary left behind
    }

    [Fact]
    public async Task MergedShardsEqualAnUnshardedRun()
    {
        new SweepRunner([new CountingClaim("T1"), new CountingClaim("T2", 3)], Settings).Run(Dir("whole"), Shard.All);

        var shardDirs = new List<string>();
        for (int k = 0; k < 3; k++)
        {
            var result = new SweepRunner([new CountingClaim("T1"), new CountingClaim("T2", 3)], Settings)
                .Run(Dir($"shard{k}"), new Shard(k, 3));
            Assert.False(result.Complete);
            Assert.Null(result.Summary);
            shardDirs.Add(Dir($"shard{k}"));
        }
        var available = new Claim[] { new CountingClaim("T1"), new CountingClaim("T2", 3) };
        var missing = Assert.Throws<InvalidDataException>(() => SweepMerge.Merge(shardDirs.Take(2).ToArray(), Dir("partial"), available));
        Assert.Contains("missing", missing.Message);

        var merged = SweepMerge.Merge(shardDirs, Dir("merged"), available);
        Assert.Equal(16, merged.CellsCopied);
        AssertSameOutputs(Dir("whole"), Dir("merged"), "T1", "T2");

        // The output is written under its lock: while another run holds it, the merge waits.
        var held = new CellStore(Dir("held")).Lock();
        var merging = Task.Run(() => SweepMerge.Merge(shardDirs, Dir("held"), available));
        await Task.Delay(400);
        Assert.False(merging.IsCompleted);
        Assert.False(File.Exists(Path.Combine(Dir("held"), "summary.json")));
        held.Dispose();
        Assert.Equal(16, (await merging).CellsCopied);
        AssertSameOutputs(Dir("whole"), Dir("held"), "T1", "T2");
    }

    [Fact]
    public void ShardsSharingADirectoryFinishTheSweep()
    {
        SweepRunResult? last = null;
        for (int k = 0; k < 3; k++)
            last = new SweepRunner([new CountingClaim("T1")], Settings).Run(Dir("shared"), new Shard(k, 3));
        Assert.True(last!.Complete);
        Assert.NotNull(last.Summary);
        new SweepRunner([new CountingClaim("T1")], Settings).Run(Dir("whole"), Shard.All);
        AssertSameOutputs(Dir("whole"), Dir("shared"), "T1");
    }

    [Fact]
    public void RunningSomeClaimsIntoADirectoryReportsAllItsClaims()
    {
        var available = new Claim[] { new CountingClaim("T1"), new CountingClaim("T2", 3) };
        new SweepRunner(available, Settings).Run(Dir("a"), Shard.All);
        var t2 = new CountingClaim("T2", 3);
        var again = new SweepRunner([t2], Settings, available: available).Run(Dir("a"), Shard.All);
        Assert.Equal(0, t2.Runs);
        Assert.Equal(["T1", "T2"], again.Summary!.Claims.Select(c => c.Id));
        Assert.Equal(16, again.TotalCells);

        // A claim added to a finished directory: the summary waits until its cells are there, then covers both.
        var partial = new SweepRunner([new CountingClaim("T3", 2)], Settings, available: available).Run(Dir("b"), new Shard(0, 2));
        Assert.Null(partial.Summary);
    }

    [Fact]
    public void ADirectoryHoldsOneKindOfSweep()
    {
        new SweepRunner([new CountingClaim("T1")], Settings).Run(Dir("a"), Shard.All);
        var other = new SweepRunner([new CountingClaim("T1")], new SweepSettings(ExperimentMode.Quick, seeds: 2));
        var e = Assert.Throws<InvalidDataException>(() => other.Run(Dir("a"), Shard.All));
        Assert.Contains("mode tiny", e.Message);
    }

    [Fact]
    public void SummaryHasTheDocumentedStructure()
    {
        new SweepRunner([new CountingClaim("T1")], Settings).Run(Dir("a"), Shard.All);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir("a"), SweepSummary.FileName)));
        var root = doc.RootElement;
        Assert.Equal("tiny", root.GetProperty("mode").GetString());
        Assert.Equal(2, root.GetProperty("seeds").GetInt32());
        var claim = Assert.Single(root.GetProperty("claims").EnumerateArray());
        Assert.Equal("T1", claim.GetProperty("id").GetString());
        Assert.True(claim.GetProperty("passed").GetBoolean());
        Assert.Equal(10, claim.GetProperty("cells").GetInt32());
        Assert.Equal(20, claim.GetProperty("numbers").GetProperty("rows").GetDouble());
        var png = Path.Combine(Dir("a"), claim.GetProperty("figures")[0].GetString()!);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, File.ReadAllBytes(png)[..4]);
        var csv = File.ReadAllLines(Path.Combine(Dir("a"), "T1.csv"));
        Assert.Equal("x,kind,seed,y,note", csv[0]);
        Assert.Equal(21, csv.Length);
        Assert.EndsWith(",\"a, \"\"quoted\"\" text\"", csv[2]);
    }

    [Fact]
    public void RowsRoundTripThroughJson()
    {
        var row = new ResultRow().Set("a", 0.1).Set("b", double.NaN).Set("c", "text").Set("d", double.NegativeInfinity).Set("e", 1e-300);
        var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer)) row.WriteJson(w);
        var back = ResultRow.ReadJson(JsonDocument.Parse(buffer.ToArray()).RootElement);
        Assert.Equal(row.ToString(), back.ToString());
        Assert.Equal(0.1, back.Number("a"));
        Assert.True(double.IsNaN(back.Number("b")));
        Assert.Equal("text", back.Text("c"));
        Assert.Throws<InvalidOperationException>(() => back.Number("c"));
        Assert.Throws<KeyNotFoundException>(() => back.Number("zz"));
    }

    [Fact]
    public void FailedChecksSayWhy()
    {
        var v = new VerdictBuilder().Number("err", 0.5).Check(true, "a holds").Check(false, "err = 0.5 < 1e-6").Build();
        Assert.False(v.Passed);
        Assert.StartsWith("FAILED: err = 0.5 < 1e-6", v.Reason);
        Assert.Contains("a holds", v.Reason);
    }

    private static void AssertSameOutputs(string expectedDir, string actualDir, params string[] claims)
    {
        foreach (var id in claims)
            Assert.Equal(File.ReadAllText(Path.Combine(expectedDir, id + ".csv")), File.ReadAllText(Path.Combine(actualDir, id + ".csv")));
        var expected = SweepSummary.Read(Path.Combine(expectedDir, SweepSummary.FileName));
        var actual = SweepSummary.Read(Path.Combine(actualDir, SweepSummary.FileName));
        // Everything but the timings is identical.
        Assert.Equal(expected.Claims.Select(c => c with { Seconds = 0 }).Select(Describe), actual.Claims.Select(c => c with { Seconds = 0 }).Select(Describe));
        Assert.Equal((expected.Mode, expected.Seeds, expected.Precision), (actual.Mode, actual.Seeds, actual.Precision));
    }

    private static string Describe(ClaimSummary c) =>
        $"{c.Id}|{c.Title}|{c.Passed}|{string.Join(";", c.Numbers.Select(n => $"{n.Key}={n.Value:R}"))}|{c.Reason}|{c.Headline}|{c.Cells}|{c.Rows}|{c.Csv}|{string.Join(";", c.Figures)}";
}

public sealed class SweepSafetyTests
{
    [Fact]
    public void CellsFromOtherSettingsAreRefusedOrRecomputedNeverMixed()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"flatness-sweep-{Guid.NewGuid():N}");
        try
        {
            var settings = new SweepSettings(ExperimentMode.Tiny);
            var claims = new[] { ClaimCatalog.Resolve("C8")[0] };
            var first = new SweepRunner(claims, settings).Run(dir, Shard.All);
            Assert.NotNull(first.Summary);
            var store = new CellStore(dir);
            var cell = store.ReadAll().First();
            Assert.Equal(CellResult.SettingsOf(settings), cell.Settings);
            Assert.False(string.IsNullOrEmpty(cell.Version));
            // A cell that records other settings (left by another kind of sweep) is refused by name ...
            store.Write(cell with { Settings = "mode quick, 2 seeds, f64" });
            var e = Assert.Throws<InvalidDataException>(() => new SweepRunner(claims, settings).Run(dir, Shard.All));
            Assert.Contains(cell.Key, e.Message);
            Assert.Contains("--force", e.Message);
            // ... and recomputed with force.
            var forced = new SweepRunner(claims, settings).Run(dir, Shard.All, force: true);
            Assert.Equal(1, forced.Computed);
            Assert.Equal(CellResult.SettingsOf(settings), store.TryRead(cell.Key)!.Settings);
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void ASecondWriterIsRefusedNamingTheHolder()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"flatness-lock-{Guid.NewGuid():N}");
        try
        {
            var store = new CellStore(dir);
            using (store.Lock())
            {
                // Another handle of the same process stands in for another run (FileShare.None locks it out).
                var e = Assert.Throws<IOException>(() => new CellStore(dir).Lock(TimeSpan.FromMilliseconds(200)));
                Assert.Contains("held by another run (pid", e.Message);
            }
            using (new CellStore(dir).Lock()) { } // released: the next writer gets it
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }
}
