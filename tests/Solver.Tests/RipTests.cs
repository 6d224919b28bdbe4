using Flatness.Kernels.Tensors;
using Flatness.Solver.Backends;
using Flatness.Solver.Problems;
using Flatness.Solver.Theory;
using Xunit.Abstractions;

namespace Flatness.Tests;

/// <summary>The rank-one RIP estimate against operators with known extremes, a brute-force grid, and the sandwich bound.</summary>
public class RipTests(ITestOutputHelper output)
{
    [Fact]
    public void ScaledFullBasisHasDeltaZero()
    {
        var worst = new WorstError("scaled full basis: Lower, Upper vs 1");
        foreach (var (dl, d0) in new[] { (3, 5), (4, 4), (1, 6) })
        {
            var completion = SolverTestData.ScaledBasisCompletion(dl, d0);
            foreach (Measurements m in new Measurements[] { completion, SolverTestData.Materialise(completion) })
            {
                var rip = Rip.Estimate(m);
                worst.Add(Math.Abs(rip.Lower - 1));
                worst.Add(Math.Abs(rip.Upper - 1));
                Assert.True(Math.Abs(rip.Lower - 1) <= 1e-10 && Math.Abs(rip.Upper - 1) <= 1e-10,
                    $"{m.Kind} {dl}x{d0}: Lower = {rip.Lower:R}, Upper = {rip.Upper:R}");
                Assert.True(rip.Delta <= 1e-10);
            }
        }
        worst.Report(output);
    }

    [Fact]
    public void CompletionExtremesAreTheSamplingCounts()
    {
        // q(u, v) = (s^2/n) sum_ab c_ab u_a^2 v_b^2 with c_ab the number of samples of (a, b): a bilinear form on two
        // simplices, so the extremes are (s^2/n) min c_ab (0 when an entry is missing) and (s^2/n) max c_ab.
        var data = new SolverTestData(21);
        var worst = new WorstError("completion: Lower, Upper vs (s^2/n) min/max c_ab (relative to the mean of q)");
        foreach (var (dl, d0, n, s) in new[] { (3, 4, 40, 1.5), (4, 3, 8, 1.0), (5, 5, 200, 0.3) })
        {
            var m = data.RandomCompletion(n, dl, d0, s);
            var counts = new int[dl, d0];
            for (int i = 0; i < n; i++) counts[m.RowIndex[i], m.ColIndex[i]]++;
            var all = counts.Cast<int>().ToArray();
            double min = s * s / n * all.Min(), max = s * s / n * all.Max(), mean = s * s / n * all.Average();
            var rip = Rip.Estimate(m, restarts: 16);
            double e = Math.Max(Math.Abs(rip.Lower - min), Math.Abs(rip.Upper - max)) / mean;
            worst.Add(e);
            output.WriteLine($"  {dl}x{d0}, n = {n}: Lower {rip.Lower:G6} (exact {min:G6}), Upper {rip.Upper:G6} (exact {max:G6})");
            Assert.True(e <= 1e-12, $"{dl}x{d0}, n = {n}: [{rip.Lower}, {rip.Upper}] vs exact [{min}, {max}]");
        }
        worst.Report(output);
    }

    [Fact]
    public void WeightedBasisExtremesAreTheExtremeWeights()
    {
        // A_ab = sqrt(d_0 d_L) w_ab e_a e_b^T as dense matrices: extremes min w_ab^2 and max w_ab^2.
        var data = new SolverTestData(22);
        var worst = new WorstError("weighted basis: Lower, Upper vs min/max w^2");
        foreach (var (dl, d0) in new[] { (3, 4), (5, 2), (4, 4) })
        {
            var weights = Enumerable.Range(0, dl * d0).Select(_ => 0.5 + data.Random.NextDouble()).ToArray();
            var m = SolverTestData.Materialise(SolverTestData.ScaledBasisCompletion(dl, d0), weights);
            var rip = Rip.Estimate(m, restarts: 16);
            double min = weights.Min(w => w * w), max = weights.Max(w => w * w);
            double e = Math.Max(SolverTestData.Relative(rip.Lower, min), SolverTestData.Relative(rip.Upper, max));
            worst.Add(e);
            Assert.True(e <= 1e-12, $"{dl}x{d0}: [{rip.Lower}, {rip.Upper}] vs exact [{min}, {max}]");
        }
        worst.Report(output);
    }

