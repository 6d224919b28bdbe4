using System.Diagnostics;
using Flatness.Kernels.Tensors;
using Flatness.Solver.Backends;
using Flatness.Solver.Baselines;
using Flatness.Solver.Metrics;
using Flatness.Solver.Model;
using Flatness.Solver.Optimizers;
using Flatness.Solver.Problems;

namespace Flatness.Solver.Runs;

/// <summary>
/// Runs a <see cref="SolveRequest"/>: checks it, loads or generates the problem, builds the starting point, lets the
/// selector pick the evaluator, runs the method and measures the result. Everything a `solve` command needs, as one call.
/// </summary>
public static class SolveRunner
{
    /// <inheritdoc/>
    public static SolveResult Run(SolveRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var method = request.Method;
        CheckParameters(request);
        var optimizer = method.IsBaseline() ? null : BuildOptimizer(request);
        if (request.CheckpointFile is { } checkpointFile) IO.AtomicFile.RequireWritable(checkpointFile); // before any work
        var nuclearOptions = method == SolveMethod.Nuclear ? BuildNuclearOptions(request) : null;

        var problem = request.Problem
            ?? (request.ProblemFile is { } file ? ProblemFiles.LoadProblem(file) : Generators.Generate(request.Generate!));
        Factorization? start = null;
        int[] dims;
        if (request.Init == InitKind.File || request.Start is not null)
        {
            string source = request.Start is null ? request.InitFile! : "the starting layers";
            start = request.Start ?? ProblemFiles.LoadLayers(request.InitFile!, problem);
            LayerChecks.RequireDims(start.Dims, problem);
            dims = start.Dims;
            if (request.Depth is int depth && depth != start.Depth)
                throw new ArgumentException($"depth {depth} differs from the {start.Depth} layers of {source}");
            if (request.Width is int width && start.Dims.Skip(1).SkipLast(1).Any(d => d != width))
                throw new ArgumentException($"width {width} differs from the hidden widths [{string.Join(", ", start.Dims[1..^1])}] of {source}");
        }
        else
        {
            dims = Initializers.Dims(problem.InputDim, problem.OutputDim, request.Depth ?? 2, request.Width);
            if (!method.IsBaseline())
                start = Initializers.Create(request.Init ?? InitKind.Gaussian, dims, request.InitScale ?? 1.0, unchecked(request.Seed + 1));
        }

        var clock = Stopwatch.StartNew();
        var choice = EvaluatorSelector.Choose(problem, dims, new EvaluatorOptions
        {
            Backend = request.Backend, Precision = request.Precision, ExpectedEvaluations = ExpectedEvaluations(request, optimizer),
        });
        using var evaluator = Evaluators.Create(problem, dims, choice, request.Warn, request.Threads);
        if (optimizer is not null)
        {
            // Checkpoints record what ran (the evaluator chosen, the threads): known only now.
            if (request.CheckpointFile is not null) optimizer = BuildOptimizer(request, SolveCheckpoints.Machine(choice, request.Threads));
            var run = optimizer.Run(evaluator, start!);
            double lambda = method == SolveMethod.Flat ? ((FlatOptions)OptionsOf(optimizer)).Lambda : 0.0;
            var metrics = RunMetrics.AtLayers(evaluator, run.Layers.Layers, lambda);
            return new SolveResult
            {
                Method = method,
                Problem = problem,
                Dims = dims,
                Metrics = metrics,
                Layers = run.Layers,
                History = run.History,
                Steps = run.Steps,
                Seconds = clock.Elapsed.TotalSeconds,
                Backoffs = run.Backoffs,
                FinalLearningRate = run.FinalLearningRate,
                StopReason = ReasonName(run.Reason),
                Evaluator = choice,
                Parameters = ParametersOf(OptionsOf(optimizer)),
                ResumedAtStep = OptionsOf(optimizer).ResumeFrom?.Step,
            };
        }

        Matrix<double> e;
        long steps;
        string reason;
        var parameters = new List<KeyValuePair<string, double>>();
        if (method == SolveMethod.Nuclear)
        {
            var nuclear = NuclearNormMinimization.Solve(problem, nuclearOptions);
            (e, steps, reason) = (nuclear.Solution, nuclear.Iterations,
                nuclear.Converged ? "converged" : nuclear.Cancelled ? "cancelled" : "max-steps");
            parameters.Add(new("steps", nuclearOptions!.MaxIterations));
        }
        else
        {
            var mf = MinimumFrobenius.Solve(problem);
            (e, steps, reason) = (mf.Solution, mf.Iterations, "solved");
        }
        var final = RunMetrics.AtEndToEnd(evaluator, e, dims);
        var history = new RunHistory();
        history.Add(new HistoryRow(steps, clock.Elapsed.TotalSeconds, final.Loss, final.HessianTrace, final.FlatnessG, double.NaN,
            final.RelativeError ?? double.NaN, final.NuclearNorm, double.NaN, double.NaN));
        return new SolveResult
        {
            Method = method,
            Problem = problem,
            Dims = dims,
            Metrics = final,
            History = history,
            Steps = steps,
            Seconds = clock.Elapsed.TotalSeconds,
            Backoffs = 0,
            StopReason = reason,
            Evaluator = choice,
            Parameters = parameters,
        };
    }

