using System.Diagnostics;
using Flatness.Solver.Backends;
using Flatness.Solver.Problems;

namespace Flatness.Experiments;

/// <summary>What a progress report of a sweep says happened.</summary>
public enum SweepEvent
{
    /// <summary>A claim's cells of this shard are about to run (<see cref="SweepProgress.Done"/> of them were already finished).</summary>
    ClaimStarted,
    /// <summary>One cell finished, in <see cref="SweepProgress.CellSeconds"/>.</summary>
    CellFinished,
    /// <summary>Every cell of the claim in this shard is done.</summary>
    ClaimFinished,
}

/// <summary>
/// Where a sweep stands, told through an <see cref="IProgress{T}"/>: once when a claim starts, once per finished cell
/// (possibly from several threads at once), once when the claim ends.
/// </summary>
/// <param name="Owned">Cells of the claim that belong to this shard.</param>
/// <param name="Done">Of those, the ones finished so far (including those found finished at the start).</param>
/// <param name="CellSeconds">Seconds of the cell just finished; 0 for the other events.</param>
public sealed record SweepProgress(SweepEvent Event, string ClaimId, string ClaimTitle, int Owned, int Done, double CellSeconds = 0);

/// <summary>What one run of a (sharded) sweep did.</summary>
/// <param name="TotalCells">Cells of every claim recorded in the directory.</param>
/// <param name="MissingCells">Of those, the ones not finished yet (other shards, other claims).</param>
public sealed record SweepRunResult(
    int TotalCells, int OwnedCells, int Computed, int Skipped, int MissingCells, SweepSummary? Summary)
{
    /// <summary>Whether every cell of the sweep is in the directory (the summary was then written).</summary>
    public bool Complete => MissingCells == 0;
}

/// <summary>
/// Runs the cells of a set of claims into a sweep directory: only this shard's cells (index mod N), skipping cells
/// already finished, each result written atomically as it completes. When every cell of the sweep is present
/// (a single shard, or the last of several sharing the directory) it writes the summary, CSVs and figures.
/// </summary>
public sealed class SweepRunner
{
    private readonly Func<SensingProblem, IReadOnlyList<int>, IEvaluator>? _createEvaluator;
    private readonly IReadOnlyList<Claim> _available;

    /// <param name="available">Claims that a directory's sweep.json may name besides these (default: the catalog).</param>
    public SweepRunner(IEnumerable<Claim> claims, SweepSettings settings, Func<SensingProblem, IReadOnlyList<int>, IEvaluator>? createEvaluator = null,
        IReadOnlyList<Claim>? available = null)
    {
        _available = available ?? ClaimCatalog.All;
        Claims = claims.DistinctBy(c => c.Id).OrderBy(c => c.Id, StringComparer.Ordinal).ToArray();
        if (Claims.Count == 0) throw new ArgumentException("a sweep needs at least one claim", nameof(claims));
        Settings = settings;
        _createEvaluator = createEvaluator;
        Cells = EnumerateCells(Claims, settings);
    }

    /// <summary>Claims in id order: the order that fixes cell indices, whatever order they were asked for in.</summary>
    public IReadOnlyList<Claim> Claims { get; }
    /// <summary>What every cell of the sweep shares.</summary>
    public SweepSettings Settings { get; }
    /// <summary>Every cell of the sweep, claim by claim, with global indices.</summary>
    internal IReadOnlyList<SweepCell> Cells { get; }

    internal static IReadOnlyList<SweepCell> EnumerateCells(IReadOnlyList<Claim> claims, SweepSettings settings)
    {
        var all = new List<SweepCell>();
        foreach (var claim in claims) all.AddRange(claim.Cells(settings, all.Count));
        return all;
    }

    /// <summary>The cells that <paramref name="shard"/> owns.</summary>
    internal IReadOnlyList<SweepCell> CellsOf(Shard shard) => Cells.Where(c => shard.Owns(c.Index)).ToArray();

