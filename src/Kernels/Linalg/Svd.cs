using Flatness.Kernels.Tensors;

namespace Flatness.Kernels.Linalg;

/// <summary>Thin SVD A = U diag(S) Vt with S descending; U is m x k, Vt is k x n, k = min(m, n).</summary>
public sealed record SvdResult(Matrix<double> U, double[] S, Matrix<double> Vt)
{
    /// <summary>The number of singular values above the round-off level (see <see cref="Svd.RoundOffLevel"/>).</summary>
    public int Rank
    {
        get
        {
            double floor = Svd.RoundOffLevel(U.Rows, Vt.Cols, S[0]);
            return S.Count(sigma => sigma > floor);
        }
    }
}

/// <summary>
/// Singular value decomposition by one-sided (Hestenes) Jacobi rotations in float64.
/// For a tall matrix (m &gt;= n) the n columns of A are rotated pairwise until every pair is orthogonal to
/// working precision, relative to the pair's norms; the column norms are then the singular values, the
/// normalised columns the left vectors and the accumulated rotations the right vectors. A wide matrix is
/// handled through its transpose. The relative orthogonality test gives singular vectors orthonormal to
/// ~1e-15 and a reconstruction accurate to ~1e-15 relative to ||A||, also for rank-deficient matrices;
/// left vectors of exactly zero singular values are completed to an orthonormal set.
/// </summary>
public static class Svd
{
    private const int MaxSweeps = 80;
    /// <summary>The spacing of float64 numbers at 1 (2^-52).</summary>
    public const double MachineEpsilon = 2.220446049250313e-16;

    /// <summary>
    /// max(m, n) eps sigma_max: singular values at or below this level are indistinguishable from zero in float64
    /// (the backward error of the decomposition is of that size).
    /// </summary>
    public static double RoundOffLevel(int rows, int cols, double sigmaMax) => Math.Max(rows, cols) * MachineEpsilon * sigmaMax;

    /// <summary>One-sided Jacobi SVD in float64, accurate to ~1e-13 relative.</summary>
    public static SvdResult Decompose(Matrix<double> a)
    {
        Validate(a);
        if (a.Rows >= a.Cols)
        {
            var (u, s, vt) = DecomposeTall(a, wantVectors: true);
            return new SvdResult(u!, s, vt!);
        }
        // A^T = U' S V'^T  =>  A = V' S U'^T.
        var (ut, st, vtt) = DecomposeTall(a.Transpose(), wantVectors: true);
        return new SvdResult(vtt!.Transpose(), st, ut!.Transpose());
    }

    /// <summary>Singular values only, descending.</summary>
    public static double[] SingularValues(Matrix<double> a)
    {
        Validate(a);
        var tall = a.Rows >= a.Cols ? a : a.Transpose();
        return DecomposeTall(tall, wantVectors: false).S;
    }

    private static void Validate(Matrix<double> a)
    {
        ArgumentNullException.ThrowIfNull(a);
        if (a.Rows == 0 || a.Cols == 0)
            throw new ArgumentException($"cannot decompose an empty ({a.Rows}x{a.Cols}) matrix", nameof(a));
        for (int i = 0; i < a.Data.Length; i++)
            if (!double.IsFinite(a.Data[i]))
                throw new ArgumentException(
                    $"matrix ({a.Rows}x{a.Cols}) has a non-finite entry {a.Data[i]} at ({i / a.Cols}, {i % a.Cols})", nameof(a));
    }