    /// <summary>Checks which parameters are set against the method, and the problem and model sources.</summary>
    public static void CheckParameters(SolveRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if ((request.Problem is null ? 0 : 1) + (request.ProblemFile is null ? 0 : 1) + (request.Generate is null ? 0 : 1) != 1)
            throw new ArgumentException("give exactly one problem: in memory, a problem file or a problem to generate");
        if (request.Threads is < 1)
            throw new ArgumentOutOfRangeException(nameof(request.Threads), $"--threads must be at least 1, got {request.Threads}");
        var method = request.Method;
        var allowed = method.Parameters();
        void Require(bool set, MethodParameters p, string name)
        {
            if (set && !allowed.HasFlag(p))
                throw new ArgumentException($"{name} does not apply to method {method.Name()} ({Takes(method)})");
        }
        Require(request.Lambda is not null, MethodParameters.Lambda, "lambda");
        Require(request.LearningRate is not null, MethodParameters.LearningRate, "lr");
        Require(request.Steps is not null, MethodParameters.Steps, "steps");
        Require(request.Sigma is not null, MethodParameters.Sigma, "sigma");
        Require(request.Rho is not null, MethodParameters.Rho, "rho");
        Require(request.Mu is not null, MethodParameters.Mu, "mu");

        if (request.Start is not null && (request.Init is not null || request.InitScale is not null || request.InitFile is not null))
            throw new ArgumentException("starting layers replace init, init scale and init file: give one or the other");
        if (method.IsBaseline() && (request.Init is not null || request.InitScale is not null || request.InitFile is not null || request.Start is not null))
            throw new ArgumentException($"method {method.Name()} is convex and takes no starting point (no init, init scale or init file)");
        if (request.Init == InitKind.File && request.InitFile is null)
            throw new ArgumentException("init 'file' needs an init file with the layers W1 .. WL");
        if (request.InitFile is not null && request.Init != InitKind.File)
            throw new ArgumentException("an init file is read only with init 'file'");
        if (request.Init == InitKind.File && request.InitScale is not null)
            throw new ArgumentException("init scale does not apply to init 'file' (the layers are used as stored)");
        if (request.InitScale is double s && !(s > 0 && double.IsFinite(s)))
            throw new ArgumentOutOfRangeException(nameof(request), $"init scale must be finite and positive, got {s}");
        if (request.Depth is int depth && depth < 1)
            throw new ArgumentOutOfRangeException(nameof(request), $"depth L must be >= 1, got {depth}");
        if (request.Width is int width && width < 1)
            throw new ArgumentOutOfRangeException(nameof(request), $"width must be >= 1, got {width}");
        if (method.IsBaseline() && request.HistoryEvery is not null)
            throw new ArgumentException($"history interval does not apply to method {method.Name()} (it reports its final point only)");
        if (method.IsBaseline() && request.TrackSharpness is not null)
            throw new ArgumentException($"--track-sharpness does not apply to method {method.Name()} (it has no training steps)");
        if (request.TrackSharpness is int track && track < 1)
            throw new ArgumentOutOfRangeException(nameof(request), $"--track-sharpness must be at least 1 step, got {track}");
        if (method == SolveMethod.MinFrobenius && request.TimeLimit is not null)
            throw new ArgumentException("time limit does not apply to method min-frobenius (a direct solve)");
        if (method.IsBaseline() && request.CheckpointFile is not null)
            throw new ArgumentException($"--checkpoint does not apply to method {method.Name()} (it has no optimiser state to save)");
        if (request.CheckpointEvery < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(request), $"--checkpoint-every must be >= 0 seconds, got {request.CheckpointEvery.TotalSeconds}");
        if (request.HistoryEvery is int every && every < 0)
            throw new ArgumentOutOfRangeException(nameof(request), $"history interval must be >= 0, got {every}");
    }

