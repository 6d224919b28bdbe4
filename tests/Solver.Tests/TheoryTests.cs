using Flatness.Kernels.Linalg;
using Flatness.Kernels.Tensors;
using Flatness.Solver.Theory;
using Xunit.Abstractions;

namespace Flatness.Tests;

/// <summary>docs/MATH.md section 4: G, F, the flattest and balanced factorisations and the weight-decay minimum.</summary>
public class TheoryTests(ITestOutputHelper output)
{
    /// <summary>G computed from its definition with the tests' own products.</summary>
    private static double[] GTermsByDefinition(Matrix<double>[] layers)
    {
        int depth = layers.Length;
        var terms = new double[depth];
        for (int j = 1; j <= depth; j++)
        {
            var p = Matrix<double>.Identity(layers[^1].Rows);
            for (int k = depth; k > j; k--) p = SolverTestData.Product(p, layers[k - 1]);
            var q = Matrix<double>.Identity(layers[0].Cols);
            for (int k = 1; k < j; k++) q = SolverTestData.Product(layers[k - 1], q);
            terms[j - 1] = SolverTestData.SumSquares(p) * SolverTestData.SumSquares(q);
        }
        return terms;
    }

    private static double SumSquaredNorms(Matrix<double>[] layers) => layers.Sum(SolverTestData.SumSquares);

    [Fact]
    public void GMatchesItsDefinitionAndDepthOneIsD0DL()
    {
        var data = new SolverTestData(1);
        var worst = new WorstError("G terms vs definition");
        foreach (int[] dims in new[] { new[] { 4, 3 }, [4, 6, 3], [2, 5, 1, 7], [3, 3, 3, 3, 3] })
        {
            var layers = data.Layers(dims);
            var terms = FlatnessTheory.GTerms(layers);
            var expected = GTermsByDefinition(layers);
            for (int j = 0; j < terms.Length; j++)
            {
                double e = SolverTestData.Relative(terms[j], expected[j]);
                worst.Add(e);
                Assert.True(e <= 1e-13, $"dims [{string.Join(",", dims)}], term {j + 1}: {terms[j]} vs {expected[j]}");
            }
            Assert.Equal(terms.Sum(), FlatnessTheory.G(layers));
        }
        // L = 1: P_1, Q_1 are identities, so G = d_0 d_L whatever W_1, and F(M, 1) = d_0 d_L ||M||_*^0 = d_0 d_L.
        var m = data.Gaussian(3, 5);
        Assert.Equal(15.0, FlatnessTheory.G([m]));
        Assert.Equal(15.0, FlatnessTheory.F(m, 1), 13);
        Assert.Equal(15.0, FlatnessTheory.F(new Matrix<double>(3, 5), 1));
        Assert.Equal(15.0, FlatnessTheory.G(FlatnessTheory.FlattestFactorization(m, [5, 3])));
        // L = 2: F = 2 sqrt(d_0 d_2) ||M||_*.
        double f2 = FlatnessTheory.F(m, 2), expectedF2 = 2 * Math.Sqrt(15) * MatrixNorms.Nuclear(m);
        worst.Add(SolverTestData.Relative(f2, expectedF2));
        Assert.True(SolverTestData.Relative(f2, expectedF2) <= 1e-15);
        worst.Report(output);
    }

    [Fact]
    public void FIsALowerBoundOfGOverRandomFactorisations()
    {
        // Random W of any depth and shape (narrow hidden layers give rank-deficient M): F(E(W)) <= G(W).
        var data = new SolverTestData(2);
        double minRatio = double.PositiveInfinity;
        int count = 0;
        for (int trial = 0; trial < 300; trial++)
        {
            int depth = 1 + trial % 5;
            var dims = new int[depth + 1];
            for (int k = 0; k <= depth; k++) dims[k] = 1 + data.Random.Next(6);
            var layers = data.Layers(dims, 0.3 + 2 * data.Random.NextDouble());
            double g = FlatnessTheory.G(layers), f = FlatnessTheory.F(SolverTestData.EndToEnd(layers), depth);
            if (depth >= 2) minRatio = Math.Min(minRatio, g / f);
            else Assert.Equal(g, f, 12);
            count++;
            Assert.True(f <= g * (1 + 1e-12), $"dims [{string.Join(",", dims)}]: F = {f} > G = {g}");
        }
        output.WriteLine($"F(E(W)) <= G(W): {count} random factorisations, smallest G/F at depth >= 2 = {minRatio:F6} (depth 1: G = F = d_0 d_L)");
    }

