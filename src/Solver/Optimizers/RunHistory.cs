using Flatness.Solver.Model;

namespace Flatness.Solver.Optimizers;

/// <summary>
/// One row of a run's metric trace. NaN where a value does not apply (relative error without a known M*,
/// learning rate for L-BFGS, mu outside the penalty and weight-decay methods, lambda_max unless sharpness is tracked).
/// </summary>
public sealed record HistoryRow(long Step, double Seconds, double Loss, double Trace, double G, double Objective,
    double RelativeError, double NuclearNorm, double LearningRate, double Mu, double LambdaMax = double.NaN);

/// <summary>The metric trace of a run, in step order.</summary>
public sealed class RunHistory
{
    private readonly List<HistoryRow> _rows = [];

    /// <summary>The rows, in step order.</summary>
    public IReadOnlyList<HistoryRow> Rows => _rows;
    /// <summary>Number of rows.</summary>
    public int Count => _rows.Count;

    /// <summary>Appends a row.</summary>
    /// <exception cref="ArgumentException">a row with a smaller step than the last.</exception>
    public void Add(HistoryRow row)
    {
        if (_rows.Count > 0 && row.Step < _rows[^1].Step)
            throw new ArgumentException($"history rows must come in step order: step {row.Step} after {_rows[^1].Step}", nameof(row));
        _rows.Add(row);
    }

    /// <summary>The history whose <see cref="Columns"/> <paramref name="column"/> gives back by name.</summary>
    internal static RunHistory FromColumns(Func<string, double[]> column)
    {
        var c = new RunHistory().Columns().Select(p => column(p.Key)).ToArray();
        int rows = c[0].Length;
        if (c.Any(values => values.Length != rows)) throw new ArgumentException("history columns of different lengths");
        var history = new RunHistory();
        for (int r = 0; r < rows; r++)
            history.Add(new HistoryRow((long)c[0][r], c[1][r], c[2][r], c[3][r], c[4][r], c[5][r], c[6][r], c[7][r], c[8][r], c[9][r], c[10][r]));
        return history;
    }

    /// <summary>Column name (as stored in run files: history_step, history_loss, ...) and its values.</summary>
    public IReadOnlyList<KeyValuePair<string, double[]>> Columns() =>
    [
        new("history_step", _rows.Select(r => (double)r.Step).ToArray()),
        new("history_seconds", _rows.Select(r => r.Seconds).ToArray()),
        new("history_loss", _rows.Select(r => r.Loss).ToArray()),
        new("history_trace", _rows.Select(r => r.Trace).ToArray()),
        new("history_g", _rows.Select(r => r.G).ToArray()),
        new("history_objective", _rows.Select(r => r.Objective).ToArray()),
        new("history_relative_error", _rows.Select(r => r.RelativeError).ToArray()),
        new("history_nuclear_norm", _rows.Select(r => r.NuclearNorm).ToArray()),
        new("history_lr", _rows.Select(r => r.LearningRate).ToArray()),
        new("history_mu", _rows.Select(r => r.Mu).ToArray()),
        new("history_lambda_max", _rows.Select(r => r.LambdaMax).ToArray()),
    ];
}

/// <summary>Where a run stands, for progress displays.</summary>
public sealed record ProgressReport(string Method, long Step, long MaxSteps, double Loss, double Objective, TimeSpan Elapsed,
    string? Stage = null, bool Final = false, double LambdaMax = double.NaN);

/// <summary>Why an optimiser run stopped.</summary>
public enum StopReason
{
    /// <summary>The step budget <see cref="OptimizerOptions.MaxSteps"/> is spent.</summary>
    MaxSteps,
    /// <summary>The loss reached <see cref="OptimizerOptions.LossTolerance"/> times ||b||^2 / n.</summary>
    LossTolerance,
    /// <summary>The objective's gradient norm reached <see cref="OptimizerOptions.GradientTolerance"/>.</summary>
    GradientTolerance,
    /// <summary>One step changed the objective by at most <see cref="OptimizerOptions.ObjectiveTolerance"/> (relative).</summary>
    ObjectiveTolerance,
    /// <summary>The wall-clock limit <see cref="OptimizerOptions.TimeLimit"/> passed.</summary>
    TimeLimit,
    /// <summary>Too many back-offs: the last good iterate is returned.</summary>
    Diverged,
    /// <summary>L-BFGS found no step satisfying the Wolfe conditions (usually at the limit of float64).</summary>
    LineSearchFailed,
    /// <summary>The penalty method used all its stages without reaching the loss tolerance.</summary>
    StageLimit,
    /// <summary>The run's <see cref="OptimizerOptions.Cancellation"/> was cancelled: the last accepted iterate is returned.</summary>
    Cancelled,
}

/// <summary>The outcome of an optimiser run. The layers are always finite (the last good iterate).</summary>
public sealed class OptimizerResult
{
    /// <summary>The optimiser's name ("gd", "flat", ...).</summary>
    public required string Method { get; init; }
    /// <summary>The final layers.</summary>
    public required Factorization Layers { get; init; }
    /// <summary>The recorded metric rows.</summary>
    public required RunHistory History { get; init; }
    /// <summary>Steps taken (L-BFGS iterations for the L-BFGS methods).</summary>
    public required long Steps { get; init; }
    /// <summary>Why the run stopped.</summary>
    public required StopReason Reason { get; init; }
    /// <summary>Steps undone (non-finite or blown-up objective) or, for L-BFGS, non-finite line-search trials.</summary>
    public required int Backoffs { get; init; }
    /// <summary>Wall-clock seconds of the run.</summary>
    public required double Seconds { get; init; }
    /// <summary>Objective evaluations through the evaluator.</summary>
    public required long Evaluations { get; init; }
    /// <summary>Step size at the end (after back-offs); NaN for L-BFGS methods.</summary>
    public double FinalLearningRate { get; init; } = double.NaN;
    /// <summary>Penalty weight at the end (penalty), or the decay weight (weight decay); NaN otherwise.</summary>
    public double FinalMu { get; init; } = double.NaN;
    /// <summary>Number of penalty stages run (0 for other methods).</summary>
    public int Stages { get; init; }
}
