using Flatness.Kernels.Linalg;
using Flatness.Kernels.Tensors;
using Xunit.Abstractions;

namespace Flatness.Tests;

public class SvdTests(ITestOutputHelper output)
{
    private const double Tol = 1e-13;

    /// <summary>max |U S Vt - A| / max(|A|, tiny), max |U^T U - I|, max |Vt Vt^T - I|; asserts shapes and ordering.</summary>
    private static (double Reconstruction, double OrthoU, double OrthoV) Check(Matrix<double> a, SvdResult svd)
    {
        int m = a.Rows, n = a.Cols, k = Math.Min(m, n);
        Assert.Equal((m, k), (svd.U.Rows, svd.U.Cols));
        Assert.Equal((k, n), (svd.Vt.Rows, svd.Vt.Cols));
        Assert.Equal(k, svd.S.Length);
        for (int i = 0; i < k; i++)
        {
            Assert.True(svd.S[i] >= 0, $"sigma_{i} = {svd.S[i]} is negative");
            if (i > 0) Assert.True(svd.S[i] <= svd.S[i - 1], $"sigma not descending at {i}");
        }
        var us = svd.U.Clone();
        for (int r = 0; r < m; r++)
            for (int c = 0; c < k; c++) us[r, c] *= svd.S[c];
        var back = LinalgTestData.Multiply(us, svd.Vt);
        double scale = Math.Max(LinalgTestData.MaxAbs(a), double.Epsilon);
        double rec = 0;
        for (int i = 0; i < a.Length; i++) rec = Math.Max(rec, Math.Abs(back.Data[i] - a.Data[i]) / scale);
        return (rec, OrthoError(LinalgTestData.Multiply(svd.U.Transpose(), svd.U)),
            OrthoError(LinalgTestData.Multiply(svd.Vt, svd.Vt.Transpose())));
    }

    private static double OrthoError(Matrix<double> gram)
    {
        double e = 0;
        for (int r = 0; r < gram.Rows; r++)
            for (int c = 0; c < gram.Cols; c++) e = Math.Max(e, Math.Abs(gram[r, c] - (r == c ? 1 : 0)));
        return e;
    }

    private void AssertGood(string name, Matrix<double> a, ref double worst)
    {
        var (rec, ou, ov) = Check(a, Svd.Decompose(a));
        double e = Math.Max(rec, Math.Max(ou, ov));
        worst = Math.Max(worst, e);
        Assert.True(rec <= Tol, $"{name}: reconstruction error {rec:E2}");
        Assert.True(ou <= Tol, $"{name}: U^T U - I = {ou:E2}");
        Assert.True(ov <= Tol, $"{name}: Vt Vt^T - I = {ov:E2}");
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(1, 6)]
    [InlineData(6, 1)]
    [InlineData(7, 4)]
    [InlineData(4, 7)]
    [InlineData(6, 6)]
    [InlineData(30, 12)]
    [InlineData(12, 30)]
    public void RandomMatricesReconstructWithOrthonormalFactors(int m, int n)
    {
        var data = new LinalgTestData(100 * m + n);
        double worst = 0;
        for (int trial = 0; trial < 5; trial++) AssertGood($"{m}x{n} #{trial}", data.Gaussian(m, n), ref worst);
        output.WriteLine($"SVD {m}x{n}: worst of reconstruction / orthogonality errors = {worst:E2}");
    }

    [Fact]
    public void HandComputedSingularValues()
    {
        // A^T A = [[25, 20], [20, 25]] has eigenvalues 45 and 5.
        var a = Matrix<double>.FromRows(new double[,] { { 3, 0 }, { 4, 5 } });
        var s = Svd.SingularValues(a);
        double e = Math.Max(Math.Abs(s[0] - Math.Sqrt(45)) / Math.Sqrt(45), Math.Abs(s[1] - Math.Sqrt(5)) / Math.Sqrt(5));
        output.WriteLine($"hand 2x2: relative error {e:E2}");
        Assert.True(e <= 1e-15, $"relative error {e:E2}");
        Assert.Equal(new[] { 7.0 }, Svd.SingularValues(Matrix<double>.FromRows(new double[,] { { -7 } })));
        var one = Svd.Decompose(Matrix<double>.FromRows(new double[,] { { -7 } }));
        Assert.Equal(-7.0, one.U[0, 0] * one.S[0] * one.Vt[0, 0]);
    }