    [Fact]
    public void TwoByTwoExtremesMatchABruteForceGrid()
    {
        // d_0 = d_L = 2: u = (cos a, sin a), v = (cos b, sin b) on a fine grid over [0, pi)^2. The grid extremes are
        // within O(h^2) of the true ones and are achievable values, so Lower <= grid min and Upper >= grid max
        // (up to round-off) whenever the local searches found the global extremes.
        var data = new SolverTestData(23);
        var worst = new WorstError("2x2: |estimate - grid extreme| / grid max");
        const int grid = 600;
        foreach (var (kind, n) in new[] { ("dense", 3), ("dense", 5), ("rank-one", 3), ("rank-one", 6), ("dense", 12) })
        {
            Measurements m = kind == "dense" ? data.GaussianDense(n, 2, 2) : data.GaussianRankOne(n, 2, 2);
            var a = Enumerable.Range(0, n).Select(i => m.Dense(i)).ToArray();
            double gridMin = double.PositiveInfinity, gridMax = 0;
            var cos = new double[grid];
            var sin = new double[grid];
            for (int t = 0; t < grid; t++) { cos[t] = Math.Cos(Math.PI * t / grid); sin[t] = Math.Sin(Math.PI * t / grid); }
            var av = new double[n * 2];
            for (int tb = 0; tb < grid; tb++)
            {
                for (int i = 0; i < n; i++)
                {
                    av[2 * i] = a[i][0, 0] * cos[tb] + a[i][0, 1] * sin[tb];
                    av[2 * i + 1] = a[i][1, 0] * cos[tb] + a[i][1, 1] * sin[tb];
                }
                for (int ta = 0; ta < grid; ta++)
                {
                    double q = 0;
                    for (int i = 0; i < n; i++)
                    {
                        double f = cos[ta] * av[2 * i] + sin[ta] * av[2 * i + 1];
                        q += f * f;
                    }
                    q /= n;
                    gridMin = Math.Min(gridMin, q);
                    gridMax = Math.Max(gridMax, q);
                }
            }
            var rip = Rip.Estimate(m, restarts: 16);
            double e = Math.Max(Math.Abs(rip.Lower - gridMin), Math.Abs(rip.Upper - gridMax)) / gridMax;
            worst.Add(e);
            output.WriteLine($"  {kind,-8} n = {n,2}: Lower {rip.Lower:G10} (grid {gridMin:G10}), Upper {rip.Upper:G10} (grid {gridMax:G10})");
            Assert.True(rip.Lower <= gridMin + 1e-12 * gridMax, $"{kind}, n = {n}: Lower {rip.Lower} above the grid minimum {gridMin}");
            Assert.True(rip.Upper >= gridMax - 1e-12 * gridMax, $"{kind}, n = {n}: Upper {rip.Upper} below the grid maximum {gridMax}");
            Assert.True(e <= 1e-4, $"{kind}, n = {n}: estimate off the grid by {e:E2}");
        }
        worst.Report(output);
    }

