using Flatness.Kernels.Tensors;

namespace Flatness.Kernels.Linalg;

/// <summary>A = V diag(Values) V^T with Values ascending; column i of Vectors is the eigenvector of Values[i].</summary>
public sealed record SymmetricEigenResult(double[] Values, Matrix<double> Vectors);

/// <summary>
/// Eigen-decomposition of a real symmetric matrix by cyclic two-sided Jacobi rotations in float64
/// (Golub and Van Loan, section 8.5). Eigenvalues are accurate to ~1e-15 ||A||, eigenvectors orthonormal to ~1e-15.
/// </summary>
public static class SymmetricEigen
{
    private const int MaxSweeps = 80;

    /// <summary>
    /// Decomposes a square matrix whose asymmetry max |a_rc - a_cr| is at most 1e-10 max |a| (round-off from
    /// forming a symmetric product); the symmetric part (A + A^T)/2 is what is decomposed.
    /// </summary>
    public static SymmetricEigenResult Decompose(Matrix<double> a)
    {
        ArgumentNullException.ThrowIfNull(a);
        int n = a.Rows;
        if (a.Rows != a.Cols)
            throw new ArgumentException($"an eigen-decomposition needs a square matrix, got {a.Rows}x{a.Cols}", nameof(a));
        if (n == 0)
            throw new ArgumentException("cannot decompose an empty (0x0) matrix", nameof(a));
        double max = 0;
        foreach (double x in a.Data)
        {
            if (!double.IsFinite(x))
                throw new ArgumentException($"matrix ({n}x{n}) has a non-finite entry {x}", nameof(a));
            max = Math.Max(max, Math.Abs(x));
        }
        for (int r = 0; r < n; r++)
            for (int c = r + 1; c < n; c++)
                if (Math.Abs(a[r, c] - a[c, r]) > 1e-10 * max)
                    throw new ArgumentException(
                        $"matrix ({n}x{n}) is not symmetric: a[{r},{c}] = {a[r, c]} but a[{c},{r}] = {a[c, r]}", nameof(a));

        var v = Matrix<double>.Identity(n);
        if (max == 0) return new SymmetricEigenResult(new double[n], v);
        var w = new Matrix<double>(n, n);
        for (int r = 0; r < n; r++)
            for (int c = 0; c < n; c++) w[r, c] = 0.5 * (a[r, c] + a[c, r]) / max;

        for (int sweep = 0; sweep < MaxSweeps; sweep++)
        {
            bool rotated = false;
            for (int p = 0; p < n - 1; p++)
                for (int q = p + 1; q < n; q++)
                {
                    double apq = w[p, q];
                    if (apq == 0) continue;
                    double app = w[p, p], aqq = w[q, q];
                    // Negligible: below round-off relative to the two diagonal entries, or absolutely (the matrix
                    // is scaled to max |w| = 1, so dropping it moves every eigenvalue by far less than 1e-16 ||A||).
                    if (Math.Abs(apq) <= Svd.MachineEpsilon * Math.Sqrt(Math.Abs(app) * Math.Abs(aqq))
                        || Math.Abs(apq) <= 1e-3 * Svd.MachineEpsilon)
                    {
                        w[p, q] = w[q, p] = 0;
                        continue;
                    }
                    rotated = true;
                    double theta = (aqq - app) / (2 * apq);
                    double t = theta >= 0
                        ? 1 / (theta + Math.Sqrt(1 + theta * theta))
                        : -1 / (-theta + Math.Sqrt(1 + theta * theta));
                    double c = 1 / Math.Sqrt(1 + t * t), s = t * c;
                    // W <- J^T W J with J the rotation in the (p, q) plane.
                    for (int k = 0; k < n; k++)
                    {
                        double wkp = w[k, p], wkq = w[k, q];
                        w[k, p] = c * wkp - s * wkq;
                        w[k, q] = s * wkp + c * wkq;
                    }
                    for (int k = 0; k < n; k++)
                    {
                        double wpk = w[p, k], wqk = w[q, k];
                        w[p, k] = c * wpk - s * wqk;
                        w[q, k] = s * wpk + c * wqk;
                    }
                    w[p, q] = w[q, p] = 0;
                    for (int k = 0; k < n; k++)
                    {
                        double vkp = v[k, p], vkq = v[k, q];
                        v[k, p] = c * vkp - s * vkq;
                        v[k, q] = s * vkp + c * vkq;
                    }
                }
            if (!rotated) break;
        }

        var order = Enumerable.Range(0, n).OrderBy(i => w[i, i]).ThenBy(i => i).ToArray();
        var values = new double[n];
        var vectors = new Matrix<double>(n, n);
        for (int k = 0; k < n; k++)
        {
            int src = order[k];
            values[k] = w[src, src] * max;
            for (int r = 0; r < n; r++) vectors[r, k] = v[r, src];
        }
        return new SymmetricEigenResult(values, vectors);
    }
}
