using Flatness.Solver.Metrics;
using System.Diagnostics;
using Flatness.Kernels.Tensors;
using Flatness.Solver.Backends;
using Flatness.Solver.Curvature;


namespace Flatness.Solver.Optimizers;

/// <summary>The clock, history, progress reports, loss target and checkpoints of one optimiser run.</summary>
internal sealed class RunTracker
{
    private readonly OptimizerOptions _options;
    private readonly IEvaluator _evaluator;
    private readonly long _reportEvery;
    private long _lastRecorded = -1;
    private long _lastReported = long.MinValue / 2;

    public RunTracker(string method, IEvaluator evaluator, OptimizerOptions options)
    {
        Method = method;
        _evaluator = evaluator;
        _options = options;
        NullLoss = RunMetrics.NullLoss(evaluator.Problem);
        _reportEvery = Math.Max(1, options.MaxSteps / 200);
        _clock = Stopwatch.StartNew();
        if (options.ResumeFrom is { } saved) Restore(saved);
        _nextSave = Later(Elapsed, options.Checkpoints?.Every ?? TimeSpan.Zero);
    }

    private readonly Stopwatch _clock;
    /// <summary>Time the run had spent before it was resumed.</summary>
    private TimeSpan _before;
    private TimeSpan _nextSave;
    private bool _savedAtInterruption;

    public string Method { get; }
    /// <summary>Wall-clock time of the run, including its time before a resume.</summary>
    public TimeSpan Elapsed => _before + _clock.Elapsed;
    public RunHistory History { get; private set; } = new();
    /// <summary>||b||^2 / n.</summary>
    public double NullLoss { get; }
    /// <summary>Evaluator calls made for the history (not part of the optimisation).</summary>
    public long HistoryEvaluations { get; private set; }

    /// <summary>
    /// Why the run must stop now whatever its progress (cancelled, or out of time), or null: as <see cref="BeginStep"/>
    /// found it at the start of this step, so that the step's save and its stop test see the same answer.
    /// </summary>
    public StopReason? Interruption { get; private set; }

    private StopReason? PollInterruption() =>
        _options.Cancellation.IsCancellationRequested ? StopReason.Cancelled
        : _options.TimeLimit is { } limit && Elapsed >= limit ? StopReason.TimeLimit
        : null;

    /// <summary>Whether the loss target (relative to ||b||^2 / n) is met.</summary>
    public bool LossReached(double loss, double relativeTolerance)
    {
        if (!(relativeTolerance > 0)) return false;
        return NullLoss > 0 ? loss <= relativeTolerance * NullLoss : loss <= relativeTolerance;
    }

    public bool LossReached(double loss) => LossReached(loss, _options.LossTolerance);

    public bool HistoryDue(long step) =>
        (_options.HistoryEvery > 0 && step % _options.HistoryEvery == 0) || (_options.TrackSharpness > 0 && step % _options.TrackSharpness == 0);

    /// <summary>Sharpness is recorded every TrackSharpness steps (step 0 included) and at the last row.</summary>
    private bool TrackedAt(long step, bool final) => _options.TrackSharpness > 0 && (final || step % _options.TrackSharpness == 0);

    /// <summary>The last tracked sharpness and its eigenvector (the next Lanczos run starts from it).</summary>
    private double _lambdaMax = double.NaN;
    private double[]? _topVector;

    /// <summary>lambda_max at <paramref name="layers"/>, converged to 1e-8 relative, warm-started; NaN when it overflowed.</summary>
    private double Sharpness(IReadOnlyList<Matrix<double>> layers)
    {
        try
        {
            var result = Lanczos.Extremes(new HessianOperator(_evaluator, layers), 1, tolerance: 1e-8, start: _topVector, lowest: false);
            _topVector = result.TopVectors[0];
            return result.LambdaMax;
        }
        catch (NumericalOverflowException)
        {
            _topVector = null;
            return double.NaN;
        }
    }

