using System.Numerics;
using Flatness.Kernels.Tensors;
using Flatness.Solver.Backends.Core;
using Flatness.Solver.Problems;

namespace Flatness.Solver.Backends.Cpu;

/// <summary>Builds the CPU evaluator of one path: the evaluation core over <see cref="CpuOps{T}"/> and the path's operator.</summary>
internal static class CpuBackend
{
    public static IEvaluator Create(SensingProblem problem, IReadOnlyList<int> dims, EvaluationPath path, Precision precision,
        CancellationToken cancellation = default) =>
        precision == Precision.F32 ? Create<float>(problem, dims, path, cancellation) : Create<double>(problem, dims, path, cancellation);

    public static Evaluator<T, Matrix<T>> Create<T>(SensingProblem problem, IReadOnlyList<int> dims, EvaluationPath path,
        CancellationToken cancellation = default)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        LayerChecks.RequireDims(dims, problem);
        PathRules.RequireApplies(path, problem.Measurements.Kind);
        return new Evaluator<T, Matrix<T>>(problem, dims, new CpuOps<T>(dims.Count), ops =>
        {
            var cpu = (CpuOps<T>)ops;
            return path switch
            {
                EvaluationPath.Direct => new DirectPathOperator<T>(problem, dims, cpu),
                EvaluationPath.Gram => new GramPathOperator<T>(problem, dims, cpu, cancellation),
                EvaluationPath.Completion => new CompletionPathOperator<T>(problem, dims, cpu),
                EvaluationPath.RankOne => new RankOnePathOperator<T>(problem, dims, cpu),
                _ => throw new ArgumentException($"the CPU evaluator has no '{path.Name()}' path (the reference path is the reference backend)", nameof(path)),
            };
        });
    }
}
