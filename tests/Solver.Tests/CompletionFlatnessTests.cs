using Flatness.Kernels.Tensors;
using Flatness.Solver.Backends;
using Flatness.Solver.Problems;
using Flatness.Solver.Theory;

namespace Flatness.Tests;

/// <summary>The completion closed form against the exact trace, and its minimality over factorisations.</summary>
public sealed class CompletionFlatnessTests
{
    private static (SensingProblem Problem, CompletionMeasurements M, Matrix<double> E) Setup(int seed)
    {
        var data = new SolverTestData(seed);
        // Non-uniform rows: row a observed with probability proportional to 1/(a+1); every row and column at least once.
        var rng = new Random(seed);
        var rows = new List<int>();
        var cols = new List<int>();
        for (int a = 0; a < 6; a++) for (int b = 0; b < 5; b++) if ((a + b) % 4 == 0 || b == a % 5) { rows.Add(a); cols.Add(b); }
        for (int i = 0; i < 40; i++) { rows.Add((int)Math.Floor(6 * Math.Pow(rng.NextDouble(), 2))); cols.Add(rng.Next(5)); }
        var m = new CompletionMeasurements(6, 5, rows.ToArray(), cols.ToArray(), scale: 1.3);
        var e = data.RankR(6, 5, 2);
        var f = new double[m.Count];
        m.Forward(e, f);
        return (new SensingProblem(m, f), m, e);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void TheConstructionAttainsTheClosedFormAndNothingIsBelowIt(int seed)
    {
        var (problem, m, e) = Setup(seed);
        Assert.True(CompletionFlatness.Covers(m));
        var layers = CompletionFlatness.FlattestFactorization(m, e, width: 4);
        Assert.True(SolverTestData.MaxAbsDiff(SolverTestData.EndToEnd(layers), e) < 1e-12, "the construction factors M");
        using var evaluator = new ReferenceEvaluator(problem);
        double exact = evaluator.Evaluate(layers, Quantities.Trace).Trace, bound = CompletionFlatness.MinimumTrace(m, e);
        Assert.True(Math.Abs(exact - bound) < 1e-12 * bound, $"tr H {exact} vs (4 s^2/n) ||D_p^1/2 M D_q^1/2||_* = {bound}");
        // Any other factorisation of M (an invertible change of basis in the hidden layer) is at least as sharp.
        var rng = new SolverTestData(seed + 10);
        for (int trial = 0; trial < 50; trial++)
        {
            var g = rng.Gaussian(4, 4);
            for (int i = 0; i < 4; i++) g[i, i] += 3;
            var inverse = Invert(g);
            Matrix<double>[] other = [SolverTestData.Product(g, layers[0]), SolverTestData.Product(layers[1], inverse)];
            Assert.True(SolverTestData.MaxAbsDiff(SolverTestData.EndToEnd(other), e) < 1e-10);
            Assert.True(evaluator.Evaluate(other, Quantities.Trace).Trace >= bound * (1 - 1e-12));
        }
        // With uniform weights it is the nuclear norm up to the constant; with these counts it is not.
        double nuclearForm = 4 * m.Scale * m.Scale / m.Count * Math.Sqrt(m.Count / 30.0) * Math.Sqrt(m.Count / 30.0) *
            Flatness.Kernels.Linalg.MatrixNorms.Nuclear(e);
        Assert.True(Math.Abs(nuclearForm - bound) > 1e-3 * bound);
    }

    private static Matrix<double> Invert(Matrix<double> a)
    {
        int n = a.Rows;
        var m = new Matrix<double>(n, 2 * n);
        for (int r = 0; r < n; r++) { for (int c = 0; c < n; c++) m[r, c] = a[r, c]; m[r, n + r] = 1; }
        for (int c = 0; c < n; c++)
        {
            int p = Enumerable.Range(c, n - c).MaxBy(r => Math.Abs(m[r, c]));
            for (int k = 0; k < 2 * n; k++) (m[c, k], m[p, k]) = (m[p, k], m[c, k]);
            double d = m[c, c];
            for (int k = 0; k < 2 * n; k++) m[c, k] /= d;
            for (int r = 0; r < n; r++)
            {
                if (r == c) continue;
                double f = m[r, c];
                for (int k = 0; k < 2 * n; k++) m[r, k] -= f * m[c, k];
            }
        }
        var inv = new Matrix<double>(n, n);
        for (int r = 0; r < n; r++) for (int c = 0; c < n; c++) inv[r, c] = m[r, n + c];
        return inv;
    }
}
