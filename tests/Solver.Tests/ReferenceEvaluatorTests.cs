using Flatness.Kernels.Tensors;
using Flatness.Solver.Backends;
using Flatness.Solver.Problems;
using Flatness.Solver.Theory;
using Xunit.Abstractions;

namespace Flatness.Tests;

/// <summary>
/// The float64 reference evaluator against independent references: central finite differences of the loss, of its
/// analytic gradient (the Hessian diagonal) and of the trace; the defining sum of the trace; closed forms.
/// Points are random, far from any minimum; d_0 != d_L and the hidden widths are uneven.
/// </summary>
public class ReferenceEvaluatorTests(ITestOutputHelper output)
{
    private const double Step = 1e-5;
    private const double FdTolerance = 1e-7;

    private static readonly int[][] DimsByDepth =
    [
        [4, 3],
        [4, 5, 3],
        [4, 2, 6, 3],
        [4, 5, 2, 3, 3],
    ];

    private static readonly string[] Kinds = ["dense", "completion", "rank-one"];

    private static (ReferenceEvaluator Evaluator, Matrix<double>[] Layers) Case(string kind, int depth)
    {
        var data = new SolverTestData(1000 * depth + kind.Length);
        int[] dims = DimsByDepth[depth - 1];
        int d0 = dims[0], dl = dims[^1];
        Measurements m = kind switch
        {
            "dense" => data.GaussianDense(7, dl, d0),
            "completion" => data.RandomCompletion(9, dl, d0, 1.3),
            "rank-one" => data.GaussianRankOne(6, dl, d0),
            _ => throw new ArgumentException(kind),
        };
        return (new ReferenceEvaluator(data.WithRandomLabels(m)), data.Layers(dims, 0.8));
    }

    private static IEnumerable<(string Kind, int Depth)> AllCases() =>
        from kind in Kinds from depth in Enumerable.Range(1, 4) select (kind, depth);

    /// <summary>Central difference of <paramref name="f"/> in every entry of every layer.</summary>
    private static Matrix<double>[] FiniteDifference(Matrix<double>[] layers, Func<Matrix<double>[], double> f)
    {
        var work = layers.Select(w => w.Clone()).ToArray();
        var result = layers.Select(w => new Matrix<double>(w.Rows, w.Cols)).ToArray();
        for (int j = 0; j < work.Length; j++)
            for (int t = 0; t < work[j].Length; t++)
            {
                double saved = work[j].Data[t];
                work[j].Data[t] = saved + Step;
                double plus = f(work);
                work[j].Data[t] = saved - Step;
                double minus = f(work);
                work[j].Data[t] = saved;
                result[j].Data[t] = (plus - minus) / (2 * Step);
            }
        return result;
    }

    /// <summary>max over all entries |a - b| / max over all entries |b|.</summary>
    private static double RelativeError(Matrix<double>[] actual, Matrix<double>[] expected)
    {
        double diff = 0, scale = 0;
        for (int j = 0; j < actual.Length; j++)
        {
            diff = Math.Max(diff, SolverTestData.MaxAbsDiff(actual[j], expected[j]));
            scale = Math.Max(scale, SolverTestData.MaxAbs(expected[j]));
        }
        return diff / scale;
    }

    [Fact]
    public void LossGradientMatchesFiniteDifferencesOfLoss()
    {
        var worst = new WorstError("dL/dW vs central FD of L (max-entry relative)");
        foreach (var (kind, depth) in AllCases())
        {
            var (evaluator, layers) = Case(kind, depth);
            var analytic = evaluator.Evaluate(layers, Quantities.LossGradient).LossGradient!;
            var fd = FiniteDifference(layers, w => evaluator.Evaluate(w, Quantities.Loss).Loss);
            double e = RelativeError(analytic, fd);
            worst.Add(e);
            output.WriteLine($"  {kind,-10} L={depth}: {e:E2}");
            Assert.True(e <= FdTolerance, $"{kind}, L = {depth}: loss gradient off by {e:E2} relative");
        }
        worst.Report(output);
    }

