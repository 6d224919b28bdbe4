using Flatness.Kernels.Tensors;
using Flatness.Solver.Backends;
using Flatness.Solver.Model;
using Flatness.Solver.Optimizers;
using Flatness.Solver.Problems;
using Flatness.Solver.Randomness;
using Flatness.Solver.Runs;

namespace Flatness.Tests;

/// <summary>
/// Checkpoints: a run resumed from any saved state ends exactly (bit for bit) where the run that was never stopped
/// ends, for every optimiser; the generator behind every random draw keeps System.Random's sequence and can be
/// saved; checkpoints of other runs are refused.
/// </summary>
public class CheckpointTests
{
    private static readonly SensingProblem Problem = Generators.Gaussian(5, 4, 1, 14, seed: 3);
    private static readonly int[] Dims = Initializers.Dims(5, 4, 3, 4);

    /// <summary>120 steps of gd on the problem above, as a solve request.</summary>
    private static readonly SolveRequest SmallGd = new()
    {
        Generate = new ProblemSpec(ProblemKind.Gaussian, 5, 4, 1, 14, Seed: 3), Depth = 3, Method = SolveMethod.Gd,
        LearningRate = 0.02, Steps = 120, Backend = BackendKind.Cpu, HistoryEvery = 0,
    };

    private static IEvaluator Cpu() => Evaluators.Create(Problem, Dims, new EvaluatorOptions { Backend = BackendKind.Cpu });
    private static Factorization Start() => Initializers.Gaussian(Dims, 0.7, 5);

    /// <summary>Every optimiser (and the variants with their own loops), with options small enough for a test.</summary>
    public static TheoryData<string> Methods => new()
    {
        "gd", "gd-backtracking", "flat", "sam", "penalty", "weight-decay", "weight-decay-gd", "label-noise", "one-sam",
    };

    private static IOptimizer Build(string name, OptimizerOptions common) => name switch
    {
        "gd" => new GradientDescent(new GradientDescentOptions { LearningRate = 0.02 }.With(common)),
        "gd-backtracking" => new GradientDescent(new GradientDescentOptions { LearningRate = 1, Backtracking = true }.With(common)),
        "flat" => new FlatGradientDescent(new FlatOptions { LearningRate = 0.02, Lambda = 1e-2 }.With(common)),
        "sam" => new Sam(new SamOptions { LearningRate = 0.02, Rho = 0.05 }.With(common)),
        "penalty" => new PenaltyContinuation(new PenaltyOptions { LossTolerance = 1e-12 }.With(common) with { MaxSteps = 400 }),
        "weight-decay" => new WeightDecay(new WeightDecayOptions { Mu = 1e-3 }.With(common) with { MaxSteps = 60 }),
        "weight-decay-gd" => new WeightDecay(new WeightDecayOptions { Mu = 1e-3, LearningRate = 0.02 }.With(common)),
        "label-noise" => new LabelNoiseSgd(new LabelNoiseOptions { LearningRate = 0.01, Sigma = 0.1, Seed = 9, CheckEvery = 7 }.With(common) with { MaxSteps = 700 }),
        "one-sam" => new OneSampleSam(new OneSampleSamOptions { LearningRate = 0.01, Rho = 0.05, Seed = 9, CheckEvery = 7 }.With(common) with { MaxSteps = 700 }),
        _ => throw new ArgumentException(name),
    };

    private static OptimizerOptions Common(CheckpointPolicy? policy = null, OptimizerCheckpoint? resume = null,
        CancellationToken cancellation = default, IProgress<ProgressReport>? progress = null) => new()
    {
        MaxSteps = 150, HistoryEvery = 10, TrackSharpness = 25, Checkpoints = policy, ResumeFrom = resume,
        Cancellation = cancellation, Progress = progress,
    };

