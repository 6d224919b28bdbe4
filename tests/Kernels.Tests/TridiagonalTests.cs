using Flatness.Kernels.Linalg;
using Flatness.Kernels.Tensors;

namespace Flatness.Tests;

/// <summary>The tridiagonal QL and the Householder eigenvalues against the Jacobi decomposition and closed forms.</summary>
public sealed class TridiagonalTests
{
    private static Matrix<double> RandomSymmetric(int n, int seed)
    {
        var rng = new Random(seed);
        var a = new Matrix<double>(n, n);
        for (int r = 0; r < n; r++)
            for (int c = 0; c <= r; c++) a[r, c] = a[c, r] = 2 * rng.NextDouble() - 1;
        return a;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(7)]
    [InlineData(40)]
    [InlineData(129)]
    public void DenseEigenvaluesMatchJacobi(int n)
    {
        var a = RandomSymmetric(n, n);
        var want = SymmetricEigen.Decompose(a).Values;
        var got = Tridiagonal.SymmetricEigenvalues(a);
        for (int i = 0; i < n; i++) Assert.True(Math.Abs(got[i] - want[i]) < 1e-12 * n, $"eigenvalue {i}: {got[i]} vs {want[i]}");
    }

    [Fact]
    public void DegenerateAndStructuredMatrices()
    {
        // Diagonal with repeats, a zero matrix, and a rank-one matrix u u^T (eigenvalues 0 .. 0, |u|^2).
        var diagonal = new Matrix<double>(5, 5);
        double[] values = [3, -1, 3, 0, 2];
        for (int i = 0; i < 5; i++) diagonal[i, i] = values[i];
        Assert.Equal(values.OrderBy(v => v).ToArray(), Tridiagonal.SymmetricEigenvalues(diagonal));
        Assert.Equal(new double[4], Tridiagonal.SymmetricEigenvalues(new Matrix<double>(4, 4)));
        double[] u = [1, 2, -2, 0.5, 3];
        var rankOne = new Matrix<double>(5, 5);
        for (int r = 0; r < 5; r++) for (int c = 0; c < 5; c++) rankOne[r, c] = u[r] * u[c];
        var got = Tridiagonal.SymmetricEigenvalues(rankOne);
        Assert.Equal(u.Sum(x => x * x), got[^1], 1e-12);
        for (int i = 0; i < 4; i++) Assert.True(Math.Abs(got[i]) < 1e-13, $"{got[i]}");
    }

    [Fact]
    public void TridiagonalVectorsAreOrthonormalEigenvectors()
    {
        // The second-difference matrix tridiag(-1, 2, -1) has eigenvalues 2 - 2 cos(k pi / (m + 1)).
        int m = 30;
        var result = Tridiagonal.Decompose(Enumerable.Repeat(2.0, m).ToArray(), Enumerable.Repeat(-1.0, m - 1).ToArray(), vectors: true);
        for (int k = 1; k <= m; k++) Assert.Equal(2 - 2 * Math.Cos(k * Math.PI / (m + 1)), result.Values[k - 1], 1e-13);
        var v = result.Vectors!;
        for (int a = 0; a < m; a++)
            for (int b = 0; b < m; b++)
            {
                double dot = 0;
                for (int r = 0; r < m; r++) dot += v[r, a] * v[r, b];
                Assert.Equal(a == b ? 1.0 : 0.0, dot, 1e-13);
            }
        // T v = lambda v for every column.
        for (int c = 0; c < m; c++)
            for (int r = 0; r < m; r++)
            {
                double tv = 2 * v[r, c] - (r > 0 ? v[r - 1, c] : 0) - (r < m - 1 ? v[r + 1, c] : 0);
                Assert.Equal(result.Values[c] * v[r, c], tv, 1e-12);
            }
    }
}

public sealed class ChainSingularValueTests
{
    [Theory]
    [InlineData(new[] { 40, 3, 5, 30 })]
    [InlineData(new[] { 25, 4, 60 })]
    [InlineData(new[] { 12, 12, 12 })]
    [InlineData(new[] { 9, 7 })]
    public void MatchTheDenseSvdOfTheProduct(int[] dims)
    {
        var rng = new Random(dims.Sum());
        var layers = Enumerable.Range(1, dims.Length - 1)
            .Select(j => new Matrix<double>(dims[j], dims[j - 1], Enumerable.Range(0, dims[j] * dims[j - 1]).Select(_ => rng.NextDouble() - 0.5).ToArray()))
            .ToArray();
        var e = layers[0];
        for (int j = 1; j < layers.Length; j++) e = Flatness.Kernels.Cpu.Gemm.Multiply(layers[j], e);
        var want = Svd.SingularValues(e);
        var got = ChainSingularValues.Of(layers);
        Assert.Equal(want.Length, got.Length);
        for (int i = 0; i < want.Length; i++) Assert.True(Math.Abs(want[i] - got[i]) < 1e-12 * want[0], $"sigma_{i}: {got[i]} vs {want[i]}");
    }
}

public sealed class ChainSingularValueScaleTests
{
    [Fact]
    public void FactorsOfVeryDifferentScalesFallBackToTheDenseSvd()
    {
        var rng = new Random(5);
        Matrix<double> Random(int r, int c, double s) => new(r, c, Enumerable.Range(0, r * c).Select(_ => s * (rng.NextDouble() - 0.5)).ToArray());
        Matrix<double>[] layers = [Random(1, 8, 1e-150), Random(9, 1, 1e160)];
        var e = Flatness.Kernels.Cpu.Gemm.Multiply(layers[1], layers[0]);
        var want = Svd.SingularValues(e);
        var got = ChainSingularValues.Of(layers);
        Assert.True(double.IsFinite(got[0]));
        Assert.Equal(want[0], got[0], 1e-12 * want[0]);
    }
}
