namespace Flatness.Solver.Baselines;

/// <summary>Dense Cholesky factorisation C = R^T R of a symmetric positive-definite matrix (row-major, in place).</summary>
internal sealed class Cholesky
{
    private readonly double[] _r; // upper triangle holds R
    private readonly int _n;

    private Cholesky(double[] r, int n) { _r = r; _n = n; }

    /// <summary>Factors <paramref name="c"/> (n x n, overwritten); null when a pivot falls below 1e-12 times the largest diagonal.</summary>
    public static Cholesky? TryFactor(double[] c, int n)
    {
        double maxDiagonal = 0;
        for (int i = 0; i < n; i++) maxDiagonal = Math.Max(maxDiagonal, c[i * n + i]);
        if (!(maxDiagonal > 0)) return null;
        for (int i = 0; i < n; i++)
        {
            double d = c[i * n + i];
            for (int k = 0; k < i; k++) d -= c[k * n + i] * c[k * n + i];
            if (!(d > 1e-12 * maxDiagonal)) return null;
            d = Math.Sqrt(d);
            c[i * n + i] = d;
            for (int j = i + 1; j < n; j++)
            {
                double s = c[i * n + j];
                for (int k = 0; k < i; k++) s -= c[k * n + i] * c[k * n + j];
                c[i * n + j] = s / d;
            }
        }
        return new Cholesky(c, n);
    }

    /// <summary>Solves C x = y in place.</summary>
    public void Solve(Span<double> y)
    {
        // R^T z = y (forward), then R x = z (backward).
        for (int i = 0; i < _n; i++)
        {
            double s = y[i];
            for (int k = 0; k < i; k++) s -= _r[k * _n + i] * y[k];
            y[i] = s / _r[i * _n + i];
        }
        for (int i = _n - 1; i >= 0; i--)
        {
            double s = y[i];
            for (int k = i + 1; k < _n; k++) s -= _r[i * _n + k] * y[k];
            y[i] = s / _r[i * _n + i];
        }
    }
}
