using Flatness.Kernels.Tensors;
using Flatness.Solver.Backends;
using Flatness.Solver.Problems;

namespace Flatness.Tests;

/// <summary>The exact Hessian-vector product against independent references: finite differences of the gradient,
/// symmetry, and the exact trace (sum of e_i^T H e_i over the parameter basis).</summary>
public sealed class HessianVectorProductTests
{
    private static double Inner(IReadOnlyList<Matrix<double>> a, IReadOnlyList<Matrix<double>> b) =>
        a.Zip(b, (x, y) => x.Data.Zip(y.Data, (u, v) => u * v).Sum()).Sum();

    private static Matrix<double>[] Step(Matrix<double>[] w, Matrix<double>[] v, double h) =>
        w.Select((m, j) => new Matrix<double>(m.Rows, m.Cols, m.Data.Select((x, t) => x + h * v[j].Data[t]).ToArray())).ToArray();

    [Theory]
    [InlineData(MeasurementKind.Dense, 1)]
    [InlineData(MeasurementKind.Dense, 2)]
    [InlineData(MeasurementKind.Dense, 4)]
    [InlineData(MeasurementKind.Completion, 3)]
    [InlineData(MeasurementKind.RankOne, 3)]
    public void ReferenceProductIsTheDerivativeOfTheGradient(MeasurementKind kind, int depth)
    {
        var problem = GpuEvaluatorTests.Problem(kind, n: 17, dl: 4, d0: 3, seed: depth);
        int[] dims = depth switch { 1 => [3, 4], 2 => [3, 5, 4], 3 => [3, 2, 5, 4], _ => [3, 2, 5, 3, 4] };
        var w = GpuEvaluatorTests.Layers(dims, seed: 7);
        var v = GpuEvaluatorTests.Layers(dims, seed: 8);
        var reference = new ReferenceEvaluator(problem);
        var hv = reference.HessianVectorProduct(w, v);
        const double h = 1e-5;
        var plus = reference.Evaluate(Step(w, v, h), Quantities.LossGradient).LossGradient!;
        var minus = reference.Evaluate(Step(w, v, -h), Quantities.LossGradient).LossGradient!;
        double scale = hv.Max(m => m.Data.Max(Math.Abs)), worst = 0;
        for (int j = 0; j < hv.Length; j++)
            for (int t = 0; t < hv[j].Data.Length; t++)
                worst = Math.Max(worst, Math.Abs((plus[j].Data[t] - minus[j].Data[t]) / (2 * h) - hv[j].Data[t]));
        Assert.True(worst < 1e-7 * scale, $"central differences of the gradient differ from H V by {worst / scale:E2} (relative)");
    }

    [Fact]
    public void TheProductIsSymmetricAndItsDiagonalSumsToTheExactTrace()
    {
        var problem = GpuEvaluatorTests.Problem(MeasurementKind.Dense, n: 30, dl: 4, d0: 3, seed: 5);
        int[] dims = [3, 2, 3, 4];
        var w = GpuEvaluatorTests.Layers(dims, seed: 1);
        using var evaluator = Evaluators.Create(problem, dims, new EvaluatorOptions { Backend = BackendKind.Cpu, Path = EvaluationPath.Direct });
        var u = GpuEvaluatorTests.Layers(dims, seed: 2);
        var v = GpuEvaluatorTests.Layers(dims, seed: 3);
        double uhv = Inner(u, evaluator.HessianVectorProduct(w, v)), vhu = Inner(v, evaluator.HessianVectorProduct(w, u));
        Assert.True(Math.Abs(uhv - vhu) < 1e-12 * Math.Abs(uhv), $"<U, H V> = {uhv} but <V, H U> = {vhu}");

        // sum_i e_i^T H e_i over the basis of every parameter equals the closed-form trace.
        double diagonal = 0;
        var e = w.Select(m => new Matrix<double>(m.Rows, m.Cols)).ToArray();
        for (int j = 0; j < e.Length; j++)
            for (int t = 0; t < e[j].Data.Length; t++)
            {
                e[j].Data[t] = 1;
                diagonal += evaluator.HessianVectorProduct(w, e)[j].Data[t];
                e[j].Data[t] = 0;
            }
        double trace = evaluator.Evaluate(w, Quantities.Trace).Trace;
        Assert.True(Math.Abs(diagonal - trace) < 1e-12 * trace, $"sum of the Hessian diagonal {diagonal} vs the exact trace {trace}");
    }

    [Fact]
    public void RejectsADirectionOfTheWrongShape()
    {
        var problem = GpuEvaluatorTests.Problem(MeasurementKind.Dense, n: 5, dl: 3, d0: 2, seed: 1);
        int[] dims = [2, 2, 3];
        using var evaluator = Evaluators.Create(problem, dims, new EvaluatorOptions { Backend = BackendKind.Cpu });
        var w = GpuEvaluatorTests.Layers(dims, 1);
        var error = Assert.Throws<ArgumentException>(() => evaluator.HessianVectorProduct(w, GpuEvaluatorTests.Layers([2, 3, 3], 2)));
        Assert.Contains("W1", error.Message);
        Assert.Throws<ArgumentException>(() => new ReferenceEvaluator(problem).HessianVectorProduct(w, GpuEvaluatorTests.Layers([2, 3, 3], 2)));
    }
}
