using System.Globalization;
using Flatness.Kernels.Cpu;
using Flatness.Solver.Backends.Cpu;
using Flatness.Solver.Problems;

namespace Flatness.Solver.Backends;

/// <summary>What the selector picked, and why, in words.</summary>
public sealed record Choice(string Backend, string Path, string Precision, string Reason);

/// <summary>
/// The cost of one evaluation path for a problem: flops to set up (once) and per evaluation (loss, trace and both
/// gradients), bytes read per evaluation, and bytes held resident.
/// </summary>
public sealed record PathCost(string Path, double SetupFlops, double StepFlops, double StepBytes, double MemoryBytes, bool Feasible = true)
{
    /// <summary>Estimated seconds for setup plus <paramref name="evaluations"/> evaluations.</summary>
    public double Seconds(MachineModel machine, long evaluations) =>
        SetupFlops / machine.FlopsPerSecond + evaluations * StepSeconds(machine);

    /// <summary>Seconds per evaluation: bound by arithmetic or by memory traffic, whichever is slower.</summary>
    public double StepSeconds(MachineModel machine) =>
        Math.Max(StepFlops / machine.FlopsPerSecond, StepBytes / machine.BytesPerSecond);
}

/// <summary>A coarse machine: sustained GEMM flop rate, memory bandwidth, and how much memory a path may hold.</summary>
public sealed record MachineModel(double FlopsPerSecond, double BytesPerSecond, double MemoryBudgetBytes)
{
    /// <summary>
    /// This process's CPU: about 16 GFLOP/s per core in float64 (a third of an AVX2 FMA core's peak; twice in float32),
    /// 10 GB/s of memory bandwidth, and half the memory the runtime reports available.
    /// </summary>
    public static MachineModel Cpu(string precision) => new(
        Environment.ProcessorCount * (precision == "f32" ? 32e9 : 16e9),
        10e9,
        0.5 * GC.GetGCMemoryInfo().TotalAvailableMemoryBytes);
}

/// <summary>
/// Picks backend, path and precision for a problem and a factorisation shape from the cost model:
/// dense measurements take the Gram path when its setup plus the expected evaluations is cheaper than the direct
/// path and K fits in memory, the direct path otherwise; structured measurements always take their own operators.
/// </summary>
public static class EvaluatorSelector
{
    /// <summary>Evaluations a solver is expected to run, against which the Gram setup is amortised.</summary>
    public const long DefaultEvaluations = 1000;

    public static readonly string[] Backends = ["auto", "cpu", "reference", .. GpuSelection.Backends];
    public static readonly string[] Paths = ["auto", "direct", "gram", "completion", "rank-one"];
    public static readonly string[] Precisions = ["f64", "f32"];

    public static Choice Choose(SensingProblem problem, IReadOnlyList<int> dims, string backend = "auto", string path = "auto",
        string precision = "f64", long expectedEvaluations = DefaultEvaluations, MachineModel? machine = null)
    {
        ArgumentNullException.ThrowIfNull(problem);
        ArgumentNullException.ThrowIfNull(dims);
        if (dims.Count < 2 || dims[0] != problem.InputDim || dims[^1] != problem.OutputDim)
            throw new ArgumentException(
                $"dims [{string.Join(", ", dims)}] must run from d_0 = {problem.InputDim} to d_L = {problem.OutputDim}, the problem's measurement shape", nameof(dims));
        return Choose(problem.Measurements.Kind, problem.Count, dims, backend, path, precision, expectedEvaluations, machine);
    }