    [Fact]
    public void GaugeTransformsOfTheFlattestNeverGoBelowF()
    {
        // W_k -> C_k W_k, W_{k+1} -> W_{k+1} C_k^{-1} keeps E; with C = Q1 diag(c) Q2^T the inverse is exact.
        var data = new SolverTestData(3);
        double minExcess = double.PositiveInfinity, worstE = 0;
        for (int trial = 0; trial < 60; trial++)
        {
            int depth = 2 + trial % 4;
            int d0 = 2 + data.Random.Next(5), dl = 2 + data.Random.Next(5), rank = 1 + data.Random.Next(Math.Min(d0, dl));
            var dims = new int[depth + 1];
            dims[0] = d0;
            dims[depth] = dl;
            for (int k = 1; k < depth; k++) dims[k] = rank + data.Random.Next(3);
            var m = data.RankR(dl, d0, rank);
            var layers = FlatnessTheory.FlattestFactorization(m, dims);
            double f = FlatnessTheory.F(m, depth);
            for (int k = 1; k < depth; k++)
            {
                int h = dims[k];
                var q1 = data.Orthogonal(h);
                var q2 = data.Orthogonal(h);
                var c = Enumerable.Range(0, h).Select(_ => Math.Exp(0.5 * data.Normal())).ToArray();
                var gauge = new Matrix<double>(h, h);
                var inverse = new Matrix<double>(h, h);
                for (int r = 0; r < h; r++)
                    for (int s = 0; s < h; s++)
                        for (int t = 0; t < h; t++)
                        {
                            gauge[r, s] += q1[r, t] * c[t] * q2[s, t];
                            inverse[r, s] += q2[r, t] / c[t] * q1[s, t];
                        }
                layers[k - 1] = SolverTestData.Product(gauge, layers[k - 1]);
                layers[k] = SolverTestData.Product(layers[k], inverse);
            }
            worstE = Math.Max(worstE, SolverTestData.MaxAbsDiff(SolverTestData.EndToEnd(layers), m) / SolverTestData.MaxAbs(m));
            double g = FlatnessTheory.G(layers);
            minExcess = Math.Min(minExcess, g / f - 1);
            Assert.True(g >= f * (1 - 1e-12), $"dims [{string.Join(",", dims)}]: gauge-transformed G = {g} < F = {f}");
        }
        output.WriteLine($"gauge orbit of the flattest: E preserved to {worstE:E2}, smallest G/F - 1 = {minExcess:E2}");
        Assert.True(worstE <= 1e-11);
    }

    [Fact]
    public void FlattestReproducesMAndAttainsFWithEqualTerms()
    {
        var data = new SolverTestData(4);
        var reproduce = new WorstError("flattest: max|E - M| / max|M|");
        var attain = new WorstError("flattest: G vs F");
        var equal = new WorstError("flattest: each term vs F/L");
        var cases = new (int Dl, int D0, int Rank, int[] Hidden)[]
        {
            (3, 5, 2, [2]), (3, 5, 3, [7]), (6, 4, 1, [1, 1]), (6, 4, 4, [4, 9]), (5, 5, 2, [3, 2, 6]),
            (2, 7, 2, [2, 2, 2, 2]), (8, 8, 1, [8, 8]), (4, 6, 3, [5, 3, 4, 8, 3]),
        };
        foreach (var (dl, d0, rank, hidden) in cases)
        {
            var m = data.RankR(dl, d0, rank);
            int[] dims = [d0, .. hidden, dl];
            int depth = dims.Length - 1;
            var layers = FlatnessTheory.FlattestFactorization(m, dims);
            for (int j = 0; j < depth; j++) Assert.Equal((dims[j + 1], dims[j]), (layers[j].Rows, layers[j].Cols));
            double er = SolverTestData.MaxAbsDiff(SolverTestData.EndToEnd(layers), m) / SolverTestData.MaxAbs(m);
            double f = FlatnessTheory.F(m, depth);
            var terms = GTermsByDefinition(layers);
            double eg = SolverTestData.Relative(terms.Sum(), f);
            double et = terms.Max(t => SolverTestData.Relative(t, f / depth));
            reproduce.Add(er);
            attain.Add(eg);
            equal.Add(et);
            string name = $"{dl}x{d0} rank {rank}, dims [{string.Join(",", dims)}]";
            Assert.True(er <= 1e-12, $"{name}: E differs from M by {er:E2}");
            Assert.True(eg <= 1e-10, $"{name}: G = {terms.Sum()} vs F = {f} ({eg:E2})");
            Assert.True(et <= 1e-10, $"{name}: terms [{string.Join(", ", terms)}] are not all F/L = {f / depth}");
        }
        reproduce.Report(output);
        attain.Report(output);
        equal.Report(output);
    }

