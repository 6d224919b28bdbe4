using Flatness.Solver.Randomness;
using Flatness.Kernels.Tensors;
using Flatness.Solver.Backends;
using Flatness.Solver.Model;
using Flatness.Solver.Problems;

namespace Flatness.Solver.Optimizers;

/// <summary>
/// <c>label-noise</c>: one-sample SGD with label noise, the implicit trace minimiser. Every step draws i uniformly and
/// xi ~ N(0, 1), and steps along the gradient of (f_i - b_i - sigma xi)^2.
/// </summary>
public sealed class LabelNoiseSgd(LabelNoiseOptions options) : IOptimizer
{
    /// <inheritdoc/>
    public string Method => "label-noise";
    /// <summary>The options this optimiser runs with.</summary>
    public LabelNoiseOptions Options { get; } = options;

    /// <inheritdoc/>
    public OptimizerResult Run(IEvaluator evaluator, Factorization start)
    {
        Options.Validate();
        return PerSampleLoop.Run(Method, evaluator, start, Options, Options.LearningRate, Options.Seed, Options.CheckEvery,
            sigma: Options.Sigma, rho: 0);
    }
}

/// <summary>
/// <c>one-sam</c>: SAM one sample at a time: with g_i the gradient of (f_i - b_i)^2 at W, step along the gradient of the
/// same sample at W + rho g_i / ||g_i||.
/// </summary>
public sealed class OneSampleSam(OneSampleSamOptions options) : IOptimizer
{
    /// <inheritdoc/>
    public string Method => "one-sam";
    /// <summary>The options this optimiser runs with.</summary>
    public OneSampleSamOptions Options { get; } = options;

    /// <inheritdoc/>
    public OptimizerResult Run(IEvaluator evaluator, Factorization start)
    {
        Options.Validate();
        return PerSampleLoop.Run(Method, evaluator, start, Options, Options.LearningRate, Options.Seed, Options.CheckEvery,
            sigma: 0, rho: Options.Rho);
    }
}

/// <summary>
/// The one-sample loop. Safety: a non-finite update, or a full loss (checked every <c>checkEvery</c> steps) that is not
/// finite or exceeds the blow-up factor times max(best checked loss, initial loss, null loss ||b||^2/n), restores the
/// last checked good iterate and halves the step size (one back-off). The null loss keeps a run that starts at an
/// interpolant (initial loss 0, where label noise must raise the loss) from counting every check as a blow-up.
/// </summary>
internal static class PerSampleLoop
{
    public static OptimizerResult Run(string method, IEvaluator evaluator, Factorization start, OptimizerOptions options,
        double learningRate, int seed, int checkEvery, double sigma, double rho)
    {
        ArgumentNullException.ThrowIfNull(evaluator);
        var problem = evaluator.Problem;
        var tracker = new RunTracker(method, evaluator, options);
        var samples = new SampleGradients(problem.Measurements, start.Dims);
        var rng = new NormalSampler(seed);
        var x = LayerMath.Clone(start.Layers);
        var gradient = LayerMath.ZerosLike(x);
        var ascent = rho > 0 ? LayerMath.Clone(x) : null;
        long evaluations = 1, step = 0;
        double initialLoss, loss, best, lr = learningRate;
        int backoffs = 0;
        if (options.ResumeFrom is { } saved)
        {
            x = saved.Layers("x", x);
            rng = NormalSampler.FromState(saved.Integers("rng"));
            (initialLoss, loss, best, lr) = (saved.Real("initial_loss"), saved.Real("loss"), saved.Real("best"), saved.Real("lr"));
            (evaluations, backoffs, step) = (saved.Integer("evaluations"), (int)saved.Integer("backoffs"), saved.Step);
        }
        else
        {
            initialLoss = evaluator.Evaluate(x, Quantities.Loss).Loss;
            if (!double.IsFinite(initialLoss))
                throw new ArgumentException($"{method}: the loss is not finite at the starting point");
            loss = best = initialLoss;
            tracker.Record(0, x, loss, lr, double.NaN);
        }
        var good = options.ResumeFrom is { } resumed ? resumed.Layers("good", x) : LayerMath.Clone(x);
        StopReason reason;

        while (true)
        {
            if (tracker.LossReached(loss)) { reason = StopReason.LossTolerance; break; }
            if (step >= options.MaxSteps) { reason = StopReason.MaxSteps; break; }
            if ((step & 63) == 0)
            {
                tracker.BeginStep(() =>
                {
                    var c = new OptimizerCheckpoint(method, step);
                    c.Set("x", x);
                    c.Set("good", good);
                    c.Set("rng", rng.SaveState());
                    c.Set("initial_loss", initialLoss);
                    c.Set("loss", loss);
                    c.Set("best", best);
                    c.Set("lr", lr);
                    c.Set("evaluations", evaluations);
                    c.Set("backoffs", backoffs);
                    return c;
                });
                if (tracker.Interruption is { } interruption) { reason = interruption; break; }
            }
            step++;

            int i = rng.NextInt(problem.Count);
            double target = problem.Labels[i] + (sigma > 0 ? sigma * rng.Next() : 0.0);
            samples.Compute(x, i, target, gradient);
            if (ascent is not null)
            {
                double norm = LayerMath.Norm(gradient);
                if (norm > 0 && double.IsFinite(norm))
                {
                    LayerMath.CopyTo(x, ascent);
                    LayerMath.Axpy(rho / norm, gradient, ascent);
                    samples.Compute(ascent, i, target, gradient);
                }
            }
            LayerMath.Axpy(-lr, gradient, x);

            bool bad = !double.IsFinite(LayerMath.NormSquared(gradient)) || !LayerMath.AllFinite(x);
            bool check = step % checkEvery == 0 || tracker.HistoryDue(step) || step == options.MaxSteps;
            if (!bad && check)
            {
                evaluations++;
                double checkedLoss = evaluator.Evaluate(x, Quantities.Loss).Loss;
                bad = !double.IsFinite(checkedLoss) || checkedLoss > options.BlowupFactor * Math.Max(Math.Max(best, initialLoss), tracker.NullLoss);
                if (!bad)
                {
                    loss = checkedLoss;
                    best = Math.Min(best, loss);
                    LayerMath.CopyTo(x, good);
                    if (tracker.HistoryDue(step)) tracker.Record(step, x, loss, lr, double.NaN);
                    tracker.Report(step, loss, loss);
                }
            }
            if (bad)
            {
                backoffs++;
                lr /= 2;
                LayerMath.CopyTo(good, x);
                if (backoffs > options.MaxBackoffs) { reason = StopReason.Diverged; break; }
            }
        }

        // Steps since the last check are kept only if the loss there passes the same test.
        if (reason != StopReason.Diverged)
        {
            evaluations++;
            double finalLoss = evaluator.Evaluate(x, Quantities.Loss).Loss;
            if (double.IsFinite(finalLoss) && LayerMath.AllFinite(x) && finalLoss <= options.BlowupFactor * Math.Max(Math.Max(best, initialLoss), tracker.NullLoss))
                loss = finalLoss;
            else
            {
                backoffs++;
                LayerMath.CopyTo(good, x);
            }
        }
        tracker.Record(step, x, loss, lr, double.NaN, final: true);
        tracker.Report(step, loss, loss, final: true);
        return new OptimizerResult
        {
            Method = method,
            Layers = new Factorization(x),
            History = tracker.History,
            Steps = step,
            Reason = reason,
            Backoffs = backoffs,
            Seconds = tracker.Elapsed.TotalSeconds,
            Evaluations = evaluations,
            FinalLearningRate = lr,
        };
    }
}
