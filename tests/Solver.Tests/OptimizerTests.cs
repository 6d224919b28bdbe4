using Flatness.Solver.Metrics;
using Flatness.Kernels.Tensors;
using Flatness.Solver.Backends;
using Flatness.Solver.Model;
using Flatness.Solver.Optimizers;
using Flatness.Solver.Problems;
using Flatness.Solver.Runs;

namespace Flatness.Tests;

/// <summary>
/// Each optimiser on small Gaussian problems. "Under": 6 x 6, rank 1, n = 24 < 36 entries, so interpolants form an
/// affine family and only a flatness or norm bias picks M*. "Over": 5 x 4, rank 1, n = 30 > 20 entries: M* is the
/// unique interpolant.
/// </summary>
public class OptimizerTests
{
    private static readonly SensingProblem Under = Generators.Gaussian(6, 6, 1, 24, seed: 1);
    private static readonly SensingProblem Over = Generators.Gaussian(5, 4, 1, 30, seed: 1);

    private static Factorization Start(SensingProblem p) =>
        Initializers.Gaussian(Initializers.Dims(p.InputDim, p.OutputDim, 2), 1.0, 2);

    /// <summary>The CPU evaluator (checked against the reference elsewhere): the optimisers only see IEvaluator.</summary>
    private static IEvaluator Cpu(SensingProblem p, int depth = 2) =>
        Evaluators.Create(p, Initializers.Dims(p.InputDim, p.OutputDim, depth), new EvaluatorOptions { Backend = BackendKind.Cpu });

    private static (double Loss, double Trace, double RelativeError) Measure(SensingProblem p, OptimizerResult r)
    {
        var v = new ReferenceEvaluator(p).Evaluate(r.Layers.Layers, Quantities.Values);
        return (v.Loss, v.Trace, Rel.Error(LayerMath.EndToEnd(r.Layers.Layers), p.GroundTruth));
    }

    [Fact]
    public void GradientDescentInterpolatesFromLargeInitialisationWithoutRecovering()
    {
        var r = new GradientDescent(new() { HistoryEvery = 0, MaxSteps = 3000, LearningRate = 0.05 })
            .Run(Cpu(Under), Start(Under));
        var (loss, trace, rel) = Measure(Under, r);
        Assert.True(loss < 1e-15, $"loss {loss}");
        Assert.True(rel > 0.5, $"relative error {rel}");
        Assert.True(trace > 60, $"trace {trace}");
        Assert.Equal(0, r.Backoffs);
        Assert.Equal(3000, r.Steps);
        Assert.Equal(StopReason.MaxSteps, r.Reason);
    }

    [Fact]
    public void GradientDescentRecoversTheUniqueInterpolant()
    {
        // Depth 1: the loss is a strongly convex quadratic in E, so backtracking gradient descent converges linearly.
        var start = Initializers.Gaussian([5, 4], 1.0, 2);
        var r = new GradientDescent(new() { HistoryEvery = 0, MaxSteps = 3000, LearningRate = 1, Backtracking = true, LossTolerance = 1e-14 })
            .Run(Cpu(Over, depth: 1), start);
        var (loss, _, rel) = Measure(Over, r);
        Assert.Equal(StopReason.LossTolerance, r.Reason);
        Assert.True(loss <= 1e-14 * RunMetrics.NullLoss(Over), $"loss {loss}");
        Assert.True(rel < 1e-12, $"relative error {rel}");
        Assert.InRange(r.Steps, 5, 500);
    }

    [Fact]
    public void PenaltyContinuationReachesTheFlattestInterpolant()
    {
        var r = new PenaltyContinuation(new() { HistoryEvery = 0 }).Run(Cpu(Under), Start(Under));
        var (loss, trace, rel) = Measure(Under, r);
        Assert.Equal(StopReason.LossTolerance, r.Reason);
        Assert.True(loss <= 1e-10 * RunMetrics.NullLoss(Under), $"loss {loss}");
        Assert.True(rel < 1e-8, $"relative error {rel}");
        Assert.InRange(trace, 20, 23);
        Assert.InRange(r.Stages, 2, 8);
        Assert.Equal(PenaltyContinuation.DefaultInitialMu(6, 6, 2, RunMetrics.NullLoss(Under)) * Math.Pow(10, r.Stages - 1), r.FinalMu, 1e-6 * r.FinalMu);
    }