    [Fact]
    public void FlattestHandlesZeroAndRejectsBadShapes()
    {
        var zero = new Matrix<double>(3, 4);
        var layers = FlatnessTheory.FlattestFactorization(zero, [4, 2, 5, 3]);
        Assert.All(layers, w => Assert.All(w.Data, x => Assert.Equal(0.0, x)));
        Assert.Equal(0.0, FlatnessTheory.G(layers));
        Assert.Equal(0.0, FlatnessTheory.F(zero, 3));
        Assert.Equal(0.0, FlatnessTheory.WeightDecayMinimum(zero, 3));

        var m = new SolverTestData(5).RankR(3, 4, 2);
        var narrow = Assert.Throws<ArgumentException>(() => FlatnessTheory.FlattestFactorization(m, [4, 3, 1, 3]));
        Assert.Contains("d_2 = 1", narrow.Message);
        Assert.Contains("rank M = 2", narrow.Message);
        Assert.Throws<ArgumentException>(() => FlatnessTheory.BalancedFactorization(m, [4, 1, 3]));
        var shape = Assert.Throws<ArgumentException>(() => FlatnessTheory.FlattestFactorization(m, [3, 5, 4]));
        Assert.Contains("d_0 = 3", shape.Message);
        Assert.Throws<ArgumentException>(() => FlatnessTheory.FlattestFactorization(m, [4]));
        Assert.Throws<ArgumentOutOfRangeException>(() => FlatnessTheory.F(m, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => FlatnessTheory.WeightDecayMinimum(m, 0));
        Assert.Throws<ArgumentException>(() => FlatnessTheory.G([m, m]));
    }

    [Fact]
    public void BalancedOverFlattestRatioForRankOne()
    {
        // Rank one, L >= 2: G_bal / F = (d_0 + d_L + L - 2) / (L (d_0 d_L)^{1/L}); 17/12 for L = 3, d = 8.
        // (At L = 1 the j = 1 and j = L terms coincide and both sides of G = F = d_0 d_L give ratio 1.)
        var data = new SolverTestData(6);
        var ratio = new WorstError("rank-one G_bal / F vs (d_0 + d_L + L - 2) / (L (d_0 d_L)^{1/L})");
        var m8 = data.RankR(8, 8, 1);
        double r8 = FlatnessTheory.G(FlatnessTheory.BalancedFactorization(m8, [8, 8, 8, 8])) / FlatnessTheory.F(m8, 3);
        ratio.Add(SolverTestData.Relative(r8, 17.0 / 12));
        Assert.True(SolverTestData.Relative(r8, 17.0 / 12) <= 1e-12, $"L = 3, d = 8: ratio {r8}, expected 17/12");
        output.WriteLine($"L = 3, d = 8: G_bal / F = {r8:R} (17/12 = {17.0 / 12:R})");
        foreach (int[] dims in new[] { new[] { 5, 4, 3 }, [5, 1, 3], [2, 6, 6, 9], [7, 2, 3, 1, 4], [3, 3, 5, 2, 4, 6] })
        {
            int depth = dims.Length - 1, d0 = dims[0], dl = dims[^1];
            var m = data.RankR(dl, d0, 1);
            var balanced = FlatnessTheory.BalancedFactorization(m, dims);
            double er = SolverTestData.MaxAbsDiff(SolverTestData.EndToEnd(balanced), m) / SolverTestData.MaxAbs(m);
            Assert.True(er <= 1e-12, $"balanced E differs from M by {er:E2}");
            double actual = FlatnessTheory.G(balanced) / FlatnessTheory.F(m, depth);
            double expected = (d0 + dl + depth - 2) / (depth * Math.Pow((double)d0 * dl, 1.0 / depth));
            double e = SolverTestData.Relative(actual, expected);
            ratio.Add(e);
            Assert.True(e <= 1e-12, $"dims [{string.Join(",", dims)}]: ratio {actual} vs {expected}");
        }
        ratio.Report(output);
    }

    [Fact]
    public void BalancedEqualsFlattestForDepthTwoSquareEnds()
    {
        var data = new SolverTestData(7);
        var worst = new WorstError("L = 2, d_0 = d_L: balanced layers vs flattest layers and G_bal vs F");
        foreach (var (d, hidden, rank) in new[] { (4, 4, 1), (5, 7, 3), (6, 6, 6) })
        {
            var m = data.RankR(d, d, rank);
            var balanced = FlatnessTheory.BalancedFactorization(m, [d, hidden, d]);
            var flattest = FlatnessTheory.FlattestFactorization(m, [d, hidden, d]);
            for (int j = 0; j < 2; j++) worst.Add(SolverTestData.MaxAbsDiff(balanced[j], flattest[j]) / SolverTestData.MaxAbs(flattest[j]));
            double e = SolverTestData.Relative(FlatnessTheory.G(balanced), FlatnessTheory.F(m, 2));
            worst.Add(e);
            Assert.True(worst.Value <= 1e-12, $"d = {d}, rank {rank}: {worst.Value:E2}");
        }
        // With d_0 != d_L at depth 2 the balanced factorisation is strictly less flat.
        var wide = data.RankR(3, 7, 2);
        Assert.True(FlatnessTheory.G(FlatnessTheory.BalancedFactorization(wide, [7, 2, 3])) > FlatnessTheory.F(wide, 2) * (1 + 1e-3));
        worst.Report(output);
    }

    [Fact]
    public void BalancedAttainsTheWeightDecayMinimum()
    {
        var data = new SolverTestData(8);
        var attain = new WorstError("balanced sum_j ||W_j||_F^2 vs L sum sigma^{2/L}");
        var balance = new WorstError("balanced: max|W_{j+1}^T W_{j+1} - W_j W_j^T| / max|W_j W_j^T|");
        double minExcess = double.PositiveInfinity;
        foreach (var (dl, d0, rank, hidden) in new (int, int, int, int[])[]
                 { (3, 5, 2, []), (3, 5, 2, [4]), (6, 4, 3, [3, 5]), (5, 5, 1, [2, 2, 2]), (4, 7, 4, [6, 4, 5, 4]) })
        {
            var m = data.RankR(dl, d0, rank);
            int[] dims = [d0, .. hidden, dl];
            int depth = dims.Length - 1;
            var layers = FlatnessTheory.BalancedFactorization(m, dims);
            double wd = FlatnessTheory.WeightDecayMinimum(m, depth);
            var sigma = Svd.SingularValues(m).Take(rank);
            double expected = depth * sigma.Sum(s => Math.Pow(s, 2.0 / depth));
            attain.Add(SolverTestData.Relative(wd, expected));
            attain.Add(SolverTestData.Relative(SumSquaredNorms(layers), wd));
            Assert.True(attain.Value <= 1e-12, $"dims [{string.Join(",", dims)}]: {attain.Value:E2}");
            for (int j = 0; j + 1 < depth; j++)
            {
                var lower = SolverTestData.Product(layers[j], layers[j].Transpose());
                var upper = SolverTestData.Product(layers[j + 1].Transpose(), layers[j + 1]);
                balance.Add(SolverTestData.MaxAbsDiff(lower, upper) / SolverTestData.MaxAbs(lower));
            }
            Assert.True(balance.Value <= 1e-12);
            // Any other factorisation costs at least as much weight decay: the gauge-transformed flattest one.
            double other = SumSquaredNorms(FlatnessTheory.FlattestFactorization(m, dims));
            if (depth >= 2 && (depth > 2 || d0 != dl)) minExcess = Math.Min(minExcess, other / wd - 1);
            Assert.True(other >= wd * (1 - 1e-12));
        }
        // L = 1 is ||M||_F^2 and L = 2 is 2 ||M||_*.
        var m2 = data.Gaussian(4, 3);
        attain.Add(SolverTestData.Relative(FlatnessTheory.WeightDecayMinimum(m2, 1), SolverTestData.SumSquares(m2)));
        attain.Add(SolverTestData.Relative(FlatnessTheory.WeightDecayMinimum(m2, 2), 2 * MatrixNorms.Nuclear(m2)));
        Assert.True(attain.Value <= 1e-12);
        attain.Report(output);
        balance.Report(output);
        output.WriteLine($"flattest layers' weight decay (L >= 2, not the L = 2 square case where they coincide) exceeds the minimum by at least {minExcess:E2} (relative)");
    }
}
