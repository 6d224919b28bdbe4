using Flatness.Solver.Backends;
using Flatness.Solver.Model;

namespace Flatness.Solver.Optimizers;

/// <summary>
/// <c>penalty</c>: the flattest interpolant, min tr H subject to L = 0, by penalty continuation. Stage k minimises
/// tr H + mu_k L by L-BFGS, warm-started from stage k - 1, with mu_k = mu_0 g^k; the run ends once the loss is at most
/// the loss tolerance times ||b||^2 / n. <see cref="OptimizerOptions.MaxSteps"/> bounds the L-BFGS iterations of all
/// stages together.
/// </summary>
public sealed class PenaltyContinuation(PenaltyOptions options) : IOptimizer
{
    /// <inheritdoc/>
    public string Method => "penalty";
    /// <summary>The options this optimiser runs with.</summary>
    public PenaltyOptions Options { get; } = options;

    /// <summary>The default mu_0 = 100 (d_0 d_L)^{1/L} (||b||^2/n)^{-1/L}.</summary>
    public static double DefaultInitialMu(int inputDim, int outputDim, int depth, double nullLoss) =>
        100 * Math.Pow((double)inputDim * outputDim, 1.0 / depth) * Math.Pow(nullLoss > 0 ? nullLoss : 1.0, -1.0 / depth);

    /// <inheritdoc/>
    public OptimizerResult Run(IEvaluator evaluator, Factorization start)
    {
        ArgumentNullException.ThrowIfNull(evaluator);
        Options.Validate();
        var tracker = new RunTracker(Method, evaluator, Options);
        var x = LayerMath.Clone(start.Layers);
        var inner = new LayerLbfgs(tracker, Options);
        int stage = 0;
        long stageStart = 0;
        double mu, value, loss;
        LbfgsState? pending = null; // the L-BFGS state of a stage a resumed run was in the middle of
        if (Options.ResumeFrom is { } saved)
        {
            x = saved.Layers("x", x);
            (mu, value, loss) = (saved.Real("mu"), saved.Real("value"), saved.Real("loss"));
            (stage, stageStart) = ((int)saved.Integer("stage"), saved.Integer("stage_start"));
            inner.ReadFrom(saved);
            if (saved.Has("lbfgs_counters")) pending = LbfgsState.ReadFrom(saved, "lbfgs_", Options.Memory, LayerMath.Count(x));
        }
        else
        {
            mu = Options.InitialMu ?? DefaultInitialMu(start.InputDim, start.OutputDim, start.Depth, tracker.NullLoss);
            var initial = new Objective(evaluator, mu, 1).Evaluate(x, gradient: false);
            if (!double.IsFinite(initial.Value))
                throw new ArgumentException($"{Method}: the objective is not finite at the starting point");
            tracker.Record(0, x, initial.Value, double.NaN, mu);
            (value, loss) = (initial.Value, initial.Evaluation.Loss);
        }

        // Between stages the state is the outer loop's; within one it adds the L-BFGS state of the stage.
        OptimizerCheckpoint State(LbfgsState? within)
        {
            var c = new OptimizerCheckpoint(Method, inner.Steps);
            c.Set("x", x);
            c.Set("mu", mu);
            c.Set("value", value);
            c.Set("loss", loss);
            c.Set("stage", stage);
            c.Set("stage_start", stageStart);
            inner.WriteTo(c);
            within?.WriteTo(c, "lbfgs_");
            return c;
        }

        StopReason reason;
        while (true)
        {
            if (pending is null)
            {
                tracker.BeginStep(() => State(null));
                if (tracker.LossReached(loss)) { reason = StopReason.LossTolerance; break; }
                if (inner.Steps >= Options.MaxSteps) { reason = StopReason.MaxSteps; break; }
                if (tracker.Interruption is { } interruption) { reason = interruption; break; }
                if (stage >= Options.MaxStages) { reason = StopReason.StageLimit; break; }
                if (stage > 0) mu *= Options.Growth;
                stage++;
                stageStart = inner.Steps;
            }
            var result = inner.Minimize(new Objective(evaluator, mu, 1), x, Options.MaxSteps - stageStart, Options.Memory,
                Options.StageTolerance, mu, State, $"stage {stage}, mu {mu:G3}", stopOnLoss: false, resume: pending);
            pending = null;
            value = result.Value;
            loss = inner.LastLoss;
            // Stopped inside the stage: the run ends here (its state was saved at that iteration's start), before a
            // loss test that a finished stage would only take at its end.
            if (result.Status == LbfgsStatus.Stopped) { reason = tracker.Interruption ?? StopReason.Cancelled; break; }
        }
        long steps = inner.Steps;
        tracker.Record(steps, x, value, double.NaN, mu, final: true);
        tracker.Report(steps, loss, value, $"stage {stage}, mu {mu:G3}", final: true);
        return new OptimizerResult
        {
            Method = Method,
            Layers = new Factorization(x),
            History = tracker.History,
            Steps = steps,
            Reason = reason,
            Backoffs = inner.NonFiniteTrials,
            Seconds = tracker.Elapsed.TotalSeconds,
            Evaluations = 1 + inner.Evaluations,
            FinalMu = mu,
            Stages = stage,
        };
    }
}