    [Theory]
    [InlineData(9, 5)]
    [InlineData(5, 9)]
    [InlineData(8, 8)]
    public void KnownSingularValuesAreRecovered(int m, int n)
    {
        var data = new LinalgTestData(7 * m + n);
        double[] all = [5, 3, 3, 1, 1e-3, 1e-8, 0];
        double[] truth = all[..Math.Min(Math.Min(m, n), 7)];
        var a = data.WithSingularValues(m, n, truth);
        var s = Svd.SingularValues(a);
        var full = Svd.Decompose(a).S;
        double worst = 0;
        for (int i = 0; i < s.Length; i++)
        {
            double expected = i < truth.Length ? truth[i] : 0;
            worst = Math.Max(worst, Math.Abs(s[i] - expected) / truth[0]);
            Assert.Equal(s[i], full[i]);
        }
        output.WriteLine($"known sigma {m}x{n}: max |sigma_i - true_i| / sigma_max = {worst:E2}");
        Assert.True(worst <= Tol, $"singular value error {worst:E2}");
        double w2 = 0;
        AssertGood("known", a, ref w2);
    }

    [Theory]
    [InlineData(10, 6, 2)]
    [InlineData(6, 10, 3)]
    [InlineData(7, 7, 1)]
    public void RankDeficientMatrices(int m, int n, int rank)
    {
        var data = new LinalgTestData(31 * m + n + rank);
        var a = LinalgTestData.Multiply(data.Gaussian(m, rank), data.Gaussian(rank, n));
        double worst = 0;
        AssertGood($"rank {rank}", a, ref worst);
        var s = Svd.SingularValues(a);
        double tail = s.Skip(rank).DefaultIfEmpty(0).Max() / s[0];
        output.WriteLine($"rank-{rank} {m}x{n}: factor errors {worst:E2}, largest spurious sigma / sigma_max = {tail:E2}");
        Assert.True(tail <= 1e-14, $"spurious singular value {tail:E2}");
        Assert.True(s[rank - 1] > 1e-3 * s[0]);
        Assert.Equal(rank, MatrixNorms.NumericalRank(a));
        Assert.Equal(rank, Svd.Decompose(a).Rank);
        var significant = MatrixNorms.SignificantSingularValues(a);
        Assert.Equal(rank, significant.Count(x => x > 0));
    }

    [Fact]
    public void ZeroMatrixAndZeroColumns()
    {
        double worst = 0;
        var zero = new Matrix<double>(4, 3);
        var z = Svd.Decompose(zero);
        Assert.All(z.S, x => Assert.Equal(0.0, x));
        AssertGood("zero 4x3", zero, ref worst);
        AssertGood("zero 3x4", new Matrix<double>(3, 4), ref worst);

        var data = new LinalgTestData(5);
        var a = data.Gaussian(6, 4);
        for (int r = 0; r < 6; r++) { a[r, 1] = 0; a[r, 3] = 0; }
        AssertGood("two zero columns", a, ref worst);
        var s = Svd.SingularValues(a);
        Assert.Equal(0.0, s[2]);
        Assert.Equal(0.0, s[3]);
        var wide = a.Transpose();
        AssertGood("two zero rows", wide, ref worst);
        output.WriteLine($"zero / zero-column cases: worst error {worst:E2}");
    }

