using Flatness.Kernels.Linalg;
using Flatness.Solver.Backends;
using Flatness.Solver.Curvature;
using Flatness.Solver.Problems;
using Xunit.Abstractions;

namespace Flatness.Tests;

/// <summary>Lanczos, the assembled spectrum, per-layer traces and the trace estimators on the exact Hessian.</summary>
public sealed class CurvatureTests(ITestOutputHelper output)
{
    private static (HessianOperator H, IEvaluator Evaluator) Hessian(MeasurementKind kind = MeasurementKind.Dense, int seed = 3)
    {
        var problem = GpuEvaluatorTests.Problem(kind, n: 40, dl: 4, d0: 3, seed: seed);
        int[] dims = [3, 4, 3, 4];
        var evaluator = Evaluators.Create(problem, dims, new EvaluatorOptions { Backend = BackendKind.Cpu });
        return (new HessianOperator(evaluator, GpuEvaluatorTests.Layers(dims, seed + 1)), evaluator);
    }

    [Theory]
    [InlineData(MeasurementKind.Dense)]
    [InlineData(MeasurementKind.Completion)]
    [InlineData(MeasurementKind.RankOne)]
    public void LanczosTopEigenvaluesMatchTheAssembledSpectrum(MeasurementKind kind)
    {
        var (h, evaluator) = Hessian(kind);
        using var _ = evaluator;
        var full = Tridiagonal.SymmetricEigenvalues(h.Assemble());
        var result = Lanczos.Extremes(h, count: 4, tolerance: 1e-10, seed: 1);
        output.WriteLine($"{kind}: lambda_max {result.LambdaMax} (full {full[^1]}), lambda_min {result.LambdaMin} (full {full[0]}), {result.Iterations} iterations");
        Assert.True(result.Converged);
        double scale = Math.Max(Math.Abs(full[0]), Math.Abs(full[^1]));
        for (int i = 0; i < 4; i++)
        {
            Assert.True(Math.Abs(result.Top[i] - full[^(i + 1)]) < 2e-10 * scale, $"eigenvalue {i}: {result.Top[i]} vs {full[^(i + 1)]}");
            Assert.True(result.TopErrorBounds[i] <= 1e-10 * scale * 1.0001, $"error bound {result.TopErrorBounds[i]}");
            Assert.True(Math.Abs(result.Top[i] - full[^(i + 1)]) <= Math.Max(result.TopErrorBounds[i], 1e-13 * scale), $"the bound {result.TopErrorBounds[i]} holds");
        }
        Assert.True(Math.Abs(result.LambdaMin - full[0]) < 2e-10 * scale, $"lambda_min {result.LambdaMin} vs {full[0]}");
        Assert.True(full[0] < 0, "away from a minimum the Hessian is indefinite");
        // The reported residual is the true one: ||H y - theta y||.
        var hy = new double[h.Dimension];
        h.Apply(result.TopVectors[0], hy);
        double residual = Math.Sqrt(hy.Select((v, t) => (v - result.Top[0] * result.TopVectors[0][t]) * (v - result.Top[0] * result.TopVectors[0][t])).Sum());
        Assert.Equal(result.TopResiduals[0], residual, 1e-10 * scale);
    }

