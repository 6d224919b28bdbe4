using System.Globalization;

namespace Flatness.Experiments;

/// <summary>
/// One claim of the paper as an experiment: a grid of cells, a function cell -&gt; measured rows, a verdict over
/// all rows, and figures. Subclasses hold the experiment; the sweep machinery (sharding, resume, files) is shared.
/// </summary>
public abstract class Claim
{
    /// <summary>"C1".."C6".</summary>
    public abstract string Id { get; }
    /// <summary>What the claim says, in a few words.</summary>
    public abstract string Title { get; }

    /// <summary>The configurations of the grid, one parameter row each, without the replicate seed.</summary>
    private protected abstract IEnumerable<ResultRow> Configurations(SweepSettings settings);

    /// <summary>How many independent replicates each configuration gets; by default the sweep's seed count.</summary>
    private protected virtual int Replicates(SweepSettings settings) => settings.Seeds;

    /// <summary>The measured rows of one cell; cell parameters are prepended by the runner.</summary>
    internal abstract IReadOnlyList<ResultRow> Run(SweepCell cell, ExperimentContext context);

    /// <summary>The verdict from all rows (each carries its cell's parameters).</summary>
    internal abstract ClaimVerdict Judge(IReadOnlyList<ResultRow> rows, SweepSettings settings);

    /// <summary>Writes the figures into <paramref name="directory"/> and returns their file names.</summary>
    internal abstract IReadOnlyList<string> Plot(IReadOnlyList<ResultRow> rows, string directory, SweepSettings settings);

    /// <summary>Configurations times replicates, in a fixed order; indices start at <paramref name="firstIndex"/>.</summary>
    internal IReadOnlyList<SweepCell> Cells(SweepSettings settings, int firstIndex = 0)
    {
        var cells = new List<SweepCell>();
        int replicates = Replicates(settings);
        foreach (var configuration in Configurations(settings))
            for (int s = 0; s < replicates; s++)
                cells.Add(new SweepCell(Id, firstIndex + cells.Count, configuration.Concat(new ResultRow().Set("seed", s))));
        var duplicate = cells.GroupBy(c => c.Key).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new InvalidOperationException($"claim {Id} lists cell {duplicate.Key} twice");
        return cells;
    }

    /// <summary>"C1 title".</summary>
    public override string ToString() => $"{Id} {Title}";
}

/// <summary>
/// A claim's verdict: whether every check passed, the numbers it rests on, in words why (every check with its
/// numbers), and a one-line headline of the key numbers for tables.
/// </summary>
public sealed record ClaimVerdict(bool Passed, IReadOnlyList<KeyValuePair<string, double>> Numbers, string Reason, string Headline);

/// <summary>
/// Collects the numbers and the checks of a verdict. Every check is stated with the numbers it compares, so a
/// failed verdict says what failed and by how much.
/// </summary>
internal sealed class VerdictBuilder
{
    private readonly List<KeyValuePair<string, double>> _numbers = [];
    private readonly List<string> _passed = [];
    private readonly List<string> _failed = [];
    private string? _headline;

    public VerdictBuilder Number(string name, double value)
    {
        _numbers.Add(new(name, value));
        return this;
    }

    /// <summary>The numbers recorded so far, in order.</summary>
    public IReadOnlyList<KeyValuePair<string, double>> Numbers => _numbers;

    /// <summary>The key numbers in one line (for the final table).</summary>
    public VerdictBuilder Headline(string text)
    {
        _headline = text;
        return this;
    }

    /// <summary>Records a check; <paramref name="statement"/> describes what is required, with numbers.</summary>
    public VerdictBuilder Check(bool holds, string statement)
    {
        (holds ? _passed : _failed).Add(statement);
        return this;
    }

    public ClaimVerdict Build()
    {
        if (_passed.Count + _failed.Count == 0)
            throw new InvalidOperationException("a verdict needs at least one check");
        string reason = _failed.Count > 0
            ? "FAILED: " + string.Join("; ", _failed) + (_passed.Count > 0 ? ". Held: " + string.Join("; ", _passed) : "")
            : string.Join("; ", _passed);
        return new ClaimVerdict(_failed.Count == 0, _numbers.ToArray(), reason, _headline ?? reason);
    }

    /// <summary>Compact number formatting for verdict statements.</summary>
    public static string F(double v) => v.ToString(Math.Abs(v) is > 1e-3 and < 1e4 || v == 0 ? "0.####" : "0.##e+0", CultureInfo.InvariantCulture);
}