    [Fact]
    public void TraceEqualsSumOfFiniteDifferenceHessianDiagonal()
    {
        var worst = new WorstError("tr H vs sum_k (g_k(w + h e_k) - g_k(w - h e_k)) / 2h");
        foreach (var (kind, depth) in AllCases())
        {
            var (evaluator, layers) = Case(kind, depth);
            double trace = evaluator.Evaluate(layers, Quantities.Trace).Trace;
            var work = layers.Select(w => w.Clone()).ToArray();
            double diagonal = 0;
            for (int j = 0; j < work.Length; j++)
                for (int t = 0; t < work[j].Length; t++)
                {
                    double saved = work[j].Data[t];
                    work[j].Data[t] = saved + Step;
                    double plus = evaluator.Evaluate(work, Quantities.LossGradient).LossGradient![j].Data[t];
                    work[j].Data[t] = saved - Step;
                    double minus = evaluator.Evaluate(work, Quantities.LossGradient).LossGradient![j].Data[t];
                    work[j].Data[t] = saved;
                    diagonal += (plus - minus) / (2 * Step);
                }
            double e = SolverTestData.Relative(trace, diagonal);
            worst.Add(e);
            output.WriteLine($"  {kind,-10} L={depth}: tr H = {trace:G10}, FD diagonal sum = {diagonal:G10}, {e:E2}");
            Assert.True(e <= FdTolerance, $"{kind}, L = {depth}: trace {trace} vs FD Hessian diagonal {diagonal} ({e:E2})");
        }
        worst.Report(output);
    }

    [Fact]
    public void TraceGradientMatchesFiniteDifferencesOfTrace()
    {
        var worst = new WorstError("d tr H/dW vs central FD of tr H (max-entry relative)");
        foreach (var (kind, depth) in AllCases())
        {
            var (evaluator, layers) = Case(kind, depth);
            var analytic = evaluator.Evaluate(layers, Quantities.TraceGradient).TraceGradient!;
            var fd = FiniteDifference(layers, w => evaluator.Evaluate(w, Quantities.Trace).Trace);
            if (depth == 1)
            {
                // The trace does not depend on W_1 at depth 1: both sides vanish.
                Assert.True(SolverTestData.MaxAbs(analytic[0]) == 0, "depth 1: trace gradient should be exactly zero");
                Assert.True(SolverTestData.MaxAbs(fd[0]) <= 1e-9);
                output.WriteLine($"  {kind,-10} L=1: gradient exactly 0");
                continue;
            }
            double e = RelativeError(analytic, fd);
            worst.Add(e);
            output.WriteLine($"  {kind,-10} L={depth}: {e:E2}");
            Assert.True(e <= FdTolerance, $"{kind}, L = {depth}: trace gradient off by {e:E2} relative");
        }
        worst.Report(output);
    }

    [Fact]
    public void TraceEqualsItsDefiningSumAndRequestedPartsOnly()
    {
        // tr H = (2/n) sum_i sum_j ||P_j^T A_i Q_j^T||_F^2 with the test's own products and A_i from Dense(i).
        var worst = new WorstError("tr H vs (2/n) sum_ij ||P_j^T A_i Q_j^T||_F^2");
        foreach (var (kind, depth) in AllCases())
        {
            var (evaluator, layers) = Case(kind, depth);
            var m = evaluator.Problem.Measurements;
            double sum = 0;
            for (int j = 1; j <= depth; j++)
            {
                var p = Chain(layers, j, depth, m.OutputDim);      // W_{L:j+1}
                var q = Chain(layers, 0, j - 1, m.InputDim);       // W_{j-1:1}
                for (int i = 0; i < m.Count; i++)
                    sum += SolverTestData.SumSquares(SolverTestData.Product(SolverTestData.Product(p.Transpose(), m.Dense(i)), q.Transpose()));
            }
            sum *= 2.0 / m.Count;
            var all = evaluator.Evaluate(layers, Quantities.All);
            double e = SolverTestData.Relative(all.Trace, sum);
            worst.Add(e);
            Assert.True(e <= 1e-12, $"{kind}, L = {depth}: trace {all.Trace} vs defining sum {sum} ({e:E2})");

            var values = evaluator.Evaluate(layers, Quantities.Values);
            Assert.Equal(all.Loss, values.Loss);
            Assert.Equal(all.Trace, values.Trace);
            Assert.Null(values.LossGradient);
            Assert.Null(values.TraceGradient);
            var lossOnly = evaluator.Evaluate(layers, Quantities.Loss);
            Assert.True(double.IsNaN(lossOnly.Trace));
            // The loss is (1/n) sum_i (<A_i, E> - b_i)^2, computed here from Dense(i).
            var e2e = SolverTestData.EndToEnd(layers);
            double loss = 0;
            for (int i = 0; i < m.Count; i++)
            {
                var ai = m.Dense(i);
                double f = 0;
                for (int t = 0; t < ai.Length; t++) f += ai.Data[t] * e2e.Data[t];
                loss += (f - evaluator.Problem.Labels[i]) * (f - evaluator.Problem.Labels[i]);
            }
            loss /= m.Count;
            double el = SolverTestData.Relative(lossOnly.Loss, loss);
            Assert.True(el <= 1e-13, $"{kind}, L = {depth}: loss {lossOnly.Loss} vs {loss}");
            worst.Add(el);
        }
        worst.Report(output);
    }