    [Theory]
    [InlineData(MeasurementKind.Dense, EvaluationPath.Gram)]
    [InlineData(MeasurementKind.Dense, EvaluationPath.Direct)]
    [InlineData(MeasurementKind.Completion, EvaluationPath.Completion)]
    [InlineData(MeasurementKind.RankOne, EvaluationPath.RankOne)]
    public void AFloat32DraftGivesTheFloat64EigenvaluesCertifiedByOneBlockOfExactProducts(MeasurementKind kind, EvaluationPath path)
    {
        var problem = GpuEvaluatorTests.Problem(kind, n: 40, dl: 4, d0: 3, seed: 3);
        int[] dims = [3, 4, 3, 4];
        var layers = GpuEvaluatorTests.Layers(dims, 4);
        using var exact = Evaluators.Create(problem, dims, new EvaluatorOptions { Backend = BackendKind.Cpu, Path = path });
        using var rough = Evaluators.Create(problem, dims, new EvaluatorOptions { Backend = BackendKind.Cpu, Path = path, Precision = Precision.F32 });
        Assert.Equal(Precision.F32, rough.Precision);
        var h = new HessianOperator(exact, layers);
        var draft = new HessianOperator(rough, layers);
        var full = Tridiagonal.SymmetricEigenvalues(h.Assemble());
        long before = h.Matvecs;
        var result = Lanczos.Extremes(h, count: 4, tolerance: 1e-10, seed: 1, draft: draft);
        output.WriteLine($"{kind}/{path}: {result.Matvecs} float64 and {result.DraftMatvecs} float32 products, lambda_max {result.LambdaMax} (full {full[^1]})");
        Assert.True(result.Converged);
        // Certified at once: the four top vectors and lambda_min's in one block of exact products.
        Assert.Equal(5, result.Matvecs);
        Assert.Equal(5, h.Matvecs - before);
        Assert.Equal(result.DraftMatvecs, draft.Matvecs);
        double scale = Math.Max(Math.Abs(full[0]), Math.Abs(full[^1]));
        for (int i = 0; i < 4; i++)
        {
            Assert.True(Math.Abs(result.Top[i] - full[^(i + 1)]) < 2e-10 * scale, $"eigenvalue {i}: {result.Top[i]} vs {full[^(i + 1)]}");
            Assert.True(result.TopErrorBounds[i] <= 1e-10 * scale, $"error bound {result.TopErrorBounds[i]}");
            Assert.True(Math.Abs(result.Top[i] - full[^(i + 1)]) <= Math.Max(result.TopErrorBounds[i], 1e-13 * scale), $"the bound {result.TopErrorBounds[i]} holds");
            // The residual reported is the float64 one.
            var hy = new double[h.Dimension];
            h.Apply(result.TopVectors[i], hy);
            double residual = Math.Sqrt(hy.Select((v, t) => Math.Pow(v - result.Top[i] * result.TopVectors[i][t], 2)).Sum());
            Assert.Equal(result.TopResiduals[i], residual, 1e-11 * scale);
        }
        Assert.True(Math.Abs(result.LambdaMin - full[0]) < 2e-10 * scale, $"lambda_min {result.LambdaMin} vs {full[0]}");
    }

    [Fact]
    public void ADraftThatIsNotTheHessianFallsBackToExactLanczos()
    {
        // The draft is the Hessian at another point: its Ritz vectors fail the float64 certification, and exact Lanczos
        // from its top vector gives the true values.
        var (h, evaluator) = Hessian();
        using var _ = evaluator;
        var elsewhere = new HessianOperator(evaluator, GpuEvaluatorTests.Layers([3, 4, 3, 4], 9));
        var full = Tridiagonal.SymmetricEigenvalues(h.Assemble());
        var result = Lanczos.Extremes(h, count: 2, tolerance: 1e-10, seed: 1, draft: elsewhere);
        Assert.True(result.Converged);
        Assert.True(result.Matvecs > 3, $"{result.Matvecs} exact products: the certification should have failed");
        Assert.True(result.DraftMatvecs > 0);
        double scale = Math.Max(Math.Abs(full[0]), Math.Abs(full[^1]));
        for (int i = 0; i < 2; i++) Assert.True(Math.Abs(result.Top[i] - full[^(i + 1)]) < 2e-10 * scale, $"eigenvalue {i}: {result.Top[i]} vs {full[^(i + 1)]}");
        Assert.True(Math.Abs(result.LambdaMin - full[0]) < 2e-10 * scale);
        using var small = Evaluators.Create(Generators.Basis(2, 2, 1), [2, 2], new EvaluatorOptions { Backend = BackendKind.Cpu });
        var other = new HessianOperator(small, [new Flatness.Kernels.Tensors.Matrix<double>(2, 2)]);
        Assert.Contains("draft operator has 4 parameters", Assert.Throws<ArgumentException>(() => Lanczos.Extremes(h, 1, draft: other)).Message);
    }

    [Fact]
    public void AssembledHessianIsSymmetricAndItsBlocksCarryThePerLayerTraces()
    {
        var (h, evaluator) = Hessian();
        using var _ = evaluator;
        var a = h.Assemble();
        for (int r = 0; r < a.Rows; r++)
            for (int c = 0; c < r; c++) Assert.True(Math.Abs(a[r, c] - a[c, r]) < 1e-12 * (1 + Math.Abs(a[r, c])), $"({r},{c})");
        var evaluation = evaluator.Evaluate(h.Layers, Quantities.Trace);
        for (int j = 0; j < h.Layers.Count; j++)
        {
            var range = h.LayerRange(j);
            double block = 0;
            for (int i = range.Start.Value; i < range.End.Value; i++) block += a[i, i];
            Assert.Equal(evaluation.LayerTraces![j], block, 1e-10 * evaluation.Trace);
        }
        Assert.Equal(evaluation.Trace, evaluation.LayerTraces!.Sum(), 1e-12 * evaluation.Trace);
    }