    [Fact]
    public void RepeatedSingularValuesAndExtremeScales()
    {
        var data = new LinalgTestData(11);
        double worst = 0;
        var q = data.Orthonormal(6, 6);
        AssertGood("orthogonal", q, ref worst);
        Assert.All(Svd.SingularValues(q), x => Assert.True(Math.Abs(x - 1) <= Tol));
        var a = data.Gaussian(5, 4);
        var s = Svd.SingularValues(a);
        foreach (double f in new[] { 1e200, 1e-200 })
        {
            var b = a.Clone();
            for (int i = 0; i < b.Length; i++) b.Data[i] *= f;
            var sb = Svd.SingularValues(b);
            for (int i = 0; i < s.Length; i++)
            {
                double e = Math.Abs(sb[i] / f - s[i]) / s[0];
                worst = Math.Max(worst, e);
                Assert.True(e <= Tol, $"scale {f}: sigma_{i} off by {e:E2}");
            }
            AssertGood($"scaled {f}", b, ref worst);
        }
        output.WriteLine($"repeated / extreme-scale cases: worst error {worst:E2}");
    }

    [Fact]
    public void InvalidInputIsRejected()
    {
        Assert.Throws<ArgumentException>(() => Svd.Decompose(new Matrix<double>(0, 3)));
        Assert.Throws<ArgumentException>(() => Svd.SingularValues(new Matrix<double>(3, 0)));
        var bad = new Matrix<double>(2, 2);
        bad[1, 0] = double.NaN;
        var ex = Assert.Throws<ArgumentException>(() => Svd.Decompose(bad));
        Assert.Contains("(1, 0)", ex.Message);
        Assert.Throws<ArgumentException>(() => MatrixNorms.Frobenius(new Matrix<double>(0, 0)));
        Assert.Throws<ArgumentOutOfRangeException>(() => MatrixNorms.Schatten(Matrix<double>.Identity(2), 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => MatrixNorms.NumericalRank(Matrix<double>.Identity(2), -1));
    }
}

public class MatrixNormsTests(ITestOutputHelper output)
{
    [Fact]
    public void NormsAgreeWithSingularValues()
    {
        var data = new LinalgTestData(3);
        double[] truth = [4, 2, 1, 0.5];
        var a = data.WithSingularValues(7, 5, truth);
        double worst = 0;
        void Near(string name, double expected, double actual)
        {
            double e = Math.Abs(actual - expected) / Math.Abs(expected);
            worst = Math.Max(worst, e);
            Assert.True(e <= 1e-13, $"{name}: expected {expected}, got {actual} (relative error {e:E2})");
        }
        Near("nuclear", 7.5, MatrixNorms.Nuclear(a));
        Near("Frobenius", Math.Sqrt(16 + 4 + 1 + 0.25), MatrixNorms.Frobenius(a));
        Near("spectral", 4, MatrixNorms.Spectral(a));
        Near("Schatten 1", 7.5, MatrixNorms.Schatten(a, 1));
        Near("Schatten 2", Math.Sqrt(21.25), MatrixNorms.Schatten(a, 2));
        Near("Schatten 1/2", Math.Pow(2 + Math.Sqrt(2) + 1 + Math.Sqrt(0.5), 2), MatrixNorms.Schatten(a, 0.5));
        Near("Schatten 3", Math.Cbrt(64 + 8 + 1 + 0.125), MatrixNorms.Schatten(a, 3));
        Near("Schatten inf", 4, MatrixNorms.Schatten(a, double.PositiveInfinity));
        double entropy = -truth.Sum(s => s / 7.5 * Math.Log(s / 7.5));
        Near("effective rank", Math.Exp(entropy), MatrixNorms.EffectiveRank(a));
        Near("effective rank of I_5", 5, MatrixNorms.EffectiveRank(Matrix<double>.Identity(5)));
        var rankOne = LinalgTestData.Multiply(data.Gaussian(6, 1), data.Gaussian(1, 4));
        Near("effective rank of a rank-one matrix", 1, MatrixNorms.EffectiveRank(rankOne));
        Near("Frobenius at 1e300", 1e300 * Math.Sqrt(2), MatrixNorms.Frobenius(Matrix<double>.FromRows(new double[,] { { 1e300, -1e300 } })));
        Assert.Equal(0.0, MatrixNorms.EffectiveRank(new Matrix<double>(3, 2)));
        Assert.Equal(0, MatrixNorms.NumericalRank(new Matrix<double>(3, 2)));
        Assert.Equal(0.0, MatrixNorms.Schatten(new Matrix<double>(3, 2), 0.5));
        Assert.Equal(4, MatrixNorms.NumericalRank(a));
        Assert.Equal(3, MatrixNorms.NumericalRank(a, 0.2));
        output.WriteLine($"norms: worst relative error {worst:E2}");
    }
}

public class SymmetricEigenTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(7)]
    [InlineData(20)]
    public void RandomSymmetricMatricesDecompose(int n)
    {
        var data = new LinalgTestData(n);
        var g = data.Gaussian(n, n);
        var a = new Matrix<double>(n, n);
        for (int r = 0; r < n; r++)
            for (int c = 0; c < n; c++) a[r, c] = g[r, c] + g[c, r];
        var eig = SymmetricEigen.Decompose(a);
        var v = eig.Vectors;
        double scale = LinalgTestData.MaxAbs(a), rec = 0, ortho = 0;
        for (int r = 0; r < n; r++)
            for (int c = 0; c < n; c++)
            {
                double sum = 0, dot = 0;
                for (int k = 0; k < n; k++) { sum += v[r, k] * eig.Values[k] * v[c, k]; dot += v[k, r] * v[k, c]; }
                rec = Math.Max(rec, Math.Abs(sum - a[r, c]) / scale);
                ortho = Math.Max(ortho, Math.Abs(dot - (r == c ? 1 : 0)));
            }
        for (int i = 1; i < n; i++) Assert.True(eig.Values[i] >= eig.Values[i - 1]);
        // |eigenvalues| are the singular values.
        var s = Svd.SingularValues(a);
        var abs = eig.Values.Select(Math.Abs).OrderByDescending(x => x).ToArray();
        double sv = 0;
        for (int i = 0; i < n; i++) sv = Math.Max(sv, Math.Abs(abs[i] - s[i]) / s[0]);
        output.WriteLine($"eigen n={n}: reconstruction {rec:E2}, orthogonality {ortho:E2}, |lambda| vs sigma {sv:E2}");
        Assert.True(rec <= 1e-13 && ortho <= 1e-13 && sv <= 1e-13, $"rec {rec:E2} ortho {ortho:E2} sv {sv:E2}");
    }

    [Fact]
    public void SingularPsdAndKnownSpectrum()
    {
        var data = new LinalgTestData(9);
        var q = data.Orthonormal(5, 5);
        double[] lambda = [-2, 0, 0, 1, 3];
        var a = new Matrix<double>(5, 5);
        for (int r = 0; r < 5; r++)
            for (int c = 0; c < 5; c++)
                for (int k = 0; k < 5; k++) a[r, c] += q[r, k] * lambda[k] * q[c, k];
        var eig = SymmetricEigen.Decompose(a);
        double worst = 0;
        for (int i = 0; i < 5; i++) worst = Math.Max(worst, Math.Abs(eig.Values[i] - lambda[i]) / 3);
        output.WriteLine($"known spectrum: max |lambda_i - true| / |lambda|_max = {worst:E2}");
        Assert.True(worst <= 1e-14, $"{worst:E2}");
        Assert.Equal(new double[3], SymmetricEigen.Decompose(new Matrix<double>(3, 3)).Values);
        Assert.Throws<ArgumentException>(() => SymmetricEigen.Decompose(new Matrix<double>(2, 3)));
        Assert.Throws<ArgumentException>(() => SymmetricEigen.Decompose(Matrix<double>.FromRows(new double[,] { { 1, 2 }, { 0, 1 } })));
    }
}