    [Theory]
    [InlineData("dense")]
    [InlineData("rank-one")]
    public void GaussianSensingBracketsOneAndSandwichesTheTrace(string kind)
    {
        // Large n: (1 - delta) <= q <= (1 + delta) with delta small, and at every W
        // 2 (1 - delta) G <= tr H <= 2 (1 + delta) G; in fact tr H / 2G is a weighted mean of values of q.
        var data = new SolverTestData(kind.Length);
        const int d0 = 4, dl = 3, n = 1000;
        Measurements m = kind == "dense" ? data.GaussianDense(n, dl, d0) : data.GaussianRankOne(n, dl, d0);
        var rip = Rip.Estimate(m, seed: 1);
        output.WriteLine($"{kind} Gaussian, {dl}x{d0}, n = {n}: Lower = {rip.Lower:F4}, Upper = {rip.Upper:F4}, delta = {rip.Delta:F4}");
        Assert.True(rip.Lower < 1 && rip.Upper > 1 && rip.Delta < 0.5, $"[{rip.Lower}, {rip.Upper}] does not bracket 1 tightly");

        double qMin = double.PositiveInfinity, qMax = 0;
        for (int trial = 0; trial < 100; trial++)
        {
            double q = Rip.QuadraticForm(m, data.UnitVector(dl), data.UnitVector(d0));
            qMin = Math.Min(qMin, q);
            qMax = Math.Max(qMax, q);
        }
        Assert.True(rip.Lower <= qMin && qMax <= rip.Upper, $"random q in [{qMin}, {qMax}] outside [{rip.Lower}, {rip.Upper}]");

        var evaluator = new ReferenceEvaluator(data.WithRandomLabels(m));
        double ratioMin = double.PositiveInfinity, ratioMax = 0;
        foreach (int[] dims in new[] { new[] { d0, dl }, [d0, 5, dl], [d0, 2, 6, dl], [d0, 3, 1, 4, dl] })
            for (int trial = 0; trial < 3; trial++)
            {
                var layers = data.Layers(dims, 0.8);
                double trace = evaluator.Evaluate(layers, Quantities.Trace).Trace;
                double g = FlatnessTheory.G(layers);
                ratioMin = Math.Min(ratioMin, trace / (2 * g));
                ratioMax = Math.Max(ratioMax, trace / (2 * g));
                Assert.True(2 * (1 - rip.Delta) * g <= trace && trace <= 2 * (1 + rip.Delta) * g,
                    $"dims [{string.Join(",", dims)}]: tr H = {trace} outside 2(1 +- {rip.Delta}) G = 2(1 +- delta) {g}");
                Assert.True(rip.Lower <= trace / (2 * g) && trace / (2 * g) <= rip.Upper);
            }
        output.WriteLine($"  random unit (u, v): q in [{qMin:F4}, {qMax:F4}]; random W (L = 1..4): tr H / 2G in [{ratioMin:F4}, {ratioMax:F4}]");
    }

    [Fact]
    public void QuadraticFormMatchesItsDefinitionAndInputIsChecked()
    {
        var data = new SolverTestData(24);
        var worst = new WorstError("q(u, v) vs (1/n) sum_i (u^T A_i v)^2");
        foreach (Measurements m in new Measurements[] { data.GaussianDense(7, 3, 4), data.RandomCompletion(9, 3, 4, 1.2), data.GaussianRankOne(5, 3, 4) })
        {
            var u = data.Normals(3);
            var v = data.Normals(4);
            double expected = 0;
            for (int i = 0; i < m.Count; i++)
            {
                var ai = m.Dense(i);
                double f = 0;
                for (int a = 0; a < 3; a++)
                    for (int b = 0; b < 4; b++) f += u[a] * ai[a, b] * v[b];
                expected += f * f / m.Count;
            }
            double e = SolverTestData.Relative(Rip.QuadraticForm(m, u, v), expected);
            worst.Add(e);
            Assert.True(e <= 1e-13, $"{m.Kind}: {e:E2}");
        }
        worst.Report(output);
        var dense = data.GaussianDense(3, 2, 2);
        Assert.Throws<ArgumentException>(() => Rip.QuadraticForm(dense, new double[3], new double[2]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Rip.Estimate(dense, restarts: -1));
        var zero = new DenseMeasurements(2, 2, 2, new double[8]);
        Assert.Equal(new RipEstimate(0, 0), Rip.Estimate(zero));
    }
}