    /// <summary>
    /// m &gt;= n. Works on B = A^T (row i of B is column i of A, contiguous) and on V^T (row i is column i of V),
    /// so that every rotation touches two contiguous rows.
    /// </summary>
    private static (Matrix<double>? U, double[] S, Matrix<double>? Vt) DecomposeTall(Matrix<double> a, bool wantVectors)
    {
        int m = a.Rows, n = a.Cols;
        // Scale to max |a| = 1 so that squared norms can neither overflow nor underflow prematurely.
        double scale = 0;
        foreach (double x in a.Data) scale = Math.Max(scale, Math.Abs(x));
        if (scale == 0) return ZeroResult(m, n, wantVectors);

        var b = new double[n * m];
        for (int r = 0; r < m; r++)
            for (int c = 0; c < n; c++) b[c * m + r] = a[r, c] / scale;
        double[]? vt = null;
        if (wantVectors)
        {
            vt = new double[n * n];
            for (int i = 0; i < n; i++) vt[i * n + i] = 1;
        }

        double tol = m * MachineEpsilon;
        for (int sweep = 0; sweep < MaxSweeps; sweep++)
        {
            bool rotated = false;
            for (int p = 0; p < n - 1; p++)
            {
                var bp = b.AsSpan(p * m, m);
                for (int q = p + 1; q < n; q++)
                {
                    var bq = b.AsSpan(q * m, m);
                    double alpha = 0, beta = 0, gamma = 0;
                    for (int t = 0; t < m; t++)
                    {
                        alpha += bp[t] * bp[t];
                        beta += bq[t] * bq[t];
                        gamma += bp[t] * bq[t];
                    }
                    if (alpha == 0 || beta == 0 || Math.Abs(gamma) <= tol * Math.Sqrt(alpha) * Math.Sqrt(beta)) continue;
                    rotated = true;
                    double zeta = (beta - alpha) / (2 * gamma);
                    double tan = Math.Sign(zeta) == 0
                        ? 1.0
                        : Math.Sign(zeta) / (Math.Abs(zeta) + Math.Sqrt(1 + zeta * zeta));
                    double cos = 1 / Math.Sqrt(1 + tan * tan), sin = cos * tan;
                    Rotate(bp, bq, cos, sin);
                    if (vt is not null) Rotate(vt.AsSpan(p * n, n), vt.AsSpan(q * n, n), cos, sin);
                }
            }
            if (!rotated) break;
        }

        var norms = new double[n];
        for (int i = 0; i < n; i++)
        {
            var bi = b.AsSpan(i * m, m);
            norms[i] = Norm2(bi);
        }
        var order = Enumerable.Range(0, n).OrderByDescending(i => norms[i]).ThenBy(i => i).ToArray();
        var s = new double[n];
        for (int k = 0; k < n; k++) s[k] = norms[order[k]] * scale;
        if (!wantVectors) return (null, s, null);

        var u = new Matrix<double>(m, n);
        var vtOut = new Matrix<double>(n, n);
        var zero = new List<int>();
        for (int k = 0; k < n; k++)
        {
            int src = order[k];
            vt.AsSpan(src * n, n).CopyTo(vtOut.Row(k));
            double nk = norms[src];
            if (nk == 0) { zero.Add(k); continue; }
            var bi = b.AsSpan(src * m, m);
            for (int r = 0; r < m; r++) u[r, k] = bi[r] / nk;
        }
        foreach (int k in zero) CompleteColumn(u, k, zero);
        return (u, s, vtOut);
    }

    private static (Matrix<double>?, double[], Matrix<double>?) ZeroResult(int m, int n, bool wantVectors)
    {
        var s = new double[n];
        if (!wantVectors) return (null, s, null);
        var u = new Matrix<double>(m, n);
        for (int k = 0; k < n; k++) u[k, k] = 1;
        return (u, s, Matrix<double>.Identity(n));
    }

    private static void Rotate(Span<double> x, Span<double> y, double cos, double sin)
    {
        for (int t = 0; t < x.Length; t++)
        {
            double xt = x[t], yt = y[t];
            x[t] = cos * xt - sin * yt;
            y[t] = sin * xt + cos * yt;
        }
    }

    private static double Norm2(ReadOnlySpan<double> x)
    {
        double s = 0;
        foreach (double v in x) s += v * v;
        return Math.Sqrt(s);
    }

    /// <summary>
    /// Fills column k of U with a unit vector orthogonal to every filled column (those not in <paramref name="pending"/>
    /// or already completed): the standard basis vector with the largest residual after two Gram-Schmidt passes.
    /// </summary>
    private static void CompleteColumn(Matrix<double> u, int k, List<int> pending)
    {
        int m = u.Rows, n = u.Cols;
        var filled = new List<int>();
        for (int c = 0; c < n; c++)
            if (c != k && (!pending.Contains(c) || pending.IndexOf(c) < pending.IndexOf(k))) filled.Add(c);
        var best = new double[m];
        double bestNorm = -1;
        var v = new double[m];
        for (int e = 0; e < m; e++)
        {
            Array.Clear(v);
            v[e] = 1;
            for (int pass = 0; pass < 2; pass++)
                foreach (int c in filled)
                {
                    double dot = 0;
                    for (int r = 0; r < m; r++) dot += u[r, c] * v[r];
                    for (int r = 0; r < m; r++) v[r] -= dot * u[r, c];
                }
            double nv = Norm2(v);
            if (nv > bestNorm) { bestNorm = nv; v.CopyTo(best, 0); }
            if (nv > 0.7) break;
        }
        for (int r = 0; r < m; r++) u[r, k] = best[r] / bestNorm;
    }
}