    private static string Takes(SolveMethod method)
    {
        var names = new List<string>();
        var p = method.Parameters();
        if (p.HasFlag(MethodParameters.Lambda)) names.Add("lambda");
        if (p.HasFlag(MethodParameters.LearningRate)) names.Add("lr");
        if (p.HasFlag(MethodParameters.Steps)) names.Add("steps");
        if (p.HasFlag(MethodParameters.Sigma)) names.Add("sigma");
        if (p.HasFlag(MethodParameters.Rho)) names.Add("rho");
        if (p.HasFlag(MethodParameters.Mu)) names.Add("mu");
        return names.Count == 0 ? "it takes no parameters" : "it takes " + string.Join(", ", names);
    }

    /// <summary>
    /// The optimiser with the request's parameters over the method's defaults; options are validated here. (The
    /// request's checkpoint file is attached by <see cref="Run"/>, once the evaluator is chosen.)
    /// </summary>
    public static IOptimizer BuildOptimizer(SolveRequest request) => BuildOptimizer(request, machine: null);

    /// <summary><see cref="BuildOptimizer(SolveRequest)"/>, with the checkpoint file attached when <paramref name="machine"/> is given.</summary>
    private static IOptimizer BuildOptimizer(SolveRequest request, string? machine)
    {
        string? file = machine is null ? null : request.CheckpointFile;
        string fingerprint = file is null ? "" : SolveCheckpoints.Tag(request);
        OptimizerCheckpoint? resume = file is not null && File.Exists(file) ? SolveCheckpoints.Load(file, fingerprint) : null;
        if (resume is not null) SolveCheckpoints.RequireMachine(file!, resume, machine!);
        bool warned = false;
        void Save(OptimizerCheckpoint checkpoint)
        {
            try
            {
                checkpoint.Save(file!, SolveCheckpoints.Tag(fingerprint, machine!));
            }
            catch (ProblemFileException e)
            {
                // A failed save (a full disk) costs the checkpoint, never the run: the last good one stays in place.
                if (!warned) request.Warn?.Invoke($"checkpoint not saved ({e.Message}); the run goes on");
                warned = true;
            }
        }
        OptimizerOptions Common(OptimizerOptions o) => o with
        {
            MaxSteps = request.Steps ?? o.MaxSteps,
            HistoryEvery = request.HistoryEvery ?? o.HistoryEvery,
            TrackSharpness = request.TrackSharpness ?? 0,
            TimeLimit = request.TimeLimit,
            Progress = request.Progress,
            Cancellation = request.Cancellation,
            Checkpoints = file is null ? null : new CheckpointPolicy { Every = request.CheckpointEvery, Save = Save },
            ResumeFrom = resume,
        };
        int sampleSeed = unchecked(request.Seed + 2);
        IOptimizer optimizer = request.Method switch
        {
            SolveMethod.Flat => new FlatGradientDescent((FlatOptions)Common(new FlatOptions()) with
            {
                Lambda = request.Lambda ?? new FlatOptions().Lambda,
                LearningRate = request.LearningRate ?? new FlatOptions().LearningRate,
            }),
            SolveMethod.Penalty => new PenaltyContinuation((PenaltyOptions)Common(new PenaltyOptions()) with { InitialMu = request.Mu }),
            SolveMethod.Gd => new GradientDescent((GradientDescentOptions)Common(new GradientDescentOptions()) with
            {
                LearningRate = request.LearningRate ?? new GradientDescentOptions().LearningRate,
            }),
            SolveMethod.LabelNoise => new LabelNoiseSgd((LabelNoiseOptions)Common(new LabelNoiseOptions()) with
            {
                LearningRate = request.LearningRate ?? new LabelNoiseOptions().LearningRate,
                Sigma = request.Sigma ?? new LabelNoiseOptions().Sigma,
                Seed = sampleSeed,
            }),
            SolveMethod.Sam => new Sam((SamOptions)Common(new SamOptions()) with
            {
                LearningRate = request.LearningRate ?? new SamOptions().LearningRate,
                Rho = request.Rho ?? new SamOptions().Rho,
            }),
            SolveMethod.OneSam => new OneSampleSam((OneSampleSamOptions)Common(new OneSampleSamOptions()) with
            {
                LearningRate = request.LearningRate ?? new OneSampleSamOptions().LearningRate,
                Rho = request.Rho ?? new OneSampleSamOptions().Rho,
                Seed = sampleSeed,
            }),
            SolveMethod.WeightDecay => new WeightDecay((WeightDecayOptions)Common(new WeightDecayOptions()) with
            {
                Mu = request.Mu ?? new WeightDecayOptions().Mu,
                LearningRate = request.LearningRate,
            }),
            _ => throw new ArgumentException($"method {request.Method.Name()} is not an optimiser"),
        };
        OptionsOf(optimizer).Validate();
        return optimizer;
    }