    [Fact]
    public void FlatGradientDescentTradesLossForTrace()
    {
        var r = new FlatGradientDescent(new() { HistoryEvery = 0, MaxSteps = 2000, LearningRate = 0.5, Lambda = 1e-3, Backtracking = true })
            .Run(Cpu(Under), Start(Under));
        var (loss, trace, rel) = Measure(Under, r);
        Assert.True(rel < 1e-2, $"relative error {rel}");
        Assert.InRange(trace, 20, 23);
        Assert.InRange(loss, 1e-5, 1e-3); // lambda = 1e-3 keeps a small residual
    }

    [Fact]
    public void SamConvergesOnTheOverdeterminedProblem()
    {
        var r = new Sam(new() { HistoryEvery = 0, MaxSteps = 2000, LearningRate = 0.05, Rho = 0.05 })
            .Run(Cpu(Over), Start(Over));
        var (loss, _, rel) = Measure(Over, r);
        Assert.True(loss < 3e-4, $"loss {loss}");
        Assert.True(rel < 2e-3, $"relative error {rel}");
    }

    [Fact]
    public void LabelNoiseDriftsToAFlatInterpolantAndNoiselessSgdDoesNot()
    {
        var ev = Cpu(Under);
        var noiseless = new LabelNoiseSgd(new() { HistoryEvery = 0, MaxSteps = 20000, LearningRate = 0.01, Sigma = 0 }).Run(ev, Start(Under));
        var noisy = new LabelNoiseSgd(new() { HistoryEvery = 0, MaxSteps = 20000, LearningRate = 0.01, Sigma = 0.5 }).Run(ev, Start(Under));
        var (loss0, trace0, rel0) = Measure(Under, noiseless);
        var (loss1, trace1, rel1) = Measure(Under, noisy);
        Assert.True(loss0 < 1e-15, $"noiseless loss {loss0}");
        Assert.True(trace0 > 60 && rel0 > 0.5, $"noiseless trace {trace0}, relative error {rel0}");
        Assert.True(trace1 < 23, $"noisy trace {trace1}");
        Assert.True(rel1 < 0.05, $"noisy relative error {rel1}");
        Assert.True(loss1 < 0.05, $"noisy loss {loss1}");
        Assert.Equal(0, noisy.Backoffs);
    }

    [Fact]
    public void OneSampleSamDriftsToAFlatInterpolant()
    {
        var r = new OneSampleSam(new() { HistoryEvery = 0, MaxSteps = 20000, LearningRate = 0.01, Rho = 0.05 })
            .Run(Cpu(Under), Start(Under));
        var (loss, trace, rel) = Measure(Under, r);
        Assert.True(trace < 23, $"trace {trace}");
        Assert.True(rel < 1e-2, $"relative error {rel}");
        Assert.True(loss < 2e-3, $"loss {loss}");
    }

    [Fact]
    public void SameSeedSameSamplePath()
    {
        var options = new LabelNoiseOptions { HistoryEvery = 0, MaxSteps = 500, LearningRate = 0.01, Sigma = 0.3, Seed = 4 };
        var a = new LabelNoiseSgd(options).Run(Cpu(Under), Start(Under));
        var b = new LabelNoiseSgd(options).Run(Cpu(Under), Start(Under));
        var c = new LabelNoiseSgd(options with { Seed = 5 }).Run(Cpu(Under), Start(Under));
        Assert.Equal(a.Layers.Layers[0].Data, b.Layers.Layers[0].Data);
        Assert.NotEqual(a.Layers.Layers[0].Data, c.Layers.Layers[0].Data);
    }

