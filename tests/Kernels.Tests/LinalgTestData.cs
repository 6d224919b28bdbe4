using Flatness.Kernels.Tensors;

namespace Flatness.Tests;

/// <summary>Seeded test data: standard normals by Box-Muller, Gaussian matrices, orthonormal columns by Gram-Schmidt.</summary>
internal sealed class LinalgTestData(int seed)
{
    private readonly Random _random = new(seed);
    private double? _spare;

    public double Normal()
    {
        if (_spare is double s) { _spare = null; return s; }
        double u1 = 1.0 - _random.NextDouble(), u2 = _random.NextDouble();
        double radius = Math.Sqrt(-2 * Math.Log(u1));
        _spare = radius * Math.Sin(2 * Math.PI * u2);
        return radius * Math.Cos(2 * Math.PI * u2);
    }

    public Matrix<double> Gaussian(int rows, int cols)
    {
        var m = new Matrix<double>(rows, cols);
        for (int i = 0; i < m.Length; i++) m.Data[i] = Normal();
        return m;
    }

    /// <summary>n x k with orthonormal columns: modified Gram-Schmidt, applied twice, on a Gaussian matrix.</summary>
    public Matrix<double> Orthonormal(int n, int k)
    {
        var q = Gaussian(n, k);
        for (int c = 0; c < k; c++)
            for (int pass = 0; pass < 2; pass++)
            {
                for (int prev = 0; prev < c; prev++)
                {
                    double dot = 0;
                    for (int r = 0; r < n; r++) dot += q[r, prev] * q[r, c];
                    for (int r = 0; r < n; r++) q[r, c] -= dot * q[r, prev];
                }
                double norm = 0;
                for (int r = 0; r < n; r++) norm += q[r, c] * q[r, c];
                norm = Math.Sqrt(norm);
                for (int r = 0; r < n; r++) q[r, c] /= norm;
            }
        return q;
    }

    /// <summary>U diag(s) V^T with random orthonormal U (m x k) and V (n x k), k = s.Length.</summary>
    public Matrix<double> WithSingularValues(int m, int n, double[] s)
    {
        var u = Orthonormal(m, s.Length);
        var v = Orthonormal(n, s.Length);
        var a = new Matrix<double>(m, n);
        for (int r = 0; r < m; r++)
            for (int c = 0; c < n; c++)
            {
                double sum = 0;
                for (int k = 0; k < s.Length; k++) sum += u[r, k] * s[k] * v[c, k];
                a[r, c] = sum;
            }
        return a;
    }

    /// <summary>Plain triple-loop product, the test's own oracle.</summary>
    public static Matrix<double> Multiply(Matrix<double> a, Matrix<double> b)
    {
        var c = new Matrix<double>(a.Rows, b.Cols);
        for (int i = 0; i < a.Rows; i++)
            for (int j = 0; j < b.Cols; j++)
            {
                double sum = 0;
                for (int p = 0; p < a.Cols; p++) sum += a[i, p] * b[p, j];
                c[i, j] = sum;
            }
        return c;
    }

    public static double MaxAbs(Matrix<double> a) => a.Data.Length == 0 ? 0 : a.Data.Max(Math.Abs);
}
