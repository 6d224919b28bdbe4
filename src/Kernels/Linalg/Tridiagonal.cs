using System.Numerics.Tensors;
using Flatness.Kernels.Tensors;

namespace Flatness.Kernels.Linalg;

/// <summary>Eigenvalues (and vectors) of a symmetric tridiagonal matrix; values ascending, vector i in column i.</summary>
public sealed record TridiagonalEigenResult(double[] Values, Matrix<double>? Vectors);

/// <summary>
/// Symmetric eigenvalue problems of the sizes curvature work meets: the tridiagonal matrices of Lanczos (implicit QL
/// with Wilkinson shifts, eigenvectors on request) and the eigenvalues of a dense symmetric matrix of up to a few
/// thousand rows (Householder reduction to tridiagonal form, O(4/3 n^3) in vectorised row operations, then QL).
/// Golub and Van Loan, sections 8.3 and 8.4.
/// </summary>
public static class Tridiagonal
{
    private const int MaxIterationsPerValue = 60;

    /// <summary>
    /// Eigen-decomposition of the tridiagonal matrix with diagonal <paramref name="diagonal"/> (length m) and
    /// off-diagonal <paramref name="offDiagonal"/> (length m - 1, entry i is T[i, i+1]).
    /// </summary>
    public static TridiagonalEigenResult Decompose(ReadOnlySpan<double> diagonal, ReadOnlySpan<double> offDiagonal, bool vectors)
    {
        int m = diagonal.Length;
        if (m == 0) throw new ArgumentException("an eigen-decomposition needs at least one row", nameof(diagonal));
        if (offDiagonal.Length != m - 1)
            throw new ArgumentException($"a {m}x{m} tridiagonal matrix has {m - 1} off-diagonal entries, got {offDiagonal.Length}", nameof(offDiagonal));
        foreach (double x in diagonal) if (!double.IsFinite(x)) throw new ArgumentException($"non-finite diagonal entry {x}", nameof(diagonal));
        foreach (double x in offDiagonal) if (!double.IsFinite(x)) throw new ArgumentException($"non-finite off-diagonal entry {x}", nameof(offDiagonal));
        var d = diagonal.ToArray();
        var e = new double[m];
        offDiagonal.CopyTo(e);
        var z = vectors ? Matrix<double>.Identity(m) : null;
        QL(d, e, z);
        return Sorted(d, z);
    }

    /// <summary>
    /// The eigenvalues (ascending) and the last component of each unit eigenvector, in O(m^2): what the residuals of
    /// Lanczos need at every step, without the O(m^3) vectors.
    /// </summary>
    public static (double[] Values, double[] LastComponents) LastComponents(ReadOnlySpan<double> diagonal, ReadOnlySpan<double> offDiagonal)
    {
        int m = diagonal.Length;
        if (m == 0) throw new ArgumentException("an eigen-decomposition needs at least one row", nameof(diagonal));
        if (offDiagonal.Length != m - 1)
            throw new ArgumentException($"a {m}x{m} tridiagonal matrix has {m - 1} off-diagonal entries, got {offDiagonal.Length}", nameof(offDiagonal));
        var d = diagonal.ToArray();
        var e = new double[m];
        offDiagonal.CopyTo(e);
        var row = new Matrix<double>(1, m);
        row[0, m - 1] = 1; // the last row of the identity, rotated like the eigenvector matrix
        QL(d, e, row);
        var order = Enumerable.Range(0, m).OrderBy(i => d[i]).ToArray();
        return (order.Select(i => d[i]).ToArray(), order.Select(i => row[0, i]).ToArray());
    }