    /// <param name="force">Recompute cells recorded with other settings instead of refusing to mix them in.</param>
    public SweepRunResult Run(string directory, Shard shard, int parallelism = 1, IProgress<SweepProgress>? progress = null,
        CancellationToken cancellation = default, bool force = false)
    {
        if (parallelism < 1) throw new ArgumentOutOfRangeException(nameof(parallelism), $"parallelism must be at least 1, got {parallelism}");
        var store = new CellStore(directory);
        using (store.Lock()) store.PrepareManifest(Settings, Claims.Select(c => c.Id));
        var context = new ExperimentContext(Settings, _createEvaluator, cancellation);

        int computed = 0, skipped = 0, owned = 0;
        foreach (var claim in Claims)
        {
            var mine = Cells.Where(c => c.Claim == claim.Id && shard.Owns(c.Index)).ToArray();
            var todo = mine.Where(c => !store.Has(c.Key) || !Matches(store.TryRead(c.Key)!, force, store)).ToArray();
            owned += mine.Length;
            skipped += mine.Length - todo.Length;
            int done = mine.Length - todo.Length;
            progress?.Report(new SweepProgress(SweepEvent.ClaimStarted, claim.Id, claim.Title, mine.Length, done));
            var options = new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = cancellation };
            try
            {
                Parallel.ForEach(todo, options, cell =>
                {
                    var result = RunCell(claim, cell, context);
                    store.Write(result);
                    Interlocked.Increment(ref computed);
                    progress?.Report(new SweepProgress(SweepEvent.CellFinished, claim.Id, claim.Title, mine.Length,
                        Interlocked.Increment(ref done), result.Seconds));
                });
            }
            catch (AggregateException e) when (e.InnerExceptions.Count >= 1)
            {
                // Cells finished before the failure are on disk; rethrow the first cause as is.
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
            }
            progress?.Report(new SweepProgress(SweepEvent.ClaimFinished, claim.Id, claim.Title, mine.Length, done));
        }

        // The directory's summary covers every claim recorded in its sweep.json (a run of some claims into a directory
        // that holds more reports them all), in the order of a run of exactly those claims.
        var recorded = store.ReadManifest()!.Claims
            .Select(id => Claims.FirstOrDefault(c => c.Id == id) ?? _available.FirstOrDefault(c => c.Id == id)
                ?? throw new InvalidDataException($"{store.Directory}/{CellStore.ManifestName} lists claim '{id}', which this program does not know"))
            .ToArray();
        var all = EnumerateCells(recorded, Settings);
        int missing = all.Count(c => !store.Has(c.Key));
        SweepSummary? summary = null;
        if (missing == 0)
            using (store.Lock())
            {
                var results = all.Select(c => store.TryRead(c.Key)!).ToArray();
                foreach (var r in results) Matches(r, force: false, store);
                summary = SweepReport.Write(store.Directory, recorded, Settings, results);
            }
        return new SweepRunResult(all.Count, owned, computed, skipped, missing, summary);
    }

    /// <summary>
    /// Whether a stored cell was computed with this sweep's settings; a mismatch is refused (an error naming the cell)
    /// unless <paramref name="force"/> asks to recompute it.
    /// </summary>
    private bool Matches(CellResult cell, bool force, CellStore store)
    {
        string expected = CellResult.SettingsOf(Settings);
        if (cell.Settings == expected) return true;
        if (force) return false;
        string recorded = cell.Settings.Length == 0 ? "no settings (an older version)" : cell.Settings;
        throw new InvalidDataException($"{store.CellPath(cell.Key)} was computed with {recorded}, this sweep is {expected}: " +
                                       "use another --out directory, or --force to recompute such cells");
    }

    /// <summary>Runs one cell; failures name the cell so that it can be rerun alone.</summary>
    internal static CellResult RunCell(Claim claim, SweepCell cell, ExperimentContext context)
    {
        var clock = Stopwatch.StartNew();
        IReadOnlyList<ResultRow> rows;
        try
        {
            rows = claim.Run(cell, context);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new ExperimentException($"cell {cell.Key} failed: {e.Message}", e);
        }
        if (rows.Count == 0) throw new ExperimentException($"cell {cell.Key} measured nothing");
        return new CellResult(claim.Id, cell.Key, cell.Parameters, rows, clock.Elapsed.TotalSeconds, context.Settings.BackendName,
            CellResult.SettingsOf(context.Settings), CellResult.CurrentVersion);
    }
}

/// <summary>An experiment cell failed; the message names the cell.</summary>
public sealed class ExperimentException(string message, Exception? inner = null) : Exception(message, inner);
