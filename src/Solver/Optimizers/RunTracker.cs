using Flatness.Solver.Metrics;
using System.Diagnostics;
using Flatness.Kernels.Tensors;
using Flatness.Solver.Backends;
using Flatness.Solver.Curvature;


namespace Flatness.Solver.Optimizers;

/// <summary>The clock, history, progress reports and loss target of one optimiser run.</summary>
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
        Clock = Stopwatch.StartNew();
    }

    public string Method { get; }
    public Stopwatch Clock { get; }
    public RunHistory History { get; } = new();
    /// <summary>||b||^2 / n.</summary>
    public double NullLoss { get; }
    /// <summary>Evaluator calls made for the history (not part of the optimisation).</summary>
    public long HistoryEvaluations { get; private set; }

    /// <summary>Why the run must stop now whatever its progress (cancelled, or out of time), or null.</summary>
    public StopReason? Interruption =>
        _options.Cancellation.IsCancellationRequested ? StopReason.Cancelled
        : _options.TimeLimit is { } limit && Clock.Elapsed >= limit ? StopReason.TimeLimit
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
        History.Add(new HistoryRow(step, Clock.Elapsed.TotalSeconds, m.Loss, m.HessianTrace, m.FlatnessG, objective,
            m.RelativeError ?? double.NaN, m.NuclearNorm, learningRate, mu, TrackedAt(step, final) ? _lambdaMax = Sharpness(layers) : double.NaN));
    }

    /// <summary>Reports progress every ~0.5% of the step budget (and always when <paramref name="final"/>).</summary>
    public void Report(long step, double loss, double objective, string? stage = null, bool final = false)
    {
        if (_options.Progress is null) return;
        if (!final && step - _lastReported < _reportEvery) return;
        _lastReported = step;
        _options.Progress.Report(new ProgressReport(Method, step, _options.MaxSteps, loss, objective, Clock.Elapsed, stage, final, _lambdaMax));
    }
}