    /// <summary>All eigenvalues of a dense symmetric matrix (the symmetric part (A + A^T)/2 is used), ascending.</summary>
    public static double[] SymmetricEigenvalues(Matrix<double> a)
    {
        ArgumentNullException.ThrowIfNull(a);
        int n = a.Rows;
        if (a.Rows != a.Cols) throw new ArgumentException($"eigenvalues need a square matrix, got {a.Rows}x{a.Cols}", nameof(a));
        if (n == 0) throw new ArgumentException("cannot decompose an empty (0x0) matrix", nameof(a));
        var w = new Matrix<double>(n, n);
        for (int r = 0; r < n; r++)
            for (int c = 0; c < n; c++)
            {
                double x = 0.5 * (a[r, c] + a[c, r]);
                if (!double.IsFinite(x)) throw new ArgumentException($"matrix ({n}x{n}) has a non-finite entry at ({r}, {c})", nameof(a));
                w[r, c] = x;
            }
        var d = new double[n];
        var e = new double[n]; // e[i] = T[i, i+1]
        var u = new double[n];
        var p = new double[n];
        for (int i = n - 1; i >= 1; i--)
        {
            // Reflect row i's entries 0..i-1 onto a multiple of e_{i-1}: A_ii is untouched, the leading block transforms.
            d[i] = w[i, i];
            var x = w.Row(i)[..i];
            double norm = Math.Sqrt(TensorPrimitives.SumOfSquares<double>(x));
            double last = x[i - 1];
            double alpha = last >= 0 ? -norm : norm;
            if (norm == 0 || norm - Math.Abs(last) <= 1e-300)
            {
                e[i - 1] = last;
                continue;
            }
            x.CopyTo(u);
            u[i - 1] -= alpha;
            double h = 0.5 * TensorPrimitives.SumOfSquares<double>(u.AsSpan(0, i)); // P = I - u u^T / h
            e[i - 1] = alpha;
            // p = A u / h, K = u^T p / (2h), q = p - K u, A <- A - q u^T - u q^T on the leading i x i block.
            var uu = u.AsSpan(0, i);
            for (int r = 0; r < i; r++) p[r] = TensorPrimitives.Dot<double>(w.Row(r)[..i], uu) / h;
            double k = TensorPrimitives.Dot<double>(uu, p.AsSpan(0, i)) / (2 * h);
            var q = p.AsSpan(0, i);
            TensorPrimitives.MultiplyAdd(uu, -k, q, q);
            for (int r = 0; r < i; r++)
            {
                var row = w.Row(r)[..i];
                TensorPrimitives.MultiplyAdd(uu, -q[r], row, row);
                TensorPrimitives.MultiplyAdd(q, -uu[r], row, row);
            }
        }
        d[0] = w[0, 0];
        QL(d, e, null);
        Array.Sort(d);
        return d;
    }

    /// <summary>
    /// Implicit QL with shifts on the tridiagonal (d, e), e[i] = T[i, i+1] (e[m-1] unused): d becomes the eigenvalues,
    /// z (when given: rows of the identity, all of them for the eigenvectors) accumulates the rotations, so that its
    /// columns hold those rows of the eigenvectors.
    /// </summary>
    private static void QL(double[] d, double[] e, Matrix<double>? z)
    {
        int m = d.Length;
        if (m > 0) e[m - 1] = 0;
        for (int l = 0; l < m; l++)
        {
            int iterations = 0;
            while (true)
            {
                int s;
                for (s = l; s < m - 1; s++)
                {
                    double dd = Math.Abs(d[s]) + Math.Abs(d[s + 1]);
                    if (Math.Abs(e[s]) <= 1e-16 * dd || Math.Abs(e[s]) < double.Epsilon * 16) break;
                }
                if (s == l) break;
                if (++iterations > MaxIterationsPerValue)
                    throw new ArithmeticException($"tridiagonal QL did not converge for eigenvalue {l} of {m}");
                double g = (d[l + 1] - d[l]) / (2 * e[l]);
                double r = Hypot(g, 1);
                g = d[s] - d[l] + e[l] / (g + (g >= 0 ? Math.Abs(r) : -Math.Abs(r)));
                double sine = 1, cosine = 1, pShift = 0;
                int i;
                bool deflated = false;
                for (i = s - 1; i >= l; i--)
                {
                    double f = sine * e[i], b = cosine * e[i];
                    e[i + 1] = r = Hypot(f, g);
                    if (r == 0)
                    {
                        d[i + 1] -= pShift;
                        e[s] = 0;
                        deflated = true;
                        break;
                    }
                    sine = f / r;
                    cosine = g / r;
                    g = d[i + 1] - pShift;
                    r = (d[i] - g) * sine + 2 * cosine * b;
                    pShift = sine * r;
                    d[i + 1] = g + pShift;
                    g = cosine * r - b;
                    if (z is not null)
                        for (int k = 0; k < z.Rows; k++)
                        {
                            double zk1 = z[k, i + 1];
                            z[k, i + 1] = sine * z[k, i] + cosine * zk1;
                            z[k, i] = cosine * z[k, i] - sine * zk1;
                        }
                }
                if (deflated) continue;
                d[l] -= pShift;
                e[l] = g;
                e[s] = 0;
            }
        }
    }

    private static double Hypot(double a, double b)
    {
        double x = Math.Abs(a), y = Math.Abs(b);
        if (x < y) (x, y) = (y, x);
        if (x == 0) return 0;
        double t = y / x;
        return x * Math.Sqrt(1 + t * t);
    }

    private static TridiagonalEigenResult Sorted(double[] d, Matrix<double>? z)
    {
        int m = d.Length;
        var order = Enumerable.Range(0, m).OrderBy(i => d[i]).ToArray();
        var values = order.Select(i => d[i]).ToArray();
        if (z is null) return new TridiagonalEigenResult(values, null);
        var vectors = new Matrix<double>(m, m);
        for (int c = 0; c < m; c++)
            for (int r = 0; r < m; r++) vectors[r, c] = z[r, order[c]];
        return new TridiagonalEigenResult(values, vectors);
    }
}
