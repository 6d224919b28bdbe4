using Flatness.Kernels.Tensors;
using Flatness.Solver.Model;

namespace Flatness.Solver.Optimizers;

/// <summary>
/// The loop behind <c>gd</c>, <c>flat</c>, <c>sam</c> and gradient-descent weight decay: W &lt;- W - lr d with d the
/// objective's gradient (or, for SAM, the gradient at the ascent point W + rho g/||g||). Safety: a step whose objective is
/// not finite or exceeds <see cref="OptimizerOptions.BlowupFactor"/> times the best so far (floored at 1e-6 times the
/// initial objective, so that a converged run's tiny oscillations do not count) is undone, the step size is halved and a
/// back-off counted; the last good iterate is what remains.
/// </summary>
internal static class DescentLoop
{
    private const double ArmijoC1 = 1e-4;
    private const int MaxBacktracks = 60;

    public static OptimizerResult Run(string method, Objective objective, Factorization start, OptimizerOptions options,
        double learningRate, bool backtracking, double samRadius, double mu)
    {
        options.Validate();
        var tracker = new RunTracker(method, objective.Evaluator, options);
        var x = LayerMath.Clone(start.Layers);
        double initial = double.NaN, best = double.NaN, lr = learningRate, trialLr = learningRate;
        int backoffs = 0;
        long step = 0, earlierEvaluations = 0;
        if (options.ResumeFrom is { } saved)
        {
            x = saved.Layers("x", x);
            (initial, best, lr, trialLr) = (saved.Real("initial"), saved.Real("best"), saved.Real("lr"), saved.Real("trial_lr"));
            (backoffs, step, earlierEvaluations) = ((int)saved.Integer("backoffs"), saved.Step, saved.Integer("evaluations"));
        }
        // The objective at x is recomputed on a resume rather than stored: the same input gives the same bits.
        var current = objective.Evaluate(x);
        if (!double.IsFinite(current.Value) || !LayerMath.AllFinite(current.Gradient!))
            throw new ArgumentException($"{method}: the objective is not finite at the starting point");
        if (options.ResumeFrom is null)
        {
            initial = best = current.Value;
            tracker.Record(0, x, current.Value, lr, mu);
        }
        StopReason reason;

        while (true)
        {
            tracker.BeginStep(() =>
            {
                var c = new OptimizerCheckpoint(method, step);
                c.Set("x", x);
                c.Set("initial", initial);
                c.Set("best", best);
                c.Set("lr", lr);
                c.Set("trial_lr", trialLr);
                c.Set("backoffs", backoffs);
                c.Set("evaluations", earlierEvaluations + objective.Evaluations);
                return c;
            });
            var g = current.Gradient!;
            if (tracker.LossReached(current.Evaluation.Loss)) { reason = StopReason.LossTolerance; break; }
            if (options.GradientTolerance > 0 && LayerMath.Norm(g) <= options.GradientTolerance) { reason = StopReason.GradientTolerance; break; }
            if (step >= options.MaxSteps) { reason = StopReason.MaxSteps; break; }
            if (tracker.Interruption is { } interruption) { reason = interruption; break; }
            step++;

            var direction = g;
            if (samRadius > 0) direction = AscentGradient(objective, x, g, samRadius) ?? g;
            Objective.Point trial;
            Matrix<double>[] trialX;
            if (backtracking)
            {
                // Armijo: halve from min(2 t_prev, lr) until f(x - t g) <= f(x) - c1 t ||g||^2.
                double slope = LayerMath.Dot(g, direction);
                trialLr = Math.Min(2 * trialLr, lr);
                int tries = 0;
                while (true)
                {
                    trialX = LayerMath.Step(x, -trialLr, direction);
                    trial = objective.Evaluate(trialX);
                    if (double.IsFinite(trial.Value) && trial.Value <= current.Value - ArmijoC1 * trialLr * slope) break;
                    if (++tries >= MaxBacktracks) break;
                    trialLr /= 2;
                }
            }
            else
            {
                trialLr = lr;
                trialX = LayerMath.Step(x, -lr, direction);
                trial = objective.Evaluate(trialX);
            }

            bool bad = !double.IsFinite(trial.Value) || !LayerMath.AllFinite(trial.Gradient!)
                || trial.Value > options.BlowupFactor * Math.Max(best, 1e-6 * initial);
            if (bad)
            {
                backoffs++;
                lr /= 2;
                trialLr = Math.Min(trialLr, lr);
                if (backoffs > options.MaxBackoffs) { reason = StopReason.Diverged; break; }
                continue;
            }

            double previous = current.Value;
            x = trialX;
            current = trial;
            best = Math.Min(best, current.Value);
            if (tracker.HistoryDue(step)) tracker.Record(step, x, current.Value, backtracking ? trialLr : lr, mu);
            tracker.Report(step, current.Evaluation.Loss, current.Value);
            if (options.ObjectiveTolerance > 0
                && Math.Abs(previous - current.Value) <= options.ObjectiveTolerance * Math.Max(Math.Abs(previous), Math.Abs(current.Value)))
            {
                reason = StopReason.ObjectiveTolerance;
                break;
            }
        }

        tracker.Record(step, x, current.Value, backtracking ? trialLr : lr, mu, final: true);
        tracker.Report(step, current.Evaluation.Loss, current.Value, final: true);
        return new OptimizerResult
        {
            Method = method,
            Layers = new Factorization(x),
            History = tracker.History,
            Steps = step,
            Reason = reason,
            Backoffs = backoffs,
            Seconds = tracker.Elapsed.TotalSeconds,
            Evaluations = earlierEvaluations + objective.Evaluations,
            FinalLearningRate = lr,
            FinalMu = mu,
        };
    }

    /// <summary>SAM: the objective's gradient at W + rho g/||g||; null when g = 0 (no ascent direction).</summary>
    private static Matrix<double>[]? AscentGradient(Objective objective, Matrix<double>[] x, Matrix<double>[] g, double radius)
    {
        double norm = LayerMath.Norm(g);
        if (!(norm > 0)) return null;
        var ascent = LayerMath.Step(x, radius / norm, g);
        return objective.Evaluate(ascent).Gradient;
    }
}
