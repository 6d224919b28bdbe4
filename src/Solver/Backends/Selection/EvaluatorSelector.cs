using Flatness.Solver;
using System.Globalization;
using Flatness.Kernels.Gpu;
using Flatness.Solver.Backends.Core;
using Flatness.Solver.Backends.Cpu;
using Flatness.Solver.Backends.Gpu;
using Flatness.Solver.Problems;

namespace Flatness.Solver.Backends;

/// <summary>What an evaluator should be: the request the selector answers. Parse names with <see cref="ChoiceNames"/>.</summary>
public sealed record EvaluatorOptions
{
    /// <summary>The device family; <see cref="BackendKind.Auto"/> lets the cost model pick.</summary>
    public BackendKind Backend { get; init; } = BackendKind.Auto;
    /// <summary>The evaluation path; null lets the cost model pick.</summary>
    public EvaluationPath? Path { get; init; }
    /// <summary>The element type of the work (never lowered by the selector).</summary>
    public Precision Precision { get; init; } = Precision.F64;
    /// <summary>Evaluations a solver is expected to run, against which setup costs (the Gram matrix) are amortised.</summary>
    public long ExpectedEvaluations { get; init; } = EvaluatorSelector.DefaultEvaluations;
    /// <summary>Where a device fallback is reported (one line); null drops the warning.</summary>
    public Action<string>? Warn { get; init; }
    /// <summary>
    /// Most CPU threads the evaluator's calls (and its setup, such as building the Gram matrix) may use; null: every
    /// core, up to <c>Gemm.MaxThreads</c>. Other evaluators in the process are not affected.
    /// </summary>
    public int? Threads { get; init; }
    /// <summary>
    /// Stops a long setup (building the Gram matrix K: seconds to minutes at d = 100) between its GEMMs with an
    /// <see cref="OperationCanceledException"/>.
    /// </summary>
    public CancellationToken Cancellation { get; init; }
}

/// <summary>One way to run a problem: a path on a device in a precision, with its modelled cost and whether it fits.</summary>
public sealed record Candidate(BackendKind Backend, string Device, EvaluationPath Path, Precision Precision, PathCost Cost,
    double SetupSeconds, double StepSeconds, double MemoryBudgetBytes)
{
    /// <summary>Whether its buffers fit one array and the device's memory budget.</summary>
    public bool Fits => Cost.Feasible && Cost.MemoryBytes <= MemoryBudgetBytes;

    /// <summary>Modelled seconds for the setup plus <paramref name="evaluations"/> evaluations.</summary>
    public double Seconds(long evaluations) => SetupSeconds + evaluations * StepSeconds;

    /// <summary>One phrase with the numbers.</summary>
    public string Describe(long evaluations) => Fits
        ? $"{Path.Name()} on {Device}: {DeviceModel.Seconds(Seconds(evaluations))} over {evaluations} evaluations " +
          $"(setup {DeviceModel.Seconds(SetupSeconds)}, {DeviceModel.Seconds(StepSeconds)} each, {DeviceModel.Bytes(Cost.MemoryBytes)} resident)"
        : $"{Path.Name()} on {Device}: does not fit (needs {DeviceModel.Bytes(Cost.MemoryBytes)}, " +
          (Cost.Feasible ? $"{DeviceModel.Bytes(MemoryBudgetBytes)} available)" : "more than one array can hold)");
}

/// <summary>What the selector picked and why (<see cref="Reason"/>), with every candidate it weighed.</summary>
public sealed record Choice(BackendKind Backend, EvaluationPath Path, Precision Precision, string Reason, IReadOnlyList<Candidate> Candidates)
{
    /// <summary>The candidate picked (its backend, path and precision), with its costs.</summary>
    public Candidate Chosen => Candidates.First(c => c.Backend == Backend && c.Path == Path && c.Precision == Precision);
}