    private static void AssertSameRun(OptimizerResult expected, OptimizerResult actual, string what)
    {
        for (int j = 0; j < expected.Layers.Depth; j++)
            Assert.True(expected.Layers.Layers[j].Data.AsSpan().SequenceEqual(actual.Layers.Layers[j].Data),
                $"{what}: layer {j + 1} differs (largest difference {expected.Layers.Layers[j].Data.Zip(actual.Layers.Layers[j].Data, (a, b) => Math.Abs(a - b)).Max():G3})");
        Assert.Equal(expected.Steps, actual.Steps);
        Assert.Equal(expected.Reason, actual.Reason);
        Assert.Equal(expected.Backoffs, actual.Backoffs);
        Assert.Equal(expected.FinalLearningRate, actual.FinalLearningRate);
        Assert.Equal(expected.FinalMu, actual.FinalMu);
        Assert.Equal(expected.Stages, actual.Stages);
        Assert.Equal(expected.History.Count, actual.History.Count);
        for (int r = 0; r < expected.History.Count; r++)
            Assert.Equal(expected.History.Rows[r] with { Seconds = 0 }, actual.History.Rows[r] with { Seconds = 0 });
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public void ResumingFromAnySavedStateEndsBitIdentical(string method)
    {
        using var evaluator = Cpu();
        var plain = Build(method, Common()).Run(evaluator, Start());
        var saved = new List<OptimizerCheckpoint>();
        var policy = new CheckpointPolicy { Every = TimeSpan.Zero, Save = saved.Add };
        var recorded = Build(method, Common(policy)).Run(evaluator, Start());
        AssertSameRun(plain, recorded, $"{method} with checkpoints");
        Assert.True(saved.Count >= 3, $"{method}: {saved.Count} checkpoints");
        Assert.True(plain.Steps >= 20, $"{method} took only {plain.Steps} steps");

        string file = Path.Combine(Path.GetTempPath(), $"flatness-ckpt-{Guid.NewGuid():N}.npz");
        try
        {
            foreach (var checkpoint in new[] { saved[0], saved[1], saved[saved.Count / 3], saved[2 * saved.Count / 3], saved[^1] }.Distinct())
            {
                checkpoint.Save(file, "test");
                var loaded = OptimizerCheckpoint.Load(file);
                Assert.Equal(("test", checkpoint.Step, Build(method, Common()).Method), (loaded.Tag, loaded.Step, loaded.Method));
                var resumed = Build(method, Common(resume: loaded)).Run(evaluator, Start());
                AssertSameRun(plain, resumed, $"{method} resumed at step {checkpoint.Step}");
            }
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void PenaltyCheckpointsInsideAndBetweenStagesBothResume()
    {
        using var evaluator = Cpu();
        var saved = new List<OptimizerCheckpoint>();
        var plain = Build("penalty", Common(new CheckpointPolicy { Every = TimeSpan.Zero, Save = saved.Add })).Run(evaluator, Start());
        Assert.True(plain.Stages >= 2, $"{plain.Stages} stages");
        var within = saved.Where(c => c.Has("lbfgs_counters")).ToList();
        var between = saved.Where(c => !c.Has("lbfgs_counters")).ToList();
        Assert.True(within.Count > 10 && between.Count >= 2, $"{within.Count} within stages, {between.Count} between");
        foreach (var checkpoint in new[] { within[within.Count / 2], within[^1], between[1], between[^1] })
            AssertSameRun(plain, Build("penalty", Common(resume: checkpoint)).Run(evaluator, Start()), $"penalty resumed at step {checkpoint.Step}");
    }

    [Theory]
    [InlineData("gd")]
    [InlineData("penalty")]
    [InlineData("label-noise")]
    public void ACancelledRunSavesWhereItStoppedAndTheResumeFinishesIt(string method)
    {
        using var evaluator = Cpu();
        var plain = Build(method, Common()).Run(evaluator, Start());
        using var cancel = new CancellationTokenSource();
        var saved = new List<OptimizerCheckpoint>();
        var progress = new OptimizerTests.Callback<ProgressReport>(p => { if (p.Step >= plain.Steps / 3) cancel.Cancel(); });
        var policy = new CheckpointPolicy { Every = TimeSpan.FromHours(1), Save = saved.Add };
        var stopped = Build(method, Common(policy, cancellation: cancel.Token, progress: progress)).Run(evaluator, Start());
        Assert.Equal(StopReason.Cancelled, stopped.Reason);
        var checkpoint = Assert.Single(saved); // none was due by time: only the save at the interruption
        Assert.InRange(checkpoint.Step, 1, plain.Steps - 1);
        var resumed = Build(method, Common(resume: checkpoint)).Run(evaluator, Start());
        AssertSameRun(plain, resumed, $"{method} resumed after a cancel at step {checkpoint.Step}");
    }

    /// <summary>
    /// A signal inside a penalty stage ends the run as cancelled wherever it comes, even where the stage has already
    /// pushed the loss below the tolerance (an uninterrupted run tests the loss only at the end of the stage): resumed,
    /// it ends as the uninterrupted run; a signal as the last stage ends leaves that run, complete.
    /// </summary>
    [Fact]
    public void APenaltyRunStoppedAnywhereInsideAStageIsCancelledAndResumes()
    {
        using var evaluator = Cpu();
        var all = new List<OptimizerCheckpoint>();
        var plain = Build("penalty", Common(new CheckpointPolicy { Every = TimeSpan.Zero, Save = all.Add })).Run(evaluator, Start());
        // Every step of the last stage (where the loss falls below the tolerance before the stage ends), and a few before.
        long lastStage = all.Last(c => !c.Has("lbfgs_counters") && c.Step < plain.Steps).Step;
        var points = Enumerable.Range(1, 4).Select(i => i * lastStage / 5).Concat(Enumerable.Range((int)lastStage + 1, (int)(plain.Steps - lastStage) - 1).Select(i => (long)i));
        foreach (long at in points)
        {
            using var cancel = new CancellationTokenSource();
            var saved = new List<OptimizerCheckpoint>();
            long stopAt = at;
            var progress = new OptimizerTests.Callback<ProgressReport>(p => { if (p.Step >= stopAt) cancel.Cancel(); });
            var stopped = Build("penalty", Common(new CheckpointPolicy { Every = TimeSpan.FromHours(1), Save = saved.Add },
                cancellation: cancel.Token, progress: progress)).Run(evaluator, Start());
            if (stopped.Reason != StopReason.Cancelled)
            {
                // The signal came as the last stage ended: the run is then complete, and exactly the uninterrupted one.
                AssertSameRun(plain, stopped, $"penalty finished while cancelled at step {at}");
                continue;
            }
            var resumed = Build("penalty", Common(resume: Assert.Single(saved))).Run(evaluator, Start());
            AssertSameRun(plain, resumed, $"penalty cancelled at step {at}");
        }
    }

    [Fact]
    public void ACheckpointWrittenOnAnotherThreadCountIsRefusedAndAFailedSaveOnlyWarns()
    {
        string dir = Directory.CreateTempSubdirectory("flatness-ckpt-").FullName;
        try
        {
            string file = Path.Combine(dir, "run.ckpt");
            var request = SmallGd with { Threads = 1, CheckpointFile = file };
            using (var cancel = new CancellationTokenSource())
                SolveRunner.Run(request with
                {
                    Cancellation = cancel.Token,
                    Progress = new OptimizerTests.Callback<ProgressReport>(p => { if (p.Step >= 50) cancel.Cancel(); }),
                });
            var e = Assert.Throws<ProblemFileException>(() => SolveRunner.Run(request with { Threads = 2 }));
            Assert.Contains("would not resume to the same bits", e.Message);
            Assert.Contains("1 threads", e.Message);

            // The checkpoint's directory vanishes during the run: one warning, and the run still ends normally.
            string gone = Path.Combine(dir, "gone");
            Directory.CreateDirectory(gone);
            var warnings = new List<string>();
            var result = SolveRunner.Run(request with
            {
                CheckpointFile = Path.Combine(gone, "run.ckpt"), CheckpointEvery = TimeSpan.Zero, Warn = warnings.Add,
                Progress = new OptimizerTests.Callback<ProgressReport>(p => { if (p.Step == 10 && Directory.Exists(gone)) Directory.Delete(gone, true); }),
            });
            Assert.Equal(120, result.Steps);
            Assert.Contains(warnings, w => w.StartsWith("checkpoint not saved", StringComparison.Ordinal));
            Assert.Single(warnings);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [SkippableFact]
    public void AFifoAsTheProblemIsRefusedAlsoWhenACheckpointExists()
    {
        Skip.IfNot(OperatingSystem.IsLinux() && File.Exists("/usr/bin/mkfifo"), "needs Linux and mkfifo");
        string dir = Directory.CreateTempSubdirectory("flatness-ckpt-").FullName;
        try
        {
            string fifo = Path.Combine(dir, "problem.npz"), file = Path.Combine(dir, "run.ckpt");
            using (var mk = System.Diagnostics.Process.Start("/usr/bin/mkfifo", [fifo])) mk.WaitForExit();
            File.WriteAllText(file, "");
            var run = Task.Run(() => SolveRunner.Run(new SolveRequest { ProblemFile = fifo, Method = SolveMethod.Gd, CheckpointFile = file }));
            Assert.True(run.Wait(TimeSpan.FromSeconds(30)) || run.IsFaulted, "the run blocked on the pipe");
        }
        catch (AggregateException e) when (e.InnerException is ProblemFileException p)
        {
            Assert.Contains("not a regular file", p.Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void ACheckpointOfAnotherMethodIsRefused()
    {
        using var evaluator = Cpu();
        var saved = new List<OptimizerCheckpoint>();
        Build("gd", Common(new CheckpointPolicy { Every = TimeSpan.Zero, Save = saved.Add })).Run(evaluator, Start());
        var e = Assert.Throws<ArgumentException>(() => Build("flat", Common(resume: saved[3])).Run(evaluator, Start()));
        Assert.Contains("written by method gd, not flat", e.Message);
    }

    [Fact]
    public void TheSolveRunnerResumesItsOwnCheckpointAndRefusesAnotherRequests()
    {
        string dir = Directory.CreateTempSubdirectory("flatness-ckpt-").FullName;
        try
        {
            string file = Path.Combine(dir, "run.ckpt");
            var request = SmallGd;
            var plain = SolveRunner.Run(request);
            Assert.Null(plain.ResumedAtStep);

            using var cancel = new CancellationTokenSource();
            var progress = new OptimizerTests.Callback<ProgressReport>(p => { if (p.Step >= 50) cancel.Cancel(); });
            var first = SolveRunner.Run(request with { CheckpointFile = file, Cancellation = cancel.Token, Progress = progress });
            Assert.Equal("cancelled", first.StopReason);
            Assert.True(File.Exists(file));

            var resumed = SolveRunner.Run(request with { CheckpointFile = file });
            Assert.Equal(first.Steps, resumed.ResumedAtStep);
            Assert.Equal(plain.Steps, resumed.Steps);
            for (int j = 0; j < 3; j++)
                Assert.True(plain.Layers!.Layers[j].Data.AsSpan().SequenceEqual(resumed.Layers!.Layers[j].Data), $"layer {j + 1}");

            var other = Assert.Throws<ProblemFileException>(() => SolveRunner.Run(request with { CheckpointFile = file, LearningRate = 0.03 }));
            Assert.Contains("written by another command or version", other.Message);
            Assert.Contains(file, other.Message);
            File.WriteAllText(file, "not a zip");
            Assert.Throws<ProblemFileException>(() => SolveRunner.Run(request with { CheckpointFile = file }));
            Assert.Throws<ArgumentException>(() => SolveRunner.Run(request with { Method = SolveMethod.Nuclear, LearningRate = null, CheckpointFile = file }));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(-7)]
    [InlineData(20240601)]
    [InlineData(int.MaxValue)]
    [InlineData(int.MinValue)]
    public void TheGeneratorDrawsSystemRandomsSequence(int seed)
    {
        var expected = new Random(seed);
        var actual = new SubtractiveGenerator(seed);
        long[] bounds = [2, 3, 1000, (1L << 40) + 3, long.MaxValue];
        for (int t = 0; t < 3000; t++)
        {
            switch (t % 3)
            {
                case 0: Assert.Equal(expected.NextDouble(), actual.NextDouble()); break;
                case 1: Assert.Equal(expected.Next(1 + t % 977), actual.Next(1 + t % 977)); break;
                default: Assert.Equal(expected.NextInt64(bounds[t % 5]), actual.NextInt64(bounds[t % 5])); break;
            }
        }
    }

    [Fact]
    public void ASamplerRestoredFromItsStateContinuesItsDraws()
    {
        var sampler = new NormalSampler(42);
        for (int t = 0; t < 7; t++) sampler.Next(); // odd: a Box-Muller value is pending
        sampler.NextInt(10);
        var copy = NormalSampler.FromState(sampler.SaveState());
        for (int t = 0; t < 200; t++)
        {
            Assert.Equal(sampler.Next(), copy.Next());
            Assert.Equal(sampler.NextInt(97), copy.NextInt(97));
            Assert.Equal(sampler.NextLong(1L << 45), copy.NextLong(1L << 45));
        }
        Assert.Throws<ArgumentException>(() => NormalSampler.FromState([1, 2, 3]));
    }
}

internal static class OptionsCopy
{
    /// <summary><paramref name="options"/> with the shared settings of <paramref name="common"/>.</summary>
    public static T With<T>(this T options, OptimizerOptions common) where T : OptimizerOptions =>
        (T)((OptimizerOptions)options with
        {
            MaxSteps = common.MaxSteps, HistoryEvery = common.HistoryEvery, TrackSharpness = common.TrackSharpness,
            Checkpoints = common.Checkpoints, ResumeFrom = common.ResumeFrom, Cancellation = common.Cancellation, Progress = common.Progress,
        });
}
