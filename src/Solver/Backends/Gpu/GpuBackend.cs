using System.Numerics;
using Flatness.Kernels.Gpu;
using Flatness.Solver.Backends.Core;
using Flatness.Solver.Problems;

namespace Flatness.Solver.Backends;

/// <summary>
/// Creates ILGPU evaluators: the evaluation core over <see cref="Gpu.GpuDeviceOps{T}"/> and the path's GPU operator.
/// <c>Create</c> throws <see cref="GpuUnavailableException"/> when the accelerator cannot start, compile or
/// allocate; <see cref="TryCreate"/> turns exactly that into a one-line warning so a factory can fall back to the CPU.
/// </summary>
internal static class GpuBackend
{
    /// <summary>The accelerator kind an ILGPU backend asks for (<see cref="BackendKind.Ilgpu"/>: CUDA, then OpenCL).</summary>
    public static GpuKind KindOf(BackendKind backend) => backend switch
    {
        BackendKind.IlgpuCuda => GpuKind.Cuda,
        BackendKind.IlgpuOpenCL => GpuKind.OpenCL,
        BackendKind.IlgpuCpu => GpuKind.Cpu,
        BackendKind.Ilgpu => GpuKind.Auto,
        _ => throw new ArgumentException($"backend '{backend.Name()}' is not an ILGPU backend", nameof(backend)),
    };

    /// <summary>The backend that names an accelerator kind (the CPU accelerator is <see cref="BackendKind.IlgpuCpu"/>).</summary>
    public static BackendKind BackendOf(GpuKind kind) => kind switch
    {
        GpuKind.Cuda => BackendKind.IlgpuCuda,
        GpuKind.OpenCL => BackendKind.IlgpuOpenCL,
        GpuKind.Cpu => BackendKind.IlgpuCpu,
        _ => BackendKind.Ilgpu,
    };

    /// <summary>
    /// An evaluator on the given (or the shared) ILGPU context for factorisations of shape <paramref name="dims"/>.
    /// The problem data are uploaded here and stay resident until the evaluator is disposed. <paramref name="cancellation"/>
    /// stops the Gram path's setup between its blocks (an <see cref="OperationCanceledException"/>).
    /// </summary>
    public static IEvaluator Create(SensingProblem problem, IReadOnlyList<int> dims, EvaluationPath path, Precision precision = Precision.F64,
        GpuKind kind = GpuKind.Auto, GpuContext? context = null, CancellationToken cancellation = default) =>
        Create(problem, dims, path, precision, kind, context, directChunk: null, cancellation);

    /// <param name="directChunk">Measurements per block on the direct path (tests); null sizes it from the device.</param>
    internal static IEvaluator Create(SensingProblem problem, IReadOnlyList<int> dims, EvaluationPath path, Precision precision,
        GpuKind kind, GpuContext? context, int? directChunk, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(problem);
        LayerChecks.RequireDims(dims, problem);
        PathRules.RequireApplies(path, problem.Measurements.Kind);
        if (path == EvaluationPath.Reference) throw new ArgumentException("the reference path runs on the reference backend, not on ILGPU", nameof(path));
        context ??= GpuContext.Shared(kind);
        return precision == Precision.F32
            ? Create<float>(context, problem, dims, path, directChunk, cancellation)
            : Create<double>(context, problem, dims, path, directChunk, cancellation);
    }

    private static IEvaluator Create<T>(GpuContext context, SensingProblem problem, IReadOnlyList<int> dims, EvaluationPath path, int? directChunk,
        CancellationToken cancellation)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var evaluator = new Evaluator<T, DeviceMatrix<T>>(problem, dims, new Gpu.GpuDeviceOps<T>(context, dims.Count), ops =>
        {
            var device = (Gpu.GpuDeviceOps<T>)ops;
            return path switch
            {
                EvaluationPath.Direct => new Gpu.GpuDirectPathOperator<T>(problem, dims, device, directChunk),
                EvaluationPath.Gram => new Gpu.GpuGramPathOperator<T>(problem, dims, device, cancellation),
                EvaluationPath.Completion => new Gpu.GpuCompletionPathOperator<T>(problem, dims, device),
                EvaluationPath.RankOne => new Gpu.GpuRankOnePathOperator<T>(problem, dims, device),
                _ => throw new System.Diagnostics.UnreachableException($"no GPU operator for path '{path.Name()}'"),
            };
        });
        context.Synchronize();
        return evaluator;
    }

    /// <summary>
    /// Like <see cref="Create(SensingProblem, IReadOnlyList{int}, EvaluationPath, Precision, GpuKind, GpuContext?, CancellationToken)"/>, but
    /// a GPU that is missing or fails returns false with a one-line <paramref name="warning"/> instead of throwing.
    /// Bad arguments still throw.
    /// </summary>
    public static bool TryCreate(SensingProblem problem, IReadOnlyList<int> dims, EvaluationPath path, Precision precision, GpuKind kind,
        out IEvaluator? evaluator, out string? warning, CancellationToken cancellation = default)
    {
        try
        {
            evaluator = Create(problem, dims, path, precision, kind, cancellation: cancellation);
            warning = null;
            return true;
        }
        catch (GpuUnavailableException e)
        {
            evaluator = null;
            warning = $"ILGPU unavailable ({OneLine(e.Message)}); using the CPU";
            return false;
        }
    }

    private static string OneLine(string text)
    {
        var line = text.ReplaceLineEndings(" ");
        return line.Length <= 200 ? line : line[..197] + "...";
    }
}