/// <summary>Norms and ranks of a matrix from its singular values (Frobenius directly from the entries).</summary>
public static class MatrixNorms
{
    /// <summary>||A||_* = sum_i sigma_i.</summary>
    public static double Nuclear(Matrix<double> a) => Svd.SingularValues(a).Sum();

    /// <summary>||A||_F = sqrt(sum a_rc^2), computed with scaling so that it neither overflows nor underflows.</summary>
    public static double Frobenius(Matrix<double> a)
    {
        ArgumentNullException.ThrowIfNull(a);
        if (a.Length == 0)
            throw new ArgumentException($"the Frobenius norm of an empty ({a.Rows}x{a.Cols}) matrix is not defined here", nameof(a));
        double max = 0;
        foreach (double x in a.Data)
        {
            if (!double.IsFinite(x))
                throw new ArgumentException($"matrix ({a.Rows}x{a.Cols}) has a non-finite entry {x}", nameof(a));
            max = Math.Max(max, Math.Abs(x));
        }
        if (max == 0) return 0;
        double sum = 0;
        foreach (double x in a.Data) { double y = x / max; sum += y * y; }
        return max * Math.Sqrt(sum);
    }

    /// <summary>
    /// The singular values, descending, with those at the round-off level (sigma_i &lt;= max(m, n) eps sigma_max)
    /// set to zero: what quasi-norms (Schatten p &lt; 1) and sums of fractional powers should use.
    /// </summary>
    public static double[] SignificantSingularValues(Matrix<double> a)
    {
        var s = Svd.SingularValues(a);
        double floor = Svd.RoundOffLevel(a.Rows, a.Cols, s[0]);
        for (int i = 0; i < s.Length; i++) if (s[i] <= floor) s[i] = 0;
        return s;
    }

    /// <summary>||A||_2 = sigma_max.</summary>
    public static double Spectral(Matrix<double> a) => Svd.SingularValues(a)[0];

    /// <summary>(sum_i sigma_i^p)^(1/p), p &gt; 0 (quasi-norm for p &lt; 1).</summary>
    /// <remarks>
    /// Singular values at the round-off level, sigma_i &lt;= max(m, n) eps sigma_max, are counted as zero: they
    /// are indistinguishable from zero in float64, and for p &lt; 1 their p-th powers (eps^p) would otherwise
    /// swamp the answer (a rank-one 8x8 matrix would gain ~1e-10 relative at p = 2/3).
    /// </remarks>
    public static double Schatten(Matrix<double> a, double p)
    {
        if (!(p > 0))
            throw new ArgumentOutOfRangeException(nameof(p), $"the Schatten exponent p must be positive, got {p}");
        var s = SignificantSingularValues(a);
        if (double.IsPositiveInfinity(p)) return s[0];
        double max = s[0];
        if (max == 0) return 0;
        // Factor out sigma_max: (sum (sigma_i/sigma_max)^p)^(1/p) * sigma_max avoids overflow for large p.
        double sum = 0;
        foreach (double x in s) sum += Math.Pow(x / max, p);
        return max * Math.Pow(sum, 1 / p);
    }

    /// <summary>exp of the Shannon entropy of sigma_i / sum sigma (Roy and Vetterli); 0 for the zero matrix.</summary>
    public static double EffectiveRank(Matrix<double> a) => EffectiveRank(Svd.SingularValues(a));

    /// <summary><see cref="EffectiveRank(Matrix{double})"/> from the singular values.</summary>
    public static double EffectiveRank(IReadOnlyList<double> s)
    {
        double total = s.Sum();
        if (total == 0) return 0;
        double entropy = 0;
        foreach (double x in s)
        {
            if (x == 0) continue;
            double pi = x / total;
            entropy -= pi * Math.Log(pi);
        }
        return Math.Exp(entropy);
    }

    /// <summary>Number of sigma_i &gt; relativeTolerance * sigma_max.</summary>
    public static int NumericalRank(Matrix<double> a, double relativeTolerance = 1e-6)
    {
        if (!(relativeTolerance >= 0) || double.IsPositiveInfinity(relativeTolerance))
            throw new ArgumentOutOfRangeException(nameof(relativeTolerance), $"the relative tolerance must be finite and >= 0, got {relativeTolerance}");
        var s = Svd.SingularValues(a);
        double threshold = relativeTolerance * s[0];
        int rank = 0;
        foreach (double x in s) if (x > threshold) rank++;
        return rank;
    }
}
