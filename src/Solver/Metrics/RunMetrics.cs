using Flatness.Kernels.Linalg;
using Flatness.Kernels.Tensors;
using Flatness.Solver.Backends;

using Flatness.Solver.Model;
using Flatness.Solver.Problems;
using Flatness.Solver.Theory;

namespace Flatness.Solver.Metrics;

/// <summary>
/// The metrics of run points, through <see cref="PointMetrics"/> (the one place for every formula: loss, trace, G, F,
/// tr H / 2G, norms, effective rank, relative error).
/// </summary>
public static class RunMetrics
{
    /// <summary>Metrics of the factorisation <paramref name="layers"/> on the evaluator's problem.</summary>
    public static PointMetrics AtLayers(IEvaluator evaluator, IReadOnlyList<Matrix<double>> layers, double lambda = 0.0)
    {
        ArgumentNullException.ThrowIfNull(evaluator);
        return PointMetrics.Compute(evaluator.Problem, new Factorization(layers), evaluator, lambda);
    }

    /// <summary>
    /// Metrics of an end-to-end matrix E (the convex baselines) for a model of shape <paramref name="dims"/>: those of the
    /// flattest factorisation of E (docs/MATH.md section 4, where G = F(E)) when every hidden width is at least rank E.
    /// Otherwise (or at depth 1 with d's that do not match) only what E alone defines: loss, F(E) at this depth, norms,
    /// effective rank and relative error, with trace, G and tr H / 2G NaN.
    /// </summary>
    public static PointMetrics AtEndToEnd(IEvaluator evaluator, Matrix<double> e, IReadOnlyList<int> dims)
    {
        ArgumentNullException.ThrowIfNull(evaluator);
        ArgumentNullException.ThrowIfNull(e);
        ArgumentNullException.ThrowIfNull(dims);
        int rank = Svd.Decompose(e).Rank;
        bool factorable = true;
        for (int k = 1; k < dims.Count - 1; k++) factorable &= dims[k] >= rank;
        if (factorable) return AtLayers(evaluator, FlatnessTheory.FlattestFactorization(e, dims));

        var single = PointMetrics.Compute(evaluator.Problem, new Factorization([e]), evaluator, 0.0);
        return single with
        {
            HessianTrace = double.NaN,
            Objective = double.NaN,
            FlatnessG = double.NaN,
            TraceOver2G = double.NaN,
            BoundF = FlatnessTheory.F(e, dims.Count - 1),
            Depth = dims.Count - 1,
            Dims = dims.ToArray(),
        };
    }

    /// <summary>The null loss ||b||^2 / n (the loss of E = 0): the scale of relative loss tolerances.</summary>
    public static double NullLoss(SensingProblem problem)
    {
        ArgumentNullException.ThrowIfNull(problem);
        double s = 0;
        foreach (double b in problem.Labels) s += b * b;
        return s / problem.Count;
    }
}
