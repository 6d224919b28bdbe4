using Flatness.Solver.Backends;
using Flatness.Solver.Model;
using Flatness.Solver.Optimizers;
using Flatness.Solver.Problems;

namespace Flatness.Solver.Runs;

/// <summary>
/// One solve: a problem (in memory, from a file or generated), a model shape and starting point, a method with its parameters,
/// and the evaluator to use. Null parameters take the method's defaults; a parameter set for a method it does not
/// apply to is an error (see <see cref="SolveMethods.Parameters"/>).
/// </summary>
public sealed record SolveRequest
{
    /// <summary>The problem, in memory; exactly one of this, <see cref="ProblemFile"/> and <see cref="Generate"/>.</summary>
    public SensingProblem? Problem { get; init; }
    /// <summary>Problem file (.npz); exactly one of this, <see cref="Problem"/> and <see cref="Generate"/>.</summary>
    public string? ProblemFile { get; init; }
    /// <summary>Problem to generate; exactly one of this, <see cref="Problem"/> and <see cref="ProblemFile"/>.</summary>
    public ProblemSpec? Generate { get; init; }

    /// <summary>Depth L; default 2, or that of <see cref="InitFile"/>.</summary>
    public int? Depth { get; init; }
    /// <summary>Hidden width; default max(d_0, d_L), or those of <see cref="InitFile"/>.</summary>
    public int? Width { get; init; }
    /// <summary>Starting point; null means Gaussian (not allowed for the baselines, which take no starting point).</summary>
    public InitKind? Init { get; init; }
    /// <summary>Scale of the initialisation (default 1).</summary>
    public double? InitScale { get; init; }
    /// <summary>Layers file for <see cref="InitKind.File"/>.</summary>
    public string? InitFile { get; init; }
    /// <summary>
    /// Starting layers in memory (not modified), instead of <see cref="Init"/>; they must map d_0 to d_L of the problem,
    /// and fix the depth and widths.
    /// </summary>
    public Factorization? Start { get; init; }
    /// <summary>
    /// Seed of the run's random draws: the initialisation uses seed + 1 and one-sample methods' sample path seed + 2
    /// (a generated problem has its own seed in <see cref="Generate"/>).
    /// </summary>
    public int Seed { get; init; }

    /// <summary>The method (README "solve" lists what each minimises). Its parameters below left null take its defaults.</summary>
    public SolveMethod Method { get; init; } = SolveMethod.Penalty;
    /// <summary>lambda of <c>flat</c>: the weight of tr H in L + lambda tr H.</summary>
    public double? Lambda { get; init; }
    /// <summary>The step size of the gradient methods.</summary>
    public double? LearningRate { get; init; }
    /// <summary>Step budget (L-BFGS iterations for penalty and weight-decay, ADMM iterations for nuclear).</summary>
    public long? Steps { get; init; }
    /// <summary>Label-noise standard deviation of <c>label-noise</c>.</summary>
    public double? Sigma { get; init; }
    /// <summary>The SAM radius of <c>sam</c> and <c>one-sam</c>.</summary>
    public double? Rho { get; init; }
    /// <summary>The first penalty weight of <c>penalty</c>, or the weight-decay coefficient of <c>weight-decay</c>.</summary>
    public double? Mu { get; init; }

    /// <summary>The evaluator's device family (auto: the selector's cheapest candidate).</summary>
    public BackendKind Backend { get; init; } = BackendKind.Auto;
    /// <summary>The evaluator's element type.</summary>
    public Precision Precision { get; init; } = Precision.F64;
    /// <summary>Most CPU threads the evaluator may use (null: every core); see <see cref="EvaluatorOptions.Threads"/>.</summary>
    public int? Threads { get; init; }
    /// <summary>Where a device fallback is reported (one line); null drops it.</summary>
    public Action<string>? Warn { get; init; }
    /// <summary>History row every this many steps (null: the method's default; 0: none).</summary>
    public int? HistoryEvery { get; init; }
    /// <summary>Track lambda_max every this many steps (see <see cref="Optimizers.OptimizerOptions.TrackSharpness"/>).</summary>
    public int? TrackSharpness { get; init; }
    /// <summary>Optional wall-clock limit of the method (the stop reason is then "time-limit").</summary>
    public TimeSpan? TimeLimit { get; init; }
    /// <summary>Told now and then where the method stands, on the run's thread.</summary>
    public IProgress<ProgressReport>? Progress { get; init; }
    /// <summary>
    /// Once cancelled the method stops at its next step and the result holds what it reached (stop reason
    /// "cancelled"); the metrics are still computed.
    /// </summary>
    public CancellationToken Cancellation { get; init; }
    /// <summary>
    /// Checkpoint file of the method's state (not for the baselines): written atomically every
    /// <see cref="CheckpointEvery"/> and when the run is cancelled or out of time. When the file exists at the start the
    /// run resumes from it and ends with the same layers as a run never stopped (same machine and thread count); a
    /// checkpoint of another request or code version is refused. The file is left in place: delete it once the
    /// result is stored.
    /// </summary>
    public string? CheckpointFile { get; init; }
    /// <summary>Least time between two checkpoints (default one minute; zero: every step).</summary>
    public TimeSpan CheckpointEvery { get; init; } = TimeSpan.FromMinutes(1);
}
