using Flatness.Kernels.Cpu;
using Flatness.Kernels.Tensors;
using Flatness.Solver.Problems;

namespace Flatness.Solver.Backends;

/// <summary>An evaluator whose every call runs the CPU kernels on at most <c>threads</c> threads (<see cref="EvaluatorOptions.Threads"/>).</summary>
internal sealed class ThreadLimitedEvaluator(IEvaluator inner, int threads) : IEvaluator
{
    public BackendKind Backend => inner.Backend;
    public EvaluationPath Path => inner.Path;
    public Precision Precision => inner.Precision;
    public SensingProblem Problem => inner.Problem;

    public Evaluation Evaluate(IReadOnlyList<Matrix<double>> layers, Quantities what)
    {
        using var limit = CpuThreads.Limit(threads);
        return inner.Evaluate(layers, what);
    }

    public Matrix<double>[] HessianVectorProduct(IReadOnlyList<Matrix<double>> layers, IReadOnlyList<Matrix<double>> direction)
    {
        using var limit = CpuThreads.Limit(threads);
        return inner.HessianVectorProduct(layers, direction);
    }

    public Matrix<double>[][] HessianVectorProducts(IReadOnlyList<Matrix<double>> layers, IReadOnlyList<IReadOnlyList<Matrix<double>>> directions)
    {
        using var limit = CpuThreads.Limit(threads);
        return inner.HessianVectorProducts(layers, directions);
    }

    public void Dispose() => inner.Dispose();
}