    /// <summary>W_{hi:lo+1} = W_hi ... W_{lo+1} (1-based layers), the identity of size <paramref name="size"/> when empty.</summary>
    private static Matrix<double> Chain(Matrix<double>[] layers, int lo, int hi, int size)
    {
        var result = Matrix<double>.Identity(lo < hi ? layers[lo].Cols : size);
        for (int k = lo + 1; k <= hi; k++) result = SolverTestData.Product(layers[k - 1], result);
        return result;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void ScaledFullBasisGivesTwiceG(int depth)
    {
        // {sqrt(d_0 d_L) e_a e_b^T}: delta = 0 and tr H = 2 G(W) exactly, as completion and as dense A_i.
        int[] dims = depth switch { 1 => [5, 3], 2 => [5, 2, 3], 3 => [5, 4, 7, 3], 4 => [5, 1, 6, 2, 3], _ => [5, 3, 8, 2, 4, 3] };
        var data = new SolverTestData(77 + depth);
        var completion = SolverTestData.ScaledBasisCompletion(3, 5);
        var dense = SolverTestData.Materialise(completion);
        var worst = new WorstError($"tr H = 2 G, scaled full basis, L = {depth}");
        for (int trial = 0; trial < 5; trial++)
        {
            var layers = data.Layers(dims, 0.9);
            double g = FlatnessTheory.G(layers);
            foreach (Measurements m in new Measurements[] { completion, dense })
            {
                double trace = new ReferenceEvaluator(data.WithRandomLabels(m)).Evaluate(layers, Quantities.Trace).Trace;
                double e = SolverTestData.Relative(trace, 2 * g);
                worst.Add(e);
                Assert.True(e <= 1e-12, $"{m.Kind}, L = {depth}: tr H = {trace} but 2G = {2 * g} ({e:E2})");
            }
        }
        worst.Report(output);
    }

    [Fact]
    public void DepthTwoCompletionClosedForm()
    {
        // L = 2: tr H = (2 s^2/n) sum_i (||W_2[a_i,:]||^2 + ||W_1[:,b_i]||^2).
        var data = new SolverTestData(5);
        var worst = new WorstError("depth-2 completion closed form");
        foreach (var (dl, hidden, d0, n, s) in new[] { (3, 5, 4, 9, 1.3), (6, 2, 4, 30, 0.7), (4, 4, 4, 3, 2.0) })
        {
            var m = data.RandomCompletion(n, dl, d0, s);
            var layers = data.Layers([d0, hidden, dl]);
            double expected = 0;
            for (int i = 0; i < n; i++)
            {
                for (int k = 0; k < hidden; k++)
                {
                    expected += layers[1][m.RowIndex[i], k] * layers[1][m.RowIndex[i], k];
                    expected += layers[0][k, m.ColIndex[i]] * layers[0][k, m.ColIndex[i]];
                }
            }
            expected *= 2 * s * s / n;
            double trace = new ReferenceEvaluator(data.WithRandomLabels(m)).Evaluate(layers, Quantities.Trace).Trace;
            double e = SolverTestData.Relative(trace, expected);
            worst.Add(e);
            Assert.True(e <= 1e-13, $"{dl}x{d0}, n = {n}: tr H = {trace}, closed form {expected} ({e:E2})");
        }
        worst.Report(output);
    }
}