    [Fact]
    public void QuadratureIsAProbabilityMeasureOnTheSpectrum()
    {
        var (h, evaluator) = Hessian();
        using var _ = evaluator;
        var full = Tridiagonal.SymmetricEigenvalues(h.Assemble());
        var start = Lanczos.RandomVector(new Random(4), h.Dimension);
        var (nodes, weights) = Lanczos.Quadrature(h, start, 12);
        Assert.Equal(1.0, weights.Sum(), 1e-12);
        Assert.All(nodes, x => Assert.InRange(x, full[0] - 1e-9, full[^1] + 1e-9));
        // Gauss quadrature integrates x (and x^2) exactly: sum w_i theta_i = z^T H z / |z|^2.
        var hz = new double[h.Dimension];
        h.Apply(start, hz);
        double rayleigh = start.Zip(hz, (x, y) => x * y).Sum() / start.Sum(x => x * x);
        Assert.Equal(rayleigh, nodes.Zip(weights, (x, w) => x * w).Sum(), 1e-10 * Math.Abs(full[^1]));
    }

    [Theory]
    [InlineData(TraceEstimator.Hutchinson)]
    [InlineData(TraceEstimator.HutchPlusPlus)]
    [InlineData(TraceEstimator.XTrace)]
    public void EstimatorErrorsShrinkWithMatvecs(TraceEstimator method)
    {
        var (h, evaluator) = Hessian();
        using var _ = evaluator;
        double exact = evaluator.Evaluate(h.Layers, Quantities.Trace).Trace;
        double Error(int m) => Enumerable.Range(0, 20).Average(seed => Math.Abs(TraceEstimators.Estimate(h, method, m, seed).Estimate - exact)) / Math.Abs(exact);
        double coarse = Error(6), fine = Error(30);
        output.WriteLine($"{method.Name()}: mean relative error {coarse:E2} at 6 products, {fine:E2} at 30 (n = {h.Dimension})");
        Assert.True(fine < coarse, $"{method.Name()}: {fine} at 30 products is not below {coarse} at 6");
        if (method != TraceEstimator.Hutchinson)
        {
            // At an interpolant of 5 measurements H = (2/n) J^T J has rank <= 5: a sketch of 6 or more products spans
            // its range, and the low-rank methods are exact.
            var m = new DenseMeasurements(5, 4, 3, new SolverTestData(9).Normals(5 * 4 * 3));
            int[] dims = [3, 4, 3, 4];
            var w = GpuEvaluatorTests.Layers(dims, 12);
            var f = new double[5];
            m.Forward(SolverTestData.EndToEnd(w), f);
            using var interpolant = Evaluators.Create(new SensingProblem(m, f), dims, new EvaluatorOptions { Backend = BackendKind.Cpu });
            var lowRank = new HessianOperator(interpolant, w);
            double lowRankTrace = interpolant.Evaluate(w, Quantities.Trace).Trace;
            var sketch = TraceEstimators.Estimate(lowRank, method, method == TraceEstimator.XTrace ? 14 : 18, seed: 5);
            Assert.True(Math.Abs(sketch.Estimate - lowRankTrace) < 1e-8 * lowRankTrace,
                $"{method.Name()} at {sketch.Matvecs} products on a rank-5 Hessian: {sketch.Estimate} vs {lowRankTrace}");
        }
        var estimate = TraceEstimators.Estimate(h, method, 30, seed: 1);
        Assert.Equal(method == TraceEstimator.HutchPlusPlus, estimate.ErrorEstimate is null);
    }

