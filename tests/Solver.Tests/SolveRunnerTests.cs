using Flatness.Solver.Backends;
using Flatness.Solver.Metrics;
using Flatness.Solver.Model;
using Flatness.Solver.Optimizers;
using Flatness.Solver.Problems;
using Flatness.Solver.Runs;

namespace Flatness.Tests;

public class SolveRunnerTests
{
    /// <summary>docs/MATH.md section 5, claim 4, at the documented size: Gaussian sensing, d_0 = d_L = 20, rank 2, n = 240.</summary>
    private static readonly ProblemSpec Paper = new(ProblemKind.Gaussian, 20, 20, 2, 240, Seed: 1);

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void PenaltyRecoversTheTruthAtEveryDepth(int depth)
    {
        var r = SolveRunner.Run(new SolveRequest { Generate = Paper, Method = SolveMethod.Penalty, Depth = depth, Backend = BackendKind.Cpu, HistoryEvery = 0 });
        Assert.True(r.Metrics.RelativeError < 1e-3, $"depth {depth}: relative error {r.Metrics.RelativeError}");
        Assert.Equal("loss-tolerance", r.StopReason);
        Assert.True(r.Metrics.Loss <= 1e-10 * RunMetrics.NullLoss(r.Problem));
        Assert.Equal(depth, r.Layers!.Depth);
        // The flattest interpolant's G is close to F(M*) (within the RIP slack), and tr H tracks 2G.
        Assert.InRange(r.Metrics.TraceOver2G, 0.7, 1.3);
        Assert.True(r.Metrics.FlatnessG >= r.Metrics.BoundF * (1 - 1e-9));
    }

    [Fact]
    public void NuclearRecoversTheTruthAndMinimumFrobeniusDoesNot()
    {
        var nuclear = SolveRunner.Run(new SolveRequest { Generate = Paper, Method = SolveMethod.Nuclear });
        var frobenius = SolveRunner.Run(new SolveRequest { Generate = Paper, Method = SolveMethod.MinFrobenius });
        Assert.True(nuclear.Metrics.RelativeError < 1e-3, $"nuclear relative error {nuclear.Metrics.RelativeError}");
        Assert.Equal("converged", nuclear.StopReason);
        Assert.InRange(frobenius.Metrics.RelativeError!.Value, 0.3, 0.5);
        Assert.Equal("solved", frobenius.StopReason);
        // Baseline metrics are those of the flattest factorisation of E at depth 2: there G = F(E).
        Assert.Equal(nuclear.Metrics.BoundF, nuclear.Metrics.FlatnessG, 1e-9 * nuclear.Metrics.BoundF);
        Assert.Equal(2.0, nuclear.Metrics.EffectiveRank, 0.5);
        Assert.True(frobenius.Metrics.NuclearNorm > nuclear.Metrics.NuclearNorm);
        Assert.Null(nuclear.Layers);
    }

    private static readonly ProblemSpec Small = new(ProblemKind.Gaussian, 6, 6, 1, 24, Seed: 1);

    [Fact]
    public void HistoryAndRunFileArrays()
    {
        var r = SolveRunner.Run(new SolveRequest { Generate = Small, Method = SolveMethod.Gd, Steps = 300, HistoryEvery = 100, Backend = BackendKind.Reference });
        Assert.Equal(new long[] { 0, 100, 200, 300 }, r.History.Rows.Select(h => h.Step));
        var last = r.History.Rows[^1];
        Assert.Equal(r.Metrics.Loss, last.Loss, 1e-12);
        Assert.Equal(r.Metrics.HessianTrace, last.Trace, 1e-9);
        Assert.Equal(r.Metrics.FlatnessG, last.G, 1e-9);
        Assert.Equal(r.Metrics.NuclearNorm, last.NuclearNorm, 1e-9);
        Assert.Equal(r.Metrics.RelativeError!.Value, last.RelativeError, 1e-12);
        Assert.Equal(last.Loss, last.Objective); // gd's objective is the loss
        Assert.True(r.History.Rows[0].Loss > last.Loss);

        var names = r.OutputArrays().Select(a => a.Name).ToArray();
        Assert.Equal(["W1", "W2", "history_step", "history_seconds", "history_loss", "history_trace", "history_g", "history_objective",
            "history_relative_error", "history_nuclear_norm", "history_lr", "history_mu", "history_lambda_max"], names);
        var path = Path.Combine(Path.GetTempPath(), $"solve-{Guid.NewGuid():N}.npz");
        try
        {
            r.Save(path);
            var back = ProblemFiles.ReadArrays(path);
            Assert.Equal(r.Layers!.Layers[1].Data, back.First(a => a.Name == "W2").Floats);
            Assert.Equal(new double[] { 0, 100, 200, 300 }, back.First(a => a.Name == "history_step").Floats);
        }
        finally { File.Delete(path); }

        var baseline = SolveRunner.Run(new SolveRequest { Generate = Small, Method = SolveMethod.MinFrobenius });
        Assert.Equal("E", baseline.OutputArrays()[0].Name);
        Assert.Single(baseline.History.Rows);
    }

