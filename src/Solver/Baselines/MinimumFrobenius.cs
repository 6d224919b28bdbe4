using System.Diagnostics;
using Flatness.Kernels.Tensors;
using Flatness.Solver.Problems;

namespace Flatness.Solver.Baselines;

/// <param name="Method">How A^+ was applied: "cholesky-rows", "cholesky-normal" or "cgls".</param>
public sealed record MinimumFrobeniusResult(Matrix<double> Solution, string Method, int Iterations, double Seconds);

/// <summary>
/// <c>min-frobenius</c>: the least-norm solution A^+ b of A(M) = b (the least-norm least-squares solution when b is not
/// consistent). It lies in the range of A^*, so it is orthogonal to the null space of A.
/// </summary>
public static class MinimumFrobenius
{
    /// <summary>The least-Frobenius-norm M with A(M) = b (least squares when b is inconsistent).</summary>
    public static MinimumFrobeniusResult Solve(SensingProblem problem)
    {
        ArgumentNullException.ThrowIfNull(problem);
        var clock = Stopwatch.StartNew();
        var system = new MeasurementSystem(problem.Measurements);
        var m = system.PseudoInverse(problem.Labels);
        return new MinimumFrobeniusResult(m, system.Method, system.LastIterations, clock.Elapsed.TotalSeconds);
    }
}