/// <summary>
/// Picks device, path and precision from one cost model: every (device, path) that can run the problem in the asked
/// precision is a <see cref="Candidate"/> reporting its setup and per-evaluation seconds and its memory; the cheapest
/// that fits over the expected evaluations wins, and the choice is explained with the numbers.
/// </summary>
public static class EvaluatorSelector
{
    /// <summary>Evaluations a solver is expected to run, against which the Gram setup is amortised.</summary>
    public const long DefaultEvaluations = 1000;

    /// <summary>The choice for <paramref name="problem"/> and factorisations of shape <paramref name="dims"/>.</summary>
    public static Choice Choose(SensingProblem problem, IReadOnlyList<int> dims, EvaluatorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(problem);
        LayerChecks.RequireDims(dims, problem);
        options ??= new EvaluatorOptions();
        return Choose(new ProblemShape(problem.Measurements.Kind, problem.Count, dims.ToArray(), options.Precision), options);
    }

    /// <summary>
    /// The choice for a problem shape; <paramref name="devices"/> replaces this machine's devices (tests, what-ifs).
    /// Throws <see cref="ProblemTooLargeException"/> when no candidate fits.
    /// </summary>
    internal static Choice Choose(ProblemShape shape, EvaluatorOptions options, IReadOnlyList<DeviceModel>? devices = null) =>
        TryChoose(shape, options, out var why, devices) ?? throw new ProblemTooLargeException(why);

    /// <summary>Like <see cref="Choose(ProblemShape, EvaluatorOptions, IReadOnlyList{DeviceModel}?)"/>, but null with the
    /// reason in <paramref name="unfit"/> when no candidate fits.</summary>
    internal static Choice? TryChoose(ProblemShape shape, EvaluatorOptions options, out string unfit, IReadOnlyList<DeviceModel>? devices = null)
    {
        unfit = "";
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(options);
        if (shape.Count < 1) throw new ArgumentOutOfRangeException(nameof(shape), $"measurement count {shape.Count} must be positive");
        if (shape.Dims.Count < 2 || shape.Dims.Any(d => d < 1))
            throw new ArgumentException($"dims [{string.Join(", ", shape.Dims)}] must list d_0..d_L (positive) for at least one layer", nameof(shape));
        if (options.ExpectedEvaluations < 1)
            throw new ArgumentOutOfRangeException(nameof(options), $"expected evaluations {options.ExpectedEvaluations} must be positive");
        if (options.Path is { } asked) PathRules.RequireApplies(asked, shape.Kind);

        if (options.Backend == BackendKind.Reference || options.Path == EvaluationPath.Reference)
        {
            if (options.Backend is not (BackendKind.Reference or BackendKind.Auto))
                throw new ArgumentException($"the reference path runs on the reference backend, not on '{options.Backend.Name()}'", nameof(options));
            if (shape.Precision != Precision.F64)
                throw new ArgumentException($"the reference backend runs in f64 only, not {shape.Precision.Name()}", nameof(options));
            if (options.Path is { } path && path != EvaluationPath.Reference)
                throw new ArgumentException($"the reference backend has a single path; path '{path.Name()}' is for the cpu and ilgpu backends", nameof(options));
            return new Choice(BackendKind.Reference, EvaluationPath.Reference, Precision.F64, "reference: plain float64 evaluator, as requested", []);
        }

        var (models, note) = Devices(options.Backend, shape.Precision, devices);
        EvaluationPath[] paths = options.Path is { } one ? [one]
            : PathRules.StructuredPath(shape.Kind) is { } structured ? [structured, EvaluationPath.Direct, EvaluationPath.Gram]
            : [EvaluationPath.Direct, EvaluationPath.Gram];
        var candidates = new List<Candidate>();
        foreach (var device in models)
            foreach (var path in paths)
            {
                var own = Cost(device.Backend, path, shape);
                var cost = own with { MemoryBytes = own.MemoryBytes + shape.CoreBytes };
                candidates.Add(new Candidate(device.Backend, device.Name, path, shape.Precision, cost,
                    cost.Feasible ? device.SetupSeconds(cost) : double.PositiveInfinity,
                    cost.Feasible ? device.StepSeconds(cost) : double.PositiveInfinity, device.MemoryBudgetBytes));
            }

        long evaluations = options.ExpectedEvaluations;
        var ranked = candidates.Where(c => c.Fits).OrderBy(c => c.Seconds(evaluations)).ToList();
        if (ranked.Count == 0)
        {
            unfit = $"no evaluator can hold this problem ({shape.Kind.Name()}, n = {shape.Count}, dims [{string.Join(", ", shape.Dims)}], " +
                $"{shape.Precision.Name()}): " + string.Join("; ", candidates.Select(c => c.Describe(evaluations)));
            return null;
        }
        var best = ranked[0];
        string others = string.Join("; ", candidates.Where(c => c != best).Select(c => c.Describe(evaluations)));
        string why = options.Path is null && paths.Length + models.Count > 2 ? "cheapest that fits" : "as requested";
        string reason = $"{best.Describe(evaluations)} ({why}){(others.Length > 0 ? "; " + others : "")}{note}";
        return new Choice(best.Backend, best.Path, best.Precision, reason, candidates);
    }