    [Fact]
    public void StartsFromALayersFile()
    {
        var problem = Generators.Generate(Small);
        var layers = Initializers.Orthogonal([6, 3, 4, 6], 0.7, 5);
        var path = Path.Combine(Path.GetTempPath(), $"init-{Guid.NewGuid():N}.npz");
        try
        {
            ProblemFiles.SaveLayers(path, layers.Layers);
            var request = new SolveRequest { Generate = Small, Method = SolveMethod.Gd, Steps = 0, Init = InitKind.File, InitFile = path, HistoryEvery = 0 };
            var r = SolveRunner.Run(request);
            Assert.Equal([6, 3, 4, 6], r.Dims);
            Assert.Equal(layers.Layers[2].Data, r.Layers!.Layers[2].Data);
            Assert.Contains("depth 2", Assert.Throws<ArgumentException>(() => SolveRunner.Run(request with { Depth = 2 })).Message);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void SolvesAProblemAndStartInMemoryAsFromFiles()
    {
        var problem = Generators.Generate(Small);
        var layers = Initializers.Orthogonal([6, 3, 4, 6], 0.7, 5);
        string dir = Directory.CreateTempSubdirectory("flatness-inmemory-").FullName;
        try
        {
            string problemFile = Path.Combine(dir, "p.npz"), layersFile = Path.Combine(dir, "w.npz");
            ProblemFiles.SaveProblem(problemFile, problem);
            ProblemFiles.SaveLayers(layersFile, layers.Layers);
            var fromFiles = SolveRunner.Run(new SolveRequest
            {
                ProblemFile = problemFile, Init = InitKind.File, InitFile = layersFile, Method = SolveMethod.Gd, Steps = 40, HistoryEvery = 0,
            });
            var inMemory = SolveRunner.Run(new SolveRequest { Problem = problem, Start = layers, Method = SolveMethod.Gd, Steps = 40, HistoryEvery = 0 });
            for (int j = 0; j < 3; j++) Assert.Equal(fromFiles.Layers!.Layers[j].Data, inMemory.Layers!.Layers[j].Data);
            // The start is not modified.
            Assert.Equal(Initializers.Orthogonal([6, 3, 4, 6], 0.7, 5).Layers[1].Data, layers.Layers[1].Data);

            var ok = new SolveRequest { Problem = problem, Start = layers, Method = SolveMethod.Gd };
            Assert.Contains("exactly one problem", Assert.Throws<ArgumentException>(() => SolveRunner.Run(ok with { Generate = Small })).Message);
            Assert.Contains("replace init", Assert.Throws<ArgumentException>(() => SolveRunner.Run(ok with { Init = InitKind.Gaussian })).Message);
            Assert.Contains("width 5", Assert.Throws<ArgumentException>(() => SolveRunner.Run(ok with { Width = 5 })).Message);
            Assert.Throws<ArgumentException>(() => SolveRunner.Run(ok with { Method = SolveMethod.Nuclear }));
            var wrong = Initializers.Orthogonal([5, 3, 6], 0.7, 5);
            Assert.Contains("maps 5 to 6", Assert.Throws<ArgumentException>(() => SolveRunner.Run(ok with { Start = wrong })).Message);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Theory]
    [InlineData(SolveMethod.Flat)]
    [InlineData(SolveMethod.Penalty)]
    [InlineData(SolveMethod.Gd)]
    [InlineData(SolveMethod.LabelNoise)]
    [InlineData(SolveMethod.Sam)]
    [InlineData(SolveMethod.OneSam)]
    [InlineData(SolveMethod.WeightDecay)]
    [InlineData(SolveMethod.Nuclear)]
    [InlineData(SolveMethod.MinFrobenius)]
    public void EveryMethodRunsAndLowersTheLoss(SolveMethod method)
    {
        long? steps = method switch { SolveMethod.MinFrobenius => null, SolveMethod.LabelNoise or SolveMethod.OneSam => 2000, _ => 200 };
        var r = SolveRunner.Run(new SolveRequest
        {
            Generate = Small, Method = method, Steps = steps, HistoryEvery = method.IsBaseline() ? null : 0, Backend = BackendKind.Reference,
        });
        Assert.Equal(method, r.Method);
        Assert.True(r.Metrics.Loss < 0.1 * RunMetrics.NullLoss(r.Problem), $"{method.Name()}: loss {r.Metrics.Loss}");
        Assert.True(double.IsFinite(r.Metrics.NuclearNorm));
        Assert.Equal(BackendKind.Reference, r.Evaluator.Backend);
        Assert.True(r.Seconds > 0);
    }

    [Theory]
    [InlineData(SolveMethod.Gd, "lambda")]
    [InlineData(SolveMethod.Penalty, "lr")]
    [InlineData(SolveMethod.Flat, "rho")]
    [InlineData(SolveMethod.Sam, "sigma")]
    [InlineData(SolveMethod.Gd, "mu")]
    [InlineData(SolveMethod.MinFrobenius, "steps")]
    public void ParametersThatDoNotApplyAreRejected(SolveMethod method, string parameter)
    {
        var request = new SolveRequest { Generate = Small, Method = method };
        request = parameter switch
        {
            "lambda" => request with { Lambda = 0.1 },
            "lr" => request with { LearningRate = 0.1 },
            "rho" => request with { Rho = 0.1 },
            "sigma" => request with { Sigma = 0.1 },
            "mu" => request with { Mu = 0.1 },
            _ => request with { Steps = 10 },
        };
        var e = Assert.Throws<ArgumentException>(() => SolveRunner.Run(request));
        Assert.StartsWith($"{parameter} does not apply to method {method.Name()}", e.Message);
    }

    [Fact]
    public void InvalidRequestsAreRejected()
    {
        var ok = new SolveRequest { Generate = Small, Method = SolveMethod.Gd };
        Assert.Throws<ArgumentException>(() => SolveRunner.Run(ok with { ProblemFile = "p.npz" }));
        Assert.Throws<ArgumentException>(() => SolveRunner.Run(ok with { Generate = null }));
        Assert.Contains("depth", Assert.ThrowsAny<ArgumentException>(() => SolveRunner.Run(ok with { Depth = 0 })).Message);
        Assert.Contains("learning rate", Assert.ThrowsAny<ArgumentException>(() => SolveRunner.Run(ok with { LearningRate = -1 })).Message);
        Assert.Contains("rank", Assert.ThrowsAny<ArgumentException>(() => SolveRunner.Run(ok with { Generate = Small with { Rank = 7 } })).Message);
        Assert.Contains("starting point", Assert.Throws<ArgumentException>(() =>
            SolveRunner.Run(ok with { Method = SolveMethod.Nuclear, InitScale = 0.1 })).Message);
        Assert.Contains("init file", Assert.Throws<ArgumentException>(() => SolveRunner.Run(ok with { Init = InitKind.File })).Message);
        Assert.Contains("init scale", Assert.ThrowsAny<ArgumentException>(() => SolveRunner.Run(ok with { InitScale = -2 })).Message);
        Assert.Throws<ArgumentException>(() => SolveMethods.Parse("newton"));
    }
}

public sealed class SharpnessTrackingTests
{
    [Fact]
    public void TrackedSharpnessIsTheTopEigenvalueAtEachRecordedStep()
    {
        var r = Flatness.Solver.Runs.SolveRunner.Run(new Flatness.Solver.Runs.SolveRequest
        {
            Generate = new ProblemSpec(ProblemKind.Gaussian, 6, 6, 1, 40, Seed: 2), Method = Flatness.Solver.Runs.SolveMethod.Gd,
            Depth = 3, Steps = 300, LearningRate = 0.02, HistoryEvery = 0, TrackSharpness = 100, Backend = BackendKind.Cpu,
        });
        var rows = r.History.Rows;
        Assert.Equal(new long[] { 0, 100, 200, 300 }, rows.Select(row => row.Step));
        Assert.All(rows, row => Assert.True(double.IsFinite(row.LambdaMax) && row.LambdaMax > 0, $"step {row.Step}: {row.LambdaMax}"));
        using var evaluator = Evaluators.Create(r.Problem, r.Dims, new EvaluatorOptions { Backend = BackendKind.Reference });
        var exact = Flatness.Solver.Curvature.Lanczos.Extremes(new Flatness.Solver.Curvature.HessianOperator(evaluator, r.Layers!.Layers), 1);
        Assert.Equal(exact.LambdaMax, rows[^1].LambdaMax, 1e-7 * exact.LambdaMax);
        Assert.Contains(r.History.Columns(), c => c.Key == "history_lambda_max");
        Assert.Throws<ArgumentException>(() => Flatness.Solver.Runs.SolveRunner.Run(new Flatness.Solver.Runs.SolveRequest
        {
            Generate = new ProblemSpec(ProblemKind.Gaussian, 6, 6, 1, 40, Seed: 2), Method = Flatness.Solver.Runs.SolveMethod.Nuclear, TrackSharpness = 10,
        }));
    }
}

public sealed class CancellationTests
{
    private static readonly ProblemSpec Paper = new(ProblemKind.Gaussian, 20, 20, 2, 240, Seed: 1);

    /// <summary>
    /// Cancelling stops every method at its next step without throwing: the result is the iterate reached, measured,
    /// with the stop reason "cancelled"; a token cancelled before the start gives the starting point.
    /// </summary>
    [Theory]
    [InlineData(SolveMethod.Gd)]
    [InlineData(SolveMethod.Flat)]
    [InlineData(SolveMethod.Penalty)]
    [InlineData(SolveMethod.LabelNoise)]
    [InlineData(SolveMethod.Sam)]
    [InlineData(SolveMethod.OneSam)]
    [InlineData(SolveMethod.WeightDecay)]
    [InlineData(SolveMethod.Nuclear)]
    public void CancellingStopsAtTheNextStepAndKeepsTheIterate(SolveMethod method)
    {
        using var cancel = new CancellationTokenSource();
        long cancelledAt = -1;
        var reports = new List<ProgressReport>();
        var request = new SolveRequest
        {
            Generate = Paper, Method = method, Depth = 3, Backend = BackendKind.Cpu, Steps = 2000,
            HistoryEvery = method == SolveMethod.Nuclear ? null : 0,
            Cancellation = cancel.Token,
            Progress = new OptimizerTests.Callback<ProgressReport>(p =>
            {
                reports.Add(p);
                if (!p.Final && p.Step >= 5 && cancelledAt < 0) { cancelledAt = p.Step; cancel.Cancel(); }
            }),
        };
        var r = SolveRunner.Run(request);
        Assert.Equal("cancelled", r.StopReason);
        Assert.InRange(cancelledAt, 5, long.MaxValue);
        // One step at most after the cancellation (an L-BFGS iteration or an ADMM iteration is one step; the one-sample
        // methods look every 64 steps).
        Assert.InRange(r.Steps, cancelledAt, cancelledAt + 64);
        Assert.True(reports[^1].Final);
        Assert.True(double.IsFinite(r.Metrics.Loss));
        if (r.Layers is { } layers)
            Assert.Equal(r.Metrics.Loss, SolveRunnerTestsHelpers.LossAt(r.Problem, layers), 1e-9 * r.Metrics.Loss);

        var before = SolveRunner.Run(request with { Cancellation = new CancellationToken(canceled: true), Progress = null });
        Assert.Equal("cancelled", before.StopReason);
        Assert.Equal(0, before.Steps);
    }
}

internal static class SolveRunnerTestsHelpers
{
    public static double LossAt(SensingProblem problem, Factorization layers)
    {
        using var evaluator = Evaluators.Create(problem, layers.Dims, new EvaluatorOptions { Backend = BackendKind.Reference });
        return evaluator.Evaluate(layers.Layers, Quantities.Loss).Loss;
    }
}

public sealed class SolveThreadsTests
{
    private static readonly ProblemSpec Small = new(ProblemKind.Gaussian, 8, 8, 1, 80, Seed: 2);

    [Fact]
    public void AThreadLimitGivesTheSameRunAndABadOneIsRefusedFirst()
    {
        var request = new SolveRequest { Generate = Small, Method = SolveMethod.Gd, Steps = 50, Backend = BackendKind.Cpu, HistoryEvery = 0 };
        var free = SolveRunner.Run(request);
        var one = SolveRunner.Run(request with { Threads = 1 });
        Assert.Equal(free.Steps, one.Steps);
        Assert.Equal(free.Metrics.Loss, one.Metrics.Loss, 1e-12 * free.Metrics.Loss);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => SolveRunner.CheckParameters(request with { Threads = 0 }));
        Assert.Contains("--threads", e.Message);
    }
}
