using Flatness.Kernels.Tensors;
using Flatness.Solver.Backends;

namespace Flatness.Solver.Optimizers;

/// <summary>L-BFGS on an <see cref="Objective"/> over layers, feeding the run's step count, history and progress.</summary>
internal sealed class LayerLbfgs(RunTracker tracker, OptimizerOptions options)
{
    private double[]? _lastX;
    private Evaluation? _lastEvaluation;

    /// <summary>Steps (accepted L-BFGS iterations) taken so far across calls.</summary>
    public long Steps { get; private set; }
    /// <summary>Non-finite line-search trials so far across calls.</summary>
    public int NonFiniteTrials { get; private set; }
    /// <summary>Loss at the last accepted iterate.</summary>
    public double LastLoss { get; private set; } = double.NaN;

    /// <summary>Evaluator calls made so far across calls.</summary>
    public long Evaluations { get; private set; }

    /// <summary>
    /// Minimises <paramref name="objective"/> from <paramref name="x"/> (updated in place) for at most
    /// <paramref name="maxIterations"/> iterations; steps are numbered on from earlier calls. With
    /// <paramref name="stopOnLoss"/> the run also ends once the loss tolerance is met. <paramref name="resume"/>
    /// continues an interrupted call (same arguments); <paramref name="checkpoint"/> turns its state into the run's
    /// checkpoint, saved when the tracker says one is due (every iteration begins a step of the run).
    /// </summary>
    public LbfgsResult Minimize(Objective objective, Matrix<double>[] x, long maxIterations, int memory, double functionTolerance, double mu,
        Func<LbfgsState, OptimizerCheckpoint> checkpoint, string? stage = null, bool stopOnLoss = true, LbfgsState? resume = null)
    {
        var buffer = LayerMath.Clone(x);
        bool lossReached = resume is not null && stopOnLoss && tracker.LossReached(LastLoss);
        double Function(ReadOnlySpan<double> flat, Span<double> gradient)
        {
            LayerMath.Unflatten(flat, buffer);
            Evaluations++;
            var point = objective.Evaluate(buffer);
            LayerMath.Flatten(point.Gradient!, gradient);
            _lastX = flat.ToArray();
            _lastEvaluation = point.Evaluation;
            return point.Value;
        }
        void OnIteration(LbfgsIterate it)
        {
            Steps++;
            Evaluation? known = _lastX is not null && it.X.AsSpan().SequenceEqual(_lastX) ? _lastEvaluation : null;
            LayerMath.Unflatten(it.X, buffer);
            if (known is null) Evaluations++;
            LastLoss = known?.Loss ?? objective.Evaluator.Evaluate(buffer, Quantities.Loss).Loss;
            lossReached = stopOnLoss && tracker.LossReached(LastLoss);
            if (tracker.HistoryDue(Steps)) tracker.Record(Steps, buffer, it.Value, double.NaN, mu);
            tracker.Report(Steps, LastLoss, it.Value, stage);
        }

        var result = Lbfgs.Minimize(Function, LayerMath.Flatten(x), new LbfgsOptions
        {
            Memory = memory,
            MaxIterations = (int)Math.Min(int.MaxValue, Math.Max(0, maxIterations)),
            GradientTolerance = options.GradientTolerance,
            FunctionTolerance = functionTolerance,
            ShouldStop = () => lossReached || tracker.Interruption is not null,
            OnIteration = OnIteration,
            // Every iteration begins a step of the run: the interruption is polled there (and the state saved when due).
            BeforeIteration = state => tracker.BeginStep(() => checkpoint(state())),
            Resume = resume,
        });
        NonFiniteTrials += result.NonFiniteTrials;
        LayerMath.Unflatten(result.X, x);
        if (result.Iterations == 0)
        {
            Evaluations++;
            LastLoss = objective.Evaluator.Evaluate(x, Quantities.Loss).Loss;
        }
        return result;
    }

    /// <summary>Stores the counters across calls under "inner_".</summary>
    public void WriteTo(OptimizerCheckpoint c)
    {
        c.Set("inner_steps", Steps);
        c.Set("inner_non_finite", NonFiniteTrials);
        c.Set("inner_evaluations", Evaluations);
        c.Set("inner_last_loss", LastLoss);
    }

    /// <summary>Restores what <see cref="WriteTo"/> stored.</summary>
    public void ReadFrom(OptimizerCheckpoint c)
    {
        Steps = c.Integer("inner_steps");
        NonFiniteTrials = (int)c.Integer("inner_non_finite");
        Evaluations = c.Integer("inner_evaluations");
        LastLoss = c.Real("inner_last_loss");
    }
}
