using Flatness.Kernels.Linalg;
using Flatness.Kernels.Tensors;
using Flatness.Solver.Backends;
using Flatness.Solver.Optimizers;
using Flatness.Solver.Problems;
using Flatness.Solver.Theory;

namespace Flatness.Solver.Runs;

/// <summary>
/// The metrics of a point (SPEC sections 2 and 4). NaN where a value does not apply: trace, G and their ratio for
/// an end-to-end matrix without layers, the relative error without a known M*.
/// </summary>
public sealed record PointMetrics(
    double Loss,
    double Trace,
    double G,
    /// <summary>F(E) = L (d_0 d_L)^{1/L} ||E||_*^{2(L-1)/L}: the least G over factorisations of E at this depth.</summary>
    double F,
    /// <summary>tr H / (2 G), within [1 - delta, 1 + delta] for a rank-one RIP constant delta.</summary>
    double TraceOverTwoG,
    double NuclearNorm,
    double EffectiveRank,
    /// <summary>||E - M*||_F^2 / ||M*||_F^2 (the population test error for isotropic Gaussian sensing).</summary>
    double RelativeError,
    int Depth);

/// <summary>Metrics of run points: one place for every formula the runs report.</summary>
public static class RunMetrics
{
    /// <summary>All metrics of the factorisation <paramref name="layers"/> on the evaluator's problem.</summary>
    public static PointMetrics Compute(IEvaluator evaluator, IReadOnlyList<Matrix<double>> layers)
    {
        ArgumentNullException.ThrowIfNull(evaluator);
        var values = evaluator.Evaluate(layers, Quantities.Values);
        var e = LayerMath.EndToEnd(layers);
        double g = FlatnessTheory.G(layers);
        return new PointMetrics(values.Loss, values.Trace, g, FlatnessTheory.F(e, layers.Count), values.Trace / (2 * g),
            MatrixNorms.Nuclear(e), MatrixNorms.EffectiveRank(e), RelativeError(e, evaluator.Problem.GroundTruth), layers.Count);
    }

    /// <summary>
    /// Metrics of an end-to-end matrix E (the convex baselines): loss, F(E) at <paramref name="depth"/>, nuclear norm,
    /// effective rank and relative error; trace and G need layers and are NaN.
    /// </summary>
    public static PointMetrics Compute(SensingProblem problem, Matrix<double> e, int depth)
    {
        ArgumentNullException.ThrowIfNull(problem);
        ArgumentNullException.ThrowIfNull(e);
        if (depth < 1) throw new ArgumentOutOfRangeException(nameof(depth), $"depth must be >= 1, got {depth}");
        return new PointMetrics(Loss(problem, e), double.NaN, double.NaN, FlatnessTheory.F(e, depth), double.NaN,
            MatrixNorms.Nuclear(e), MatrixNorms.EffectiveRank(e), RelativeError(e, problem.GroundTruth), depth);
    }

    /// <summary>L = (1/n) sum_i (&lt;A_i, E&gt; - b_i)^2.</summary>
    public static double Loss(SensingProblem problem, Matrix<double> e)
    {
        var f = new double[problem.Count];
        problem.Measurements.Forward(e, f);
        double s = 0;
        for (int i = 0; i < f.Length; i++) s += (f[i] - problem.Labels[i]) * (f[i] - problem.Labels[i]);
        return s / problem.Count;
    }

    /// <summary>||E - M*||_F^2 / ||M*||_F^2, or NaN when M* is unknown (or zero).</summary>
    public static double RelativeError(Matrix<double> e, Matrix<double>? truth)
    {
        if (truth is null) return double.NaN;
        double num = 0, den = 0;
        for (int t = 0; t < e.Length; t++)
        {
            double d = e.Data[t] - truth.Data[t];
            num += d * d;
            den += truth.Data[t] * truth.Data[t];
        }
        return den > 0 ? num / den : double.NaN;
    }

    /// <summary>The null loss ||b||^2 / n (the loss of E = 0): the scale of relative loss tolerances.</summary>
    public static double NullLoss(SensingProblem problem)
    {
        double s = 0;
        foreach (double b in problem.Labels) s += b * b;
        return s / problem.Count;
    }
}