/// <summary>
/// <c>weight-decay</c>: minimise L + mu sum_j ||W_j||_F^2, by L-BFGS or, when a learning rate is given, by gradient
/// descent (with the same back-off safety as <c>gd</c>).
/// </summary>
public sealed class WeightDecay(WeightDecayOptions options) : IOptimizer
{
    /// <inheritdoc/>
    public string Method => "weight-decay";
    /// <summary>The options this optimiser runs with.</summary>
    public WeightDecayOptions Options { get; } = options;

    /// <inheritdoc/>
    public OptimizerResult Run(IEvaluator evaluator, Factorization start)
    {
        ArgumentNullException.ThrowIfNull(evaluator);
        Options.Validate();
        var objective = new Objective(evaluator, 1, 0, Options.Mu);
        if (Options.LearningRate is double lr)
            return DescentLoop.Run(Method, objective, start, Options, lr, backtracking: false, samRadius: 0, mu: Options.Mu);

        var tracker = new RunTracker(Method, evaluator, Options);
        var x = LayerMath.Clone(start.Layers);
        var inner = new LayerLbfgs(tracker, Options);
        LbfgsState? pending = null;
        if (Options.ResumeFrom is { } saved)
        {
            x = saved.Layers("x", x);
            inner.ReadFrom(saved);
            pending = LbfgsState.ReadFrom(saved, "lbfgs_", Options.Memory, LayerMath.Count(x));
        }
        else
        {
            var initial = objective.Evaluate(x, gradient: false);
            if (!double.IsFinite(initial.Value))
                throw new ArgumentException($"{Method}: the objective is not finite at the starting point");
            tracker.Record(0, x, initial.Value, double.NaN, Options.Mu);
        }
        OptimizerCheckpoint State(LbfgsState within)
        {
            var c = new OptimizerCheckpoint(Method, inner.Steps);
            c.Set("x", x);
            inner.WriteTo(c);
            within.WriteTo(c, "lbfgs_");
            return c;
        }
        var result = inner.Minimize(objective, x, Options.MaxSteps, Options.Memory,
            Options.ObjectiveTolerance > 0 ? Options.ObjectiveTolerance : 1e-12, Options.Mu, State, resume: pending);
        tracker.Record(inner.Steps, x, result.Value, double.NaN, Options.Mu, final: true);
        tracker.Report(inner.Steps, inner.LastLoss, result.Value, final: true);
        return new OptimizerResult
        {
            Method = Method,
            Layers = new Factorization(x),
            History = tracker.History,
            Steps = inner.Steps,
            Reason = tracker.LossReached(inner.LastLoss) ? StopReason.LossTolerance : result.Status switch
            {
                LbfgsStatus.GradientTolerance => StopReason.GradientTolerance,
                LbfgsStatus.FunctionTolerance => StopReason.ObjectiveTolerance,
                LbfgsStatus.MaxIterations => StopReason.MaxSteps,
                LbfgsStatus.LineSearchFailed => StopReason.LineSearchFailed,
                _ => tracker.Interruption ?? StopReason.TimeLimit,
            },
            Backoffs = inner.NonFiniteTrials,
            Seconds = tracker.Elapsed.TotalSeconds,
            Evaluations = 1 + inner.Evaluations,
            FinalMu = Options.Mu,
        };
    }
}