    [Theory]
    [InlineData(TraceEstimator.Hutchinson)]
    [InlineData(TraceEstimator.HutchPlusPlus)]
    [InlineData(TraceEstimator.XTrace)]
    public void EstimatorsAreUnbiased(TraceEstimator method)
    {
        var (h, evaluator) = Hessian();
        using var _ = evaluator;
        double exact = evaluator.Evaluate(h.Layers, Quantities.Trace).Trace;
        var estimates = Enumerable.Range(0, 400).Select(seed => TraceEstimators.Estimate(h, method, 12, seed).Estimate).ToArray();
        double mean = estimates.Average(), standardError = Math.Sqrt(estimates.Sum(e => (e - mean) * (e - mean)) / (estimates.Length - 1) / estimates.Length);
        output.WriteLine($"{method.Name()} at 12 products: mean of 400 = {mean} +- {standardError}, exact {exact}");
        Assert.True(Math.Abs(mean - exact) < 4 * standardError, $"{method.Name()}: mean {mean} is {Math.Abs(mean - exact) / standardError:F1} standard errors from {exact}");
    }

    [Fact]
    public void BadRequestsAreRejected()
    {
        var (h, evaluator) = Hessian();
        using var _ = evaluator;
        Assert.Throws<ArgumentOutOfRangeException>(() => Lanczos.Extremes(h, h.Dimension + 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => TraceEstimators.Estimate(h, TraceEstimator.HutchPlusPlus, 2));
        Assert.Contains("accepted: hutchinson, hutch++, xtrace", Assert.Throws<ArgumentException>(() => TraceEstimators.Parse("girard")).Message);
        Assert.Throws<ArgumentException>(() => h.Apply(new double[3], new double[h.Dimension]));
    }
}

public sealed class CurvatureEdgeTests
{
    [Fact]
    public void RepeatedTopEigenvaluesAreAllFound()
    {
        // At zero layers the Hessian is its residual part alone, whose top eigenvalue repeats once per hidden unit.
        var problem = GpuEvaluatorTests.Problem(MeasurementKind.Dense, n: 30, dl: 5, d0: 6, seed: 4);
        int[] dims = [6, 4, 5];
        var zero = dims.Skip(1).Select((d, j) => new Flatness.Kernels.Tensors.Matrix<double>(d, dims[j])).ToArray();
        using var evaluator = Evaluators.Create(problem, dims, new EvaluatorOptions { Backend = BackendKind.Cpu });
        var h = new HessianOperator(evaluator, zero);
        var full = Flatness.Kernels.Linalg.Tridiagonal.SymmetricEigenvalues(h.Assemble());
        var result = Lanczos.Extremes(h, 4, seed: 3);
        for (int i = 0; i < 4; i++) Assert.Equal(full[^(i + 1)], result.Top[i], 1e-9 * Math.Abs(full[^1]));
        // tr H = 0 here (the Hessian is all off-diagonal blocks); every estimator gives a number, none NaN.
        foreach (TraceEstimator method in Enum.GetValues<TraceEstimator>())
            Assert.True(double.IsFinite(TraceEstimators.Estimate(h, method, 12).Estimate), method.Name());
    }

    [Fact]
    public void ARestartInsideTheBasisSpanIsRedrawnNotACrash()
    {
        // A scaled full basis at depth 1 has H proportional to the identity: the first Krylov space is invariant at once.
        var problem = Generators.Basis(2, 2, 1);
        using var evaluator = Evaluators.Create(problem, [2, 2], new EvaluatorOptions { Backend = BackendKind.Cpu });
        var h = new HessianOperator(evaluator, [new Flatness.Kernels.Tensors.Matrix<double>(2, 2)]);
        for (int seed = 0; seed < 10; seed++)
        {
            var result = Lanczos.Extremes(h, 4, seed: seed);
            Assert.True(result.Converged);
            Assert.All(result.Top, v => Assert.Equal(result.Top[0], v, 1e-12));
        }
    }

    [Fact]
    public void OverflowIsReportedByName()
    {
        var problem = GpuEvaluatorTests.Problem(MeasurementKind.Dense, n: 10, dl: 3, d0: 3, seed: 1);
        int[] dims = [3, 3, 3, 3];
        var huge = GpuEvaluatorTests.Layers(dims, 2).Select(w => new Flatness.Kernels.Tensors.Matrix<double>(w.Rows, w.Cols, w.Data.Select(x => x * 1e80).ToArray())).ToArray();
        using var evaluator = Evaluators.Create(problem, dims, new EvaluatorOptions { Backend = BackendKind.Cpu });
        var e = Assert.Throws<Flatness.Solver.NumericalOverflowException>(() => Lanczos.Extremes(new HessianOperator(evaluator, huge), 1));
        Assert.Contains("overflowed float64", e.Message);
    }
}