    [Fact]
    public void WeightDecayReachesABalancedStationaryPoint()
    {
        var ev = Cpu(Over);
        const double mu = 1e-3;
        var lbfgs = new WeightDecay(new() { HistoryEvery = 0, MaxSteps = 3000, Mu = mu, ObjectiveTolerance = 1e-15 }).Run(ev, Start(Over));
        var layers = lbfgs.Layers.Layers;
        var point = new Objective(ev, 1, 0, mu).Evaluate(layers);
        Assert.True(LayerMath.Norm(point.Gradient!) < 1e-6, $"gradient {LayerMath.Norm(point.Gradient!)}");
        // At a stationary point of L + mu sum ||W_j||^2: W_2^T W_2 = W_1 W_1^T.
        var w2tw2 = Gemm(layers[1], layers[1], transposeA: true);
        var w1w1t = Gemm(layers[0], layers[0], transposeB: true);
        double imbalance = Math.Sqrt(w2tw2.Data.Zip(w1w1t.Data).Sum(p => (p.First - p.Second) * (p.First - p.Second)));
        Assert.True(imbalance < 1e-5, $"imbalance {imbalance}");

        // Gradient descent on the same objective approaches it from above (slowly: 5000 steps get within a factor 2).
        double startValue = new Objective(ev, 1, 0, mu).Evaluate(Start(Over).Layers, gradient: false).Value;
        var gd = new WeightDecay(new() { HistoryEvery = 0, MaxSteps = 5000, Mu = mu, LearningRate = 0.05 }).Run(ev, Start(Over));
        double gdValue = new Objective(ev, 1, 0, mu).Evaluate(gd.Layers.Layers, gradient: false).Value;
        Assert.InRange(gdValue, point.Value, 2 * point.Value);
        Assert.True(startValue > 100 * gdValue);
        Assert.Equal(mu, lbfgs.FinalMu);
    }

    private static Matrix<double> Gemm(Matrix<double> a, Matrix<double> b, bool transposeA = false, bool transposeB = false) =>
        Flatness.Kernels.Reference.ReferenceBlas.Multiply(a, b, transposeA, transposeB);

    [Fact]
    public void AbsurdStepSizesBackOffAndKeepFiniteLayers()
    {
        var ev = Cpu(Under);
        double initial = ev.Evaluate(Start(Under).Layers, Quantities.Loss).Loss;
        foreach (IOptimizer optimizer in new IOptimizer[]
        {
            new GradientDescent(new() { HistoryEvery = 0, MaxSteps = 200, LearningRate = 1e3 }),
            new FlatGradientDescent(new() { HistoryEvery = 0, MaxSteps = 200, LearningRate = 1e3, Lambda = 1e-2 }),
            new Sam(new() { HistoryEvery = 0, MaxSteps = 200, LearningRate = 1e3, Rho = 0.01 }),
            new WeightDecay(new() { HistoryEvery = 0, MaxSteps = 200, LearningRate = 1e3, Mu = 1e-3 }),
            new LabelNoiseSgd(new() { HistoryEvery = 0, MaxSteps = 2000, LearningRate = 1e3, Sigma = 0.1, CheckEvery = 20 }),
            new OneSampleSam(new() { HistoryEvery = 0, MaxSteps = 2000, LearningRate = 1e3, Rho = 0.01, CheckEvery = 20 }),
        })
        {
            var r = optimizer.Run(ev, Start(Under));
            Assert.True(r.Backoffs > 0, $"{optimizer.Method}: no back-off");
            Assert.True(LayerMath.AllFinite(r.Layers.Layers), $"{optimizer.Method}: non-finite layers");
            double loss = ev.Evaluate(r.Layers.Layers, Quantities.Loss).Loss;
            Assert.True(loss < initial, $"{optimizer.Method}: loss {loss} not below the initial {initial}");
            Assert.True(r.FinalLearningRate < 1e3 / Math.Pow(2, r.Backoffs) * 1.0001);
        }
    }

    [Fact]
    public void HopelessRunsStopAsDivergedWithTheStartingLayers()
    {
        var start = Start(Under);
        var r = new GradientDescent(new() { HistoryEvery = 0, MaxSteps = 100, LearningRate = 1e300, MaxBackoffs = 3 })
            .Run(Cpu(Under), start);
        Assert.Equal(StopReason.Diverged, r.Reason);
        Assert.Equal(4, r.Backoffs);
        Assert.Equal(start.Layers[0].Data, r.Layers.Layers[0].Data);
    }

