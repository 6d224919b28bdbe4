using Flatness.Solver.Backends;

namespace Flatness.Experiments;

/// <summary>How large a sweep is: tiny (tests), quick (minutes on a laptop), full (the sizes a paper figure needs).</summary>
public enum ExperimentMode
{
    /// <summary>A few cells per claim, seconds in all: the tests' mode.</summary>
    Tiny,
    /// <summary>Minutes on a laptop, enough for every verdict.</summary>
    Quick,
    /// <summary>The sizes and seeds the README's figures use.</summary>
    Full,
}

/// <summary>What every cell of a sweep shares. Cells with equal settings and parameters give equal results.</summary>
public sealed record SweepSettings
{
    /// <summary>Settings of a sweep in <paramref name="mode"/>; <paramref name="seeds"/> defaults to <see cref="DefaultSeeds"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">fewer than one seed.</exception>
    public SweepSettings(ExperimentMode mode, int? seeds = null, Precision precision = Precision.F64, BackendKind backend = BackendKind.Auto)
    {
        if (seeds is < 1) throw new ArgumentOutOfRangeException(nameof(seeds), $"--seeds must be at least 1, got {seeds}");
        Mode = mode;
        Seeds = seeds ?? DefaultSeeds(mode);
        Precision = precision;
        Backend = backend;
    }

    /// <summary>How large the sweep is.</summary>
    public ExperimentMode Mode { get; }
    /// <summary>Independent repetitions (seeds) per configuration.</summary>
    public int Seeds { get; }
    /// <summary>The evaluators' element type.</summary>
    public Precision Precision { get; }
    /// <summary>The evaluators' device family (auto: the selector's choice per cell).</summary>
    public BackendKind Backend { get; }
    /// <summary>The precision as sweep files spell it ("f64", "f32").</summary>
    public string PrecisionName => Precision.Name();
    /// <summary>The backend as sweep files spell it.</summary>
    public string BackendName => Backend.Name();

    /// <summary>The mode as sweep files spell it ("tiny", "quick", "full").</summary>
    public string ModeName => ModeToString(Mode);

    /// <summary>Seeds per configuration when none are given: 1, 2 and 5.</summary>
    public static int DefaultSeeds(ExperimentMode mode) => mode switch
    {
        ExperimentMode.Tiny => 1,
        ExperimentMode.Quick => 2,
        _ => 5,
    };

    /// <summary>"tiny", "quick" or "full".</summary>
    public static string ModeToString(ExperimentMode mode) => mode.ToString().ToLowerInvariant();

    /// <summary>The mode named "tiny", "quick" or "full" (any case).</summary>
    /// <exception cref="ArgumentException">another name.</exception>
    public static ExperimentMode ParseMode(string text) => text.ToLowerInvariant() switch
    {
        "tiny" => ExperimentMode.Tiny,
        "quick" => ExperimentMode.Quick,
        "full" => ExperimentMode.Full,
        _ => throw new ArgumentException($"unknown sweep mode '{text}' (expected tiny, quick or full)"),
    };

    /// <summary>Picks the value for the current mode.</summary>
    public T Pick<T>(T tiny, T quick, T full) => Mode switch
    {
        ExperimentMode.Tiny => tiny,
        ExperimentMode.Quick => quick,
        _ => full,
    };
}

/// <summary>Part <see cref="Index"/> (0-based) of <see cref="Count"/>: cell i belongs to part i mod Count.</summary>
public readonly record struct Shard
{
    /// <summary>Part <paramref name="index"/> of <paramref name="count"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">count below 1, or index outside [0, count).</exception>
    public Shard(int index, int count)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), $"a sweep has at least one shard, got {count}");
        if (index < 0 || index >= count)
            throw new ArgumentOutOfRangeException(nameof(index), $"shard index {index} is outside [0, {count})");
        Index = index;
        Count = count;
    }

    /// <summary>Which part, from 0.</summary>
    public int Index { get; }
    /// <summary>How many parts the sweep is split into.</summary>
    public int Count { get; }

    /// <summary>The whole sweep as one part.</summary>
    public static Shard All => new(0, 1);
    /// <summary>Whether this part is the whole sweep.</summary>
    public bool IsAll => Count == 1;

    /// <summary>Whether cell <paramref name="cellIndex"/> belongs to this part.</summary>
    public bool Owns(int cellIndex) => cellIndex % Count == Index;

    /// <summary>Parses "k/N" with 0 &lt;= k &lt; N (the convention of Slurm array indices from 0 and Kubernetes completion indices).</summary>
    public static Shard Parse(string text)
    {
        var parts = text.Split('/');
        if (parts.Length != 2 || !int.TryParse(parts[0], out int k) || !int.TryParse(parts[1], out int n))
            throw new FormatException($"--shard expects k/N (for example 0/4), got '{text}'");
        if (n < 1) throw new ArgumentException($"--shard {text}: N must be at least 1");
        if (k < 0 || k >= n) throw new ArgumentException($"--shard {text}: k must lie in 0..{n - 1} (shards count from 0)");
        return new Shard(k, n);
    }

    /// <summary>"k/N", as <see cref="Parse"/> reads it.</summary>
    public override string ToString() => $"{Index}/{Count}";
}