    /// <summary>The choice for n = <paramref name="count"/> measurements of the given kind, without the data.</summary>
    public static Choice Choose(MeasurementKind kind, int count, IReadOnlyList<int> dims, string backend = "auto", string path = "auto",
        string precision = "f64", long expectedEvaluations = DefaultEvaluations, MachineModel? machine = null)
    {
        ArgumentNullException.ThrowIfNull(dims);
        Require(backend, Backends, "backend");
        Require(path, Paths, "path");
        Require(precision, Precisions, "precision");
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), $"measurement count {count} must be positive");
        if (dims.Count < 2 || dims.Any(d => d < 1))
            throw new ArgumentException($"dims [{string.Join(", ", dims)}] must list d_0..d_L (positive) for at least one layer", nameof(dims));
        if (expectedEvaluations < 1)
            throw new ArgumentOutOfRangeException(nameof(expectedEvaluations), $"expected evaluations {expectedEvaluations} must be positive");

        if (backend == "reference")
        {
            if (precision != "f64") throw new ArgumentException($"the reference backend runs in f64 only, not {precision}", nameof(precision));
            if (path != "auto") throw new ArgumentException($"the reference backend has a single path; path '{path}' is for the cpu backend", nameof(path));
            return new Choice("reference", "reference", "f64", "reference: plain float64 evaluator, as requested");
        }
        if (GpuSelection.IsGpu(backend))
            return GpuSelection.Choose(kind, count, dims, backend, path, precision, expectedEvaluations);
        // "auto" moves to a GPU (CUDA or OpenCL) when one is present and the cost model says it is faster,
        // or when no CPU path fits in memory but the GPU's does.
        bool mayUseGpu = backend == "auto" && machine is null;
        Choice cpu;
        try
        {
            cpu = ChooseCpu(kind, count, dims, path, precision, expectedEvaluations, machine ?? MachineModel.Cpu(precision));
        }
        catch (InvalidOperationException e) when (mayUseGpu)
        {
            return GpuSelection.WhenCpuDoesNotFit(kind, count, dims, path, precision, expectedEvaluations, e.Message)
                ?? throw new InvalidOperationException(e.Message, e);
        }
        return mayUseGpu ? GpuSelection.PreferGpu(kind, count, dims, cpu, expectedEvaluations) : cpu;
    }

    private static Choice ChooseCpu(MeasurementKind kind, int count, IReadOnlyList<int> dims, string path, string precision,
        long evaluations, MachineModel machine)
    {
        if (kind != MeasurementKind.Dense)
        {
            string structured = kind == MeasurementKind.Completion ? "completion" : "rank-one";
            if (path != "auto" && path != structured)
                throw new ArgumentException(
                    $"{structured} measurements use the '{structured}' path; path '{path}' needs dense measurements", nameof(path));
            string how = kind == MeasurementKind.Completion
                ? "gather/scatter and diagonal sandwiches, O(n + L d^2) per evaluation"
                : "GEMMs over the vectors u_i, v_i, O(n L d^2) per evaluation";
            return new Choice("cpu", structured, precision, $"{structured}: structured measurements use their own operators ({how}), never dense A_i");
        }
        if (path is "completion" or "rank-one")
            throw new ArgumentException($"path '{path}' needs {path} measurements, the problem's are dense", nameof(path));

        int elementBytes = precision == "f32" ? 4 : 8;
        var direct = DirectCost(count, dims, elementBytes);
        var gram = GramCost(count, dims, elementBytes);
        string numbers = Describe(direct, gram, machine, evaluations);
        if (path != "auto")
        {
            var forced = path == "direct" ? direct : gram;
            if (!forced.Feasible)
                throw new ArgumentException($"the {path} path does not fit this problem: {numbers}", nameof(path));
            return new Choice("cpu", path, precision, $"{path}: as requested; {numbers}");
        }

        bool directFits = direct.Feasible && direct.MemoryBytes <= machine.MemoryBudgetBytes;
        bool gramFits = gram.Feasible && gram.MemoryBytes <= machine.MemoryBudgetBytes;
        string pick;
        if (gramFits && (!directFits || gram.Seconds(machine, evaluations) < direct.Seconds(machine, evaluations)))
            pick = "gram";
        else if (directFits)
            pick = "direct";
        else
            throw new InvalidOperationException($"neither CPU path fits in memory ({Bytes(machine.MemoryBudgetBytes)} budget): {numbers}");
        string why = pick == "gram"
            ? (directFits ? "cheaper" : "the direct path does not fit in memory")
            : (gramFits ? "cheaper" : "K does not fit in memory");
        return new Choice("cpu", pick, precision, $"{pick} ({why}): {numbers}");
    }

    /// <summary>
    /// Direct path: per evaluation S(H_j) and S*(G_j) for the inner layers j = 2..L-1 (the end layers use the
    /// constants S(I), S*(I)) plus the residual; the measurements are read once per sandwich and twice for the loss.
    /// </summary>
    public static PathCost DirectCost(int count, IReadOnlyList<int> dims, int elementBytes)
    {
        int depth = dims.Count - 1, d0 = dims[0], dL = dims[^1];
        double a = (double)count * dL * d0;
        if (a > Array.MaxLength) return new PathCost("direct", double.PositiveInfinity, double.PositiveInfinity, double.PositiveInfinity, a * elementBytes, Feasible: false);
        var layout = DirectOperator<double>.Layout(count, dL, d0, elementBytes);
        double step = 2 * Sensing.Flops(count, dL * d0) + ChainFlops(dims);
        int sandwiches = 0;
        for (int j = 2; j < depth; j++)
        {
            step += DenseSandwich.SOfGramFlops(layout, dims[j - 1]) + DenseSandwich.SAdjointOfGramFlops(layout, dims[j]);
            sandwiches += 2;
        }
        double setup = (double)count * dL * d0 * (dL + d0);
        int maxWidth = 1;
        for (int j = 1; j < depth; j++) maxWidth = Math.Max(maxWidth, dims[j]);
        // The side-by-side copy, X (the problem's own array in float64, a converted copy in float32) and the workspace.
        double memory = ((elementBytes == sizeof(double) ? 1 : 2) * a + DenseSandwich.WorkspaceLength(layout, maxWidth)) * elementBytes;
        return new PathCost("direct", setup, step, (sandwiches + 2) * a * elementBytes, memory);
    }

    /// <summary>Gram path: building K once, then one pass over K per evaluation.</summary>
    public static PathCost GramCost(int count, IReadOnlyList<int> dims, int elementBytes)
    {
        int depth = dims.Count - 1, d0 = dims[0], dL = dims[^1];
        double length = (double)dL * (dL + 1) / 2 * d0 * d0;
        if (length > Array.MaxLength)
            return new PathCost("gram", double.PositiveInfinity, double.PositiveInfinity, double.PositiveInfinity, length * elementBytes, Feasible: false);
        var layout = new GramLayout(dL, d0);
        int inner = Math.Max(0, depth - 2);
        double step = GramOperator.ApplyFlops(layout, inner, inner, loss: true) + ChainFlops(dims);
        return new PathCost("gram", GramOperator.BuildFlops(layout, count), step, length * elementBytes, length * elementBytes);
    }

    /// <summary>Prefix and suffix products, the sandwich products Dp_j, Dq_j and the chain-rule sweeps: O(L d^3).</summary>
    private static double ChainFlops(IReadOnlyList<int> dims)
    {
        int depth = dims.Count - 1, d0 = dims[0], dL = dims[^1];
        double flops = 0;
        for (int j = 1; j <= depth; j++)
            flops += 2.0 * dims[j] * dims[j - 1] * (2 * d0 + 2 * dL) + 2.0 * dL * dL * dims[j] + 2.0 * dims[j - 1] * d0 * d0;
        return flops;
    }

    private static string Describe(PathCost direct, PathCost gram, MachineModel machine, long evaluations)
    {
        string gramText = gram.Feasible
            ? $"gram setup {Flops(gram.SetupFlops)} once, {Flops(gram.StepFlops)} and {Bytes(gram.StepBytes)} read per evaluation, K needs {Bytes(gram.MemoryBytes)}"
            : $"gram infeasible (K would need {Bytes(gram.MemoryBytes)})";
        string directText = direct.Feasible
            ? $"direct {Flops(direct.StepFlops)} per evaluation, {Bytes(direct.MemoryBytes)} resident"
            : $"direct infeasible (A would need {Bytes(direct.MemoryBytes)})";
        string totals = direct.Feasible && gram.Feasible
            ? $"; over {evaluations} evaluations about {Seconds(gram.Seconds(machine, evaluations))} (gram) vs {Seconds(direct.Seconds(machine, evaluations))} (direct)"
            : "";
        return $"{gramText}; {directText}{totals}";
    }

    private static string Flops(double flops) =>
        flops >= 1e9 ? Invariant(flops / 1e9, "GFLOP") : flops >= 1e6 ? Invariant(flops / 1e6, "MFLOP") : Invariant(flops / 1e3, "kFLOP");

    private static string Bytes(double bytes) =>
        bytes >= 1e9 ? Invariant(bytes / 1e9, "GB") : bytes >= 1e6 ? Invariant(bytes / 1e6, "MB") : Invariant(bytes / 1e3, "kB");

    private static string Seconds(double seconds) =>
        seconds >= 100 ? seconds.ToString("F0", CultureInfo.InvariantCulture) + " s" : Invariant(seconds, "s");

    private static string Invariant(double value, string unit) => value.ToString("G3", CultureInfo.InvariantCulture) + " " + unit;

    private static void Require(string value, string[] allowed, string name)
    {
        if (Array.IndexOf(allowed, value) < 0)
            throw new ArgumentException($"unknown {name} '{value}' (expected {string.Join(", ", allowed)})", name);
    }
}