    private static NuclearOptions BuildNuclearOptions(SolveRequest request)
    {
        var options = new NuclearOptions
        {
            MaxIterations = request.Steps is long s ? (int)Math.Clamp(s, int.MinValue, int.MaxValue) : new NuclearOptions().MaxIterations,
            TimeLimit = request.TimeLimit,
            Progress = request.Progress,
            Cancellation = request.Cancellation,
        };
        options.Validate();
        return options;
    }

    private static OptimizerOptions OptionsOf(IOptimizer optimizer) => optimizer switch
    {
        FlatGradientDescent f => f.Options,
        PenaltyContinuation p => p.Options,
        GradientDescent g => g.Options,
        LabelNoiseSgd l => l.Options,
        Sam s => s.Options,
        OneSampleSam o => o.Options,
        WeightDecay w => w.Options,
        _ => throw new ArgumentException($"unknown optimiser {optimizer.Method}"),
    };

    private static IReadOnlyList<KeyValuePair<string, double>> ParametersOf(OptimizerOptions options)
    {
        var list = new List<KeyValuePair<string, double>>();
        void Add(string name, double value) => list.Add(new(name, value));
        switch (options)
        {
            case FlatOptions f: Add("lambda", f.Lambda); Add("lr", f.LearningRate); break;
            case PenaltyOptions p: if (p.InitialMu is double mu) Add("mu", mu); break;
            case GradientDescentOptions g: Add("lr", g.LearningRate); break;
            case LabelNoiseOptions l: Add("lr", l.LearningRate); Add("sigma", l.Sigma); break;
            case SamOptions s: Add("lr", s.LearningRate); Add("rho", s.Rho); break;
            case OneSampleSamOptions o: Add("lr", o.LearningRate); Add("rho", o.Rho); break;
            case WeightDecayOptions w: Add("mu", w.Mu); if (w.LearningRate is double lr) Add("lr", lr); break;
        }
        Add("steps", options.MaxSteps);
        return list;
    }

    /// <summary>Evaluations the method is expected to make, against which the selector amortises set-up costs.</summary>
    private static long ExpectedEvaluations(SolveRequest request, IOptimizer? optimizer)
    {
        if (optimizer is null) return 1;
        var o = OptionsOf(optimizer);
        long steps = Math.Max(1, Math.Min(o.MaxSteps, 10_000_000));
        long history = o.HistoryEvery > 0 ? steps / o.HistoryEvery : 0;
        return Math.Max(1, request.Method switch
        {
            SolveMethod.LabelNoise => steps / ((LabelNoiseOptions)o).CheckEvery,
            SolveMethod.OneSam => steps / ((OneSampleSamOptions)o).CheckEvery,
            SolveMethod.Sam => 2 * steps,
            SolveMethod.Penalty or SolveMethod.WeightDecay => steps + steps / 2,
            _ => steps,
        } + history);
    }

    /// <summary>"max-steps", "loss-tolerance", ...</summary>
    public static string ReasonName(StopReason reason) => reason switch
    {
        StopReason.MaxSteps => "max-steps",
        StopReason.LossTolerance => "loss-tolerance",
        StopReason.GradientTolerance => "gradient-tolerance",
        StopReason.ObjectiveTolerance => "objective-tolerance",
        StopReason.TimeLimit => "time-limit",
        StopReason.Diverged => "diverged",
        StopReason.LineSearchFailed => "line-search-failed",
        StopReason.StageLimit => "stage-limit",
        StopReason.Cancelled => "cancelled",
        _ => reason.ToString(),
    };
}