    /// <summary>The cost of a path on a device, from the operator that implements it there.</summary>
    internal static PathCost Cost(BackendKind device, EvaluationPath path, ProblemShape shape) => (device, path) switch
    {
        (BackendKind.Cpu, EvaluationPath.Direct) => DirectPathOperator<double>.Cost(shape),
        (BackendKind.Cpu, EvaluationPath.Gram) => GramPathOperator<double>.Cost(shape),
        (BackendKind.Cpu, EvaluationPath.Completion) => CompletionPathOperator<double>.Cost(shape),
        (BackendKind.Cpu, EvaluationPath.RankOne) => RankOnePathOperator<double>.Cost(shape),
        (var gpu, EvaluationPath.Direct) when gpu.IsIlgpu() => GpuDirectPathOperator<double>.Cost(shape),
        (var gpu, EvaluationPath.Gram) when gpu.IsIlgpu() => GpuGramPathOperator<double>.Cost(shape),
        (var gpu, EvaluationPath.Completion) when gpu.IsIlgpu() => GpuCompletionPathOperator<double>.Cost(shape),
        (var gpu, EvaluationPath.RankOne) when gpu.IsIlgpu() => GpuRankOnePathOperator<double>.Cost(shape),
        _ => throw new ArgumentException($"no cost for path '{path.Name()}' on '{device.Name()}'", nameof(path)),
    };

    /// <summary>The devices a backend request may run on, and a note when the request cannot be met as asked.</summary>
    private static (IReadOnlyList<DeviceModel> Models, string Note) Devices(BackendKind backend, Precision precision, IReadOnlyList<DeviceModel>? given)
    {
        var cpu = DeviceModel.Cpu(precision);
        IReadOnlyList<DeviceModel> all = given ?? [cpu, .. DeviceInventory.Accelerators.Select(d => DeviceModel.Gpu(d, precision))];
        var gpus = all.Where(d => d.Backend is BackendKind.IlgpuCuda or BackendKind.IlgpuOpenCL).ToList();
        var cpus = all.Where(d => d.Backend == BackendKind.Cpu).DefaultIfEmpty(cpu).ToList();
        switch (backend)
        {
            case BackendKind.Auto: return ([.. cpus, .. gpus], "");
            case BackendKind.Cpu: return (cpus, "");
            case BackendKind.Ilgpu:
                return gpus.Count > 0 ? (gpus, "") : (cpus, "; no CUDA or OpenCL device found, so the CPU evaluator runs");
            default:
                var kind = all.Where(d => d.Backend == backend).ToList();
                if (kind.Count > 0) return (kind, "");
                // Not present here: model a generic device of that kind; creating it fails over to the CPU with a warning.
                var generic = new GpuDeviceInfo(GpuBackend.KindOf(backend), $"{backend.Name()} (not found here)", 16L << 30, 32, 1024, 48 << 10, 0, null);
                return ([DeviceModel.Gpu(generic, precision)], "");
        }
    }
}