    [Fact]
    public void StoppingRulesAndProgress()
    {
        var ev = Cpu(Over);
        var reports = new List<ProgressReport>();
        var byGradient = new GradientDescent(new()
        {
            HistoryEvery = 0, MaxSteps = 100_000, LearningRate = 1, Backtracking = true, GradientTolerance = 1e-6,
            Progress = new Callback<ProgressReport>(reports.Add),
        }).Run(ev, Start(Over));
        Assert.Equal(StopReason.GradientTolerance, byGradient.Reason);
        Assert.True(LayerMath.Norm(ev.Evaluate(byGradient.Layers.Layers, Quantities.LossGradient).LossGradient!) <= 1e-6);
        Assert.True(reports[^1].Final);
        Assert.Equal(byGradient.Steps, reports[^1].Step);
        Assert.InRange(reports.Count, 2, 202);

        var byObjective = new GradientDescent(new() { HistoryEvery = 0, LearningRate = 0.05, ObjectiveTolerance = 1e-3 }).Run(ev, Start(Over));
        Assert.Equal(StopReason.ObjectiveTolerance, byObjective.Reason);
        var byTime = new GradientDescent(new() { HistoryEvery = 0, MaxSteps = long.MaxValue, TimeLimit = TimeSpan.FromMilliseconds(50) }).Run(ev, Start(Over));
        Assert.Equal(StopReason.TimeLimit, byTime.Reason);
        var none = new GradientDescent(new() { HistoryEvery = 0, MaxSteps = 0 }).Run(ev, Start(Over));
        Assert.Equal(0, none.Steps);
        Assert.Equal(Start(Over).Layers[1].Data, none.Layers.Layers[1].Data);
    }

    [Fact]
    public void HistoryRowsFollowTheRun()
    {
        var ev = Cpu(Under);
        var penalty = new PenaltyContinuation(new() { HistoryEvery = 25 }).Run(ev, Start(Under));
        var rows = penalty.History.Rows;
        Assert.Equal(0, rows[0].Step);
        Assert.Equal(penalty.Steps, rows[^1].Step);
        Assert.True(rows.Zip(rows.Skip(1)).All(p => p.Second.Step > p.First.Step));
        double mu0 = rows[0].Mu;
        foreach (var row in rows)
        {
            double stages = Math.Log10(row.Mu / mu0);
            Assert.Equal(Math.Round(stages), stages, 1e-9); // mu_0 10^k
            Assert.Equal(row.Trace + row.Mu * row.Loss, row.Objective, 1e-9 * row.Objective);
            Assert.True(double.IsNaN(row.LearningRate));
            Assert.InRange(row.Trace / (2 * row.G), 0.3, 1.7);
        }
        Assert.Equal(penalty.FinalMu, rows[^1].Mu);
        Assert.True(rows[^1].RelativeError < 1e-8);

        var sgd = new LabelNoiseSgd(new() { HistoryEvery = 1000, MaxSteps = 5000, LearningRate = 0.01, Sigma = 0.5 }).Run(ev, Start(Under));
        Assert.Equal(new long[] { 0, 1000, 2000, 3000, 4000, 5000 }, sgd.History.Rows.Select(r => r.Step));
        Assert.All(sgd.History.Rows, r => Assert.Equal(0.01, r.LearningRate));
        Assert.All(sgd.History.Rows, r => Assert.Equal(r.Loss, r.Objective, 1e-12));
        Assert.True(sgd.History.Rows[^1].Trace < 0.5 * sgd.History.Rows[0].Trace);
    }

    [Fact]
    public void InvalidOptionsAreRejectedByName()
    {
        var ev = Cpu(Over);
        Assert.Contains("learning rate", Assert.Throws<ArgumentOutOfRangeException>(() =>
            new GradientDescent(new() { LearningRate = -1 }).Run(ev, Start(Over))).Message);
        Assert.Contains("lambda", Assert.Throws<ArgumentOutOfRangeException>(() =>
            new FlatGradientDescent(new() { Lambda = -1 }).Run(ev, Start(Over))).Message);
        Assert.Contains("sigma", Assert.Throws<ArgumentOutOfRangeException>(() =>
            new LabelNoiseSgd(new() { Sigma = double.NaN }).Run(ev, Start(Over))).Message);
        Assert.Contains("rho", Assert.Throws<ArgumentOutOfRangeException>(() =>
            new Sam(new() { Rho = -0.1 }).Run(ev, Start(Over))).Message);
        Assert.Contains("mu", Assert.Throws<ArgumentOutOfRangeException>(() =>
            new PenaltyContinuation(new() { InitialMu = 0 }).Run(ev, Start(Over))).Message);
        Assert.Contains("steps", Assert.Throws<ArgumentOutOfRangeException>(() =>
            new WeightDecay(new() { MaxSteps = -1 }).Run(ev, Start(Over))).Message);
    }

    /// <summary>Reports synchronously (System.Progress would post to the thread pool).</summary>
    internal sealed class Callback<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