    /// <summary>
    /// Adds a history row at <paramref name="step"/> (once per step), with the metrics of <see cref="RunMetrics.AtLayers"/>
    /// and the optimiser's own objective, step size and penalty weight.
    /// </summary>
    /// <param name="final">The run's last row: sharpness is tracked there too, whatever the interval.</param>
    public void Record(long step, IReadOnlyList<Matrix<double>> layers, double objective, double learningRate, double mu, bool final = false)
    {
        if ((_options.HistoryEvery <= 0 && _options.TrackSharpness <= 0) || step == _lastRecorded) return;
        _lastRecorded = step;
        HistoryEvaluations++;
        var m = RunMetrics.AtLayers(_evaluator, layers);
        History.Add(new HistoryRow(step, Elapsed.TotalSeconds, m.Loss, m.HessianTrace, m.FlatnessG, objective,
            m.RelativeError ?? double.NaN, m.NuclearNorm, learningRate, mu, TrackedAt(step, final) ? _lambdaMax = Sharpness(layers) : double.NaN));
    }

    /// <summary>Reports progress every ~0.5% of the step budget (and always when <paramref name="final"/>).</summary>
    public void Report(long step, double loss, double objective, string? stage = null, bool final = false)
    {
        if (_options.Progress is null) return;
        if (!final && step - _lastReported < _reportEvery) return;
        _lastReported = step;
        _options.Progress.Report(new ProgressReport(Method, step, _options.MaxSteps, loss, objective, Elapsed, stage, final, _lambdaMax));
    }

    /// <summary>
    /// At the start of every step: decides <see cref="Interruption"/> for the step, and saves the state
    /// <paramref name="state"/> builds (the loop's own; the tracker adds its own) when a save is due: the interval has
    /// passed, or the run is being stopped (cancelled or out of time; once).
    /// </summary>
    public void BeginStep(Func<OptimizerCheckpoint> state)
    {
        Interruption = PollInterruption();
        if (_options.Checkpoints is not { } policy) return;
        bool stopping = Interruption is not null;
        if (stopping ? _savedAtInterruption : Elapsed < _nextSave) return;
        var checkpoint = state();
        checkpoint.Set("tracker_seconds", Elapsed.TotalSeconds);
        checkpoint.Set("tracker_last_recorded", _lastRecorded);
        checkpoint.Set("tracker_last_reported", _lastReported);
        checkpoint.Set("tracker_history_evaluations", HistoryEvaluations);
        checkpoint.Set("tracker_lambda_max", _lambdaMax);
        if (_topVector is not null) checkpoint.Set("tracker_top_vector", _topVector);
        foreach (var (name, values) in History.Columns()) checkpoint.Set("tracker_" + name, values);
        policy.Save(checkpoint);
        _nextSave = Later(Elapsed, policy.Every);
        _savedAtInterruption = stopping;
    }

    /// <summary>a + b, or TimeSpan.MaxValue ("never") where that overflows.</summary>
    private static TimeSpan Later(TimeSpan a, TimeSpan b) => b >= TimeSpan.MaxValue - a ? TimeSpan.MaxValue : a + b;

    private void Restore(OptimizerCheckpoint saved)
    {
        saved.RequireMethod(Method);
        double seconds = saved.Real("tracker_seconds");
        if (!(seconds >= 0 && seconds < 1e12))
            throw new ArgumentException($"the checkpoint's elapsed time {seconds} s is not a time a run has taken");
        _before = TimeSpan.FromSeconds(seconds);
        _lastRecorded = saved.Integer("tracker_last_recorded");
        _lastReported = saved.Integer("tracker_last_reported");
        HistoryEvaluations = saved.Integer("tracker_history_evaluations");
        _lambdaMax = saved.Real("tracker_lambda_max");
        _topVector = saved.Has("tracker_top_vector") ? (double[])saved.Reals("tracker_top_vector").Clone() : null;
        History = RunHistory.FromColumns(name => saved.Reals("tracker_" + name));
    }
}
