using Flatness.Kernels.Tensors;
using Flatness.Solver.Backends;
using Flatness.Solver.Metrics;
using Flatness.Solver.Model;
using Flatness.Solver.Problems;
using Flatness.Solver.Theory;

namespace Flatness.Tests;

/// <summary>PointMetrics against closed forms.</summary>
public class EvalMetricsTests
{
    private static PointMetrics Compute(SensingProblem problem, Matrix<double>[] layers, double lambda = 0, bool gradients = false)
    {
        using var evaluator = new ReferenceEvaluator(problem);
        return PointMetrics.Compute(problem, new Factorization(layers), evaluator, lambda, gradients);
    }

    [Fact]
    public void DiagonalEndToEndMatrixHasTheHandComputedMetrics()
    {
        // L = 2, W1 = diag(3, 4), W2 = I: E = diag(3, 4).
        // ||E||_* = 7, ||E||_F = 5, ||E||_2 = 4, effective rank exp(-(3/7 ln 3/7 + 4/7 ln 4/7)).
        // G = ||W2||_F^2 d_0 + d_L ||W1||_F^2 = 2*2 + 2*25 = 54; F(E) = 2 sqrt(d_0 d_2) ||E||_* = 28.
        var w1 = Matrix<double>.FromRows(new double[,] { { 3, 0 }, { 0, 4 } });
        var w2 = Matrix<double>.Identity(2);
        var mStar = Matrix<double>.FromRows(new double[,] { { 3, 1 }, { 0, 2 } });
        // Labels 1, 2, 3 for A_i = e_00, e_11, e_01: f = (3, 4, 0), residuals (2, 2, -3), loss 17/3.
        var problem = new SensingProblem(new CompletionMeasurements(2, 2, [0, 1, 0], [0, 1, 1]), [1, 2, 3], mStar);
        var m = Compute(problem, [w1, w2], lambda: 0.5);

        Assert.Equal(17.0 / 3, m.Loss, 1e-14);
        Assert.Equal(7, m.NuclearNorm, 1e-12);
        Assert.Equal(5, m.FrobeniusNorm, 1e-12);
        Assert.Equal(4, m.SpectralNorm, 1e-12);
        Assert.Equal(Math.Exp(-(3.0 / 7 * Math.Log(3.0 / 7) + 4.0 / 7 * Math.Log(4.0 / 7))), m.EffectiveRank, 1e-12);
        Assert.Equal(54, m.FlatnessG, 1e-12);
        Assert.Equal(28, m.BoundF, 1e-12);
        Assert.Equal(m.Loss + 0.5 * m.HessianTrace, m.Objective, 1e-14);
        Assert.Equal(m.HessianTrace / (2 * 54), m.TraceOver2G, 1e-14);
        // ||E - M*||_F^2 / ||M*||_F^2 = (0 + 1 + 0 + 4) / (9 + 1 + 4).
        Assert.Equal(5.0 / 14, m.RelativeError!.Value, 1e-14);
        Assert.Equal(new[] { 2, 2, 2 }, m.Dims);
        Assert.Equal((2, 3, MeasurementKind.Completion, BackendKind.Reference), (m.Depth, m.Count, m.Measurement, m.Backend));
        Assert.Equal(new[] { 3.0, 0, 0, 4 }, m.EndToEnd.Data);
    }

    [Fact]
    public void ScaledFullBasisGivesTraceExactlyTwiceG()
    {
        // docs/MATH.md section 4: for {sqrt(d_0 d_L) e_a e_b^T} delta = 0, so tr H = 2G at every point.
        var data = new SolverTestData(11);
        var problem = data.WithRandomLabels(SolverTestData.Materialise(SolverTestData.ScaledBasisCompletion(3, 4)));
        var m = Compute(problem, data.Layers([4, 5, 2, 3]));
        Assert.Equal(1.0, m.TraceOver2G, 1e-12);
        Assert.True(m.FlatnessG >= m.BoundF * (1 - 1e-12));
        Assert.Null(m.RelativeError);
    }

    [Fact]
    public void FlattestFactorisationAttainsTheBound()
    {
        var data = new SolverTestData(5);
        var target = data.RankR(4, 5, 2);
        var problem = data.WithRandomLabels(data.GaussianDense(30, 4, 5));
        var m = Compute(problem, FlatnessTheory.FlattestFactorization(target, [5, 3, 3, 4]));
        Assert.Equal(m.BoundF, m.FlatnessG, 1e-9 * m.BoundF);
        Assert.True(SolverTestData.MaxAbsDiff(target, m.EndToEnd) < 1e-10);
    }

    [Fact]
    public void GradientsOnlyWhenAsked()
    {
        var data = new SolverTestData(2);
        var problem = data.WithRandomLabels(data.GaussianDense(8, 3, 2));
        var layers = data.Layers([2, 3]);
        var without = Compute(problem, layers);
        Assert.Null(without.LossGradient);
        Assert.Null(without.TraceGradient);
        var with = Compute(problem, layers, gradients: true);
        using var evaluator = new ReferenceEvaluator(problem);
        var reference = evaluator.Evaluate(layers, Quantities.All);
        Assert.Equal(reference.LossGradient![0].Data, with.LossGradient![0].Data);
        Assert.Equal(reference.TraceGradient![0].Data, with.TraceGradient![0].Data);
        // Depth 1: E is W1 itself, a copy.
        Assert.Equal(layers[0].Data, with.EndToEnd.Data);
        Assert.NotSame(layers[0], with.EndToEnd);
    }

    [Fact]
    public void RejectsAMismatchedEvaluatorAndNonFiniteLambda()
    {
        var data = new SolverTestData(3);
        var problem = data.WithRandomLabels(data.GaussianDense(4, 2, 2));
        var other = data.WithRandomLabels(data.GaussianDense(4, 2, 2));
        var layers = new Factorization(data.Layers([2, 2]));
        using var evaluator = new ReferenceEvaluator(other);
        Assert.Throws<ArgumentException>(() => PointMetrics.Compute(problem, layers, evaluator, 0));
        using var own = new ReferenceEvaluator(problem);
        Assert.Throws<ArgumentOutOfRangeException>(() => PointMetrics.Compute(problem, layers, own, double.NaN));
    }
}
