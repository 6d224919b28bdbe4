using System.Numerics.Tensors;
using Flatness.Kernels.Linalg;

namespace Flatness.Solver.Curvature;

/// <summary>
/// The extreme eigenvalues found by Lanczos: <see cref="Top"/> the K largest (descending) with their residual norms
/// ||H y - theta y||, their error bounds min(r, r^2 / gap) and unit Ritz vectors, <see cref="LambdaMin"/> the smallest
/// (most negative away from minima).
/// </summary>
public sealed record LanczosResult(
    double[] Top,
    double[] TopResiduals,
    double[] TopErrorBounds,
    double[][] TopVectors,
    double LambdaMin,
    double LambdaMinResidual,
    bool Converged,
    int Iterations,
    long Matvecs)
{
    /// <summary>The largest eigenvalue (the sharpness).</summary>
    public double LambdaMax => Top[0];
}

/// <summary>
/// Lanczos with full reorthogonalisation on an exact symmetric operator (Golub and Van Loan, section 10.1): the
/// Krylov basis is kept and every new vector is orthogonalised against all of it twice, so the Ritz values are those
/// of an exact Rayleigh-Ritz projection and their residuals r_i = |beta_m s_{m,i}| are the true ones. A Ritz value is
/// within r_i of an eigenvalue, and within r_i^2 / gap_i when the rest of the spectrum is gap_i away (Kato-Temple; the
/// gap is taken from the neighbouring Ritz values): a value converges when min(r_i, r_i^2 / gap_i) is below the
/// tolerance times the largest |eigenvalue|.
/// </summary>
public static class Lanczos
{
    /// <summary>
    /// The <paramref name="count"/> largest eigenvalues and the smallest, each converged to an error bound
    /// &lt;= <paramref name="tolerance"/> times the largest |eigenvalue| found, or <see cref="LanczosResult.Converged"/>
    /// false after <paramref name="maxIterations"/> (default: the dimension, where Lanczos is exact).
    /// <paramref name="start"/> warm-starts the iteration (for example the last top eigenvector). With
    /// <paramref name="lowest"/> false only the top ones must converge (lambda_min is then reported as found).
    /// </summary>
    public static LanczosResult Extremes(HessianOperator h, int count, double tolerance = 1e-10, int? maxIterations = null,
        int seed = 0, ReadOnlySpan<double> start = default, bool lowest = true, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(h);
        int n = h.Dimension;
        if (count < 1 || count > n)
            throw new ArgumentOutOfRangeException(nameof(count), $"asked for {count} eigenvalues of a {n}-parameter Hessian (1..{n})");
        if (!(tolerance > 0)) throw new ArgumentOutOfRangeException(nameof(tolerance), $"tolerance must be positive, got {tolerance}");
        int limit = Math.Min(n, maxIterations ?? n);
        if (limit < count) throw new ArgumentOutOfRangeException(nameof(maxIterations), $"{limit} iterations cannot give {count} eigenvalues");
        if (start.Length != 0 && start.Length != n) throw new ArgumentException($"the start vector has {start.Length} entries, the Hessian {n}", nameof(start));

        long matvecsBefore = h.Matvecs;
        var rng = new Random(seed);
        var basis = new List<double[]>();
        var alpha = new List<double>();
        var beta = new List<double>(); // beta[j] couples basis j and j + 1
        var q = start.Length == n && TensorPrimitives.Norm(start) > 0 ? start.ToArray() : RandomVector(rng, n);
        Orthonormalise(q, basis);
        var w = new double[n];
        double lastBeta = 0;
        bool converged = false;
        int nextCheck = Math.Min(limit, Math.Max(count + 2, 8));
        while (true)
        {
            cancellation.ThrowIfCancellationRequested();
            double b = Step(h, q, w, basis, alpha, beta);
            double a = alpha[^1];
            int m = basis.Count;
            bool exhausted = m == n;
            double scale = Math.Max(Math.Abs(a), alpha.Max(Math.Abs));
            bool invariant = b <= 1e-14 * Math.Max(scale, double.Epsilon);
            if (m >= nextCheck || exhausted || m == limit || invariant)
            {
                var (values, last) = Tridiagonal.LastComponents(alpha.ToArray(), beta.ToArray());
                lastBeta = invariant ? 0 : b;
                converged = Converged(values, last, lastBeta, count, tolerance, lowest) || exhausted;
                if (converged || m == limit) break;
                nextCheck = Math.Min(limit, m + 1);
            }
            if (invariant)
            {
                // The Krylov space is invariant: continue in a fresh direction orthogonal to it (T decouples there).
                q = RandomVector(rng, n);
                Orthonormalise(q, basis);
                beta.Add(0);
            }
            else
            {
                q = new double[n];
                TensorPrimitives.Divide(w, b, q);
                beta.Add(b);
            }
        }

        var r = Tridiagonal.Decompose(alpha.ToArray(), beta.ToArray(), vectors: true);
        var lastRow = Enumerable.Range(0, r.Values.Length).Select(c => r.Vectors![r.Values.Length - 1, c]).ToArray();
        int size = r.Values.Length, k = Math.Min(count, size);
        var top = new double[k];
        var residuals = new double[k];
        var bounds = new double[k];
        var vectors = new double[k][];
        for (int i = 0; i < k; i++)
        {
            int c = size - 1 - i;
            top[i] = r.Values[c];
            residuals[i] = Math.Abs(lastBeta * lastRow[c]);
            bounds[i] = ErrorBound(r.Values, lastRow, lastBeta, c);
            vectors[i] = RitzVector(basis, r, c);
        }
        double minResidual = Math.Abs(lastBeta * r.Vectors![size - 1, 0]);
        return new LanczosResult(top, residuals, bounds, vectors, r.Values[0], minResidual, converged, basis.Count, h.Matvecs - matvecsBefore);
    }

    /// <summary>
    /// Gauss quadrature of the spectral measure of <paramref name="start"/> (normalised) in <paramref name="steps"/>
    /// Lanczos steps: nodes theta_i and weights tau_i^2 (the squared first components of T's eigenvectors), summing to 1.
    /// </summary>
    public static (double[] Nodes, double[] Weights) Quadrature(HessianOperator h, ReadOnlySpan<double> start, int steps,
        CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(h);
        int n = h.Dimension;
        if (start.Length != n) throw new ArgumentException($"the start vector has {start.Length} entries, the Hessian {n}", nameof(start));
        steps = Math.Clamp(steps, 1, n);
        var basis = new List<double[]>();
        var alpha = new List<double>();
        var beta = new List<double>();
        var q = start.ToArray();
        Orthonormalise(q, basis);
        var w = new double[n];
        for (int j = 0; j < steps; j++)
        {
            cancellation.ThrowIfCancellationRequested();
            double b = Step(h, q, w, basis, alpha, beta);
            if (j == steps - 1 || b <= 1e-14 * Math.Max(alpha.Max(Math.Abs), double.Epsilon)) break;
            q = new double[n];
            TensorPrimitives.Divide(w, b, q);
            beta.Add(b);
        }
        var t = Tridiagonal.Decompose(alpha.ToArray(), beta.ToArray(), vectors: true);
        var weights = new double[t.Values.Length];
        for (int i = 0; i < weights.Length; i++) weights[i] = t.Vectors![0, i] * t.Vectors[0, i];
        return (t.Values, weights);
    }

    private static bool Converged(double[] values, double[] last, double beta, int count, double tolerance, bool lowest)
    {
        int size = values.Length;
        if (size < count) return false;
        double scale = Math.Max(Math.Abs(values[0]), Math.Abs(values[^1]));
        double limit = tolerance * Math.Max(scale, double.Epsilon);
        if (lowest && ErrorBound(values, last, beta, 0) > limit) return false;
        for (int i = 0; i < count; i++)
            if (ErrorBound(values, last, beta, size - 1 - i) > limit) return false;
        return true;
    }

    /// <summary>min(r, r^2 / gap) for Ritz value <paramref name="c"/>, gap the distance to its neighbouring Ritz values.</summary>
    private static double ErrorBound(double[] values, double[] last, double beta, int c)
    {
        double r = Math.Abs(beta * last[c]);
        double gap = double.PositiveInfinity;
        if (c > 0) gap = Math.Min(gap, values[c] - values[c - 1]);
        if (c < values.Length - 1) gap = Math.Min(gap, values[c + 1] - values[c]);
        return gap > 0 ? Math.Min(r, r * r / gap) : r;
    }

    private static double[] RitzVector(List<double[]> basis, TridiagonalEigenResult ritz, int column)
    {
        var y = new double[basis[0].Length];
        for (int j = 0; j < basis.Count; j++) TensorPrimitives.MultiplyAdd(basis[j], ritz.Vectors![j, column], y, y);
        TensorPrimitives.Divide(y, TensorPrimitives.Norm<double>(y), y);
        return y;
    }

    internal static double[] RandomVector(Random rng, int n)
    {
        var v = new double[n];
        for (int i = 0; i < n; i++) v[i] = rng.Next(2) == 0 ? -1 : 1;
        return v;
    }

    /// <summary>
    /// One Lanczos step from the unit vector q: q joins the basis, w = H q minus the three-term recurrence, then fully
    /// reorthogonalised against the whole basis; alpha gains q^T H q. Returns ||w|| (the next beta).
    /// </summary>
    private static double Step(HessianOperator h, double[] q, double[] w, List<double[]> basis, List<double> alpha, List<double> beta)
    {
        basis.Add(q);
        h.Apply(q, w);
        double a = HessianOperator.Dot(q, w);
        alpha.Add(a);
        TensorPrimitives.MultiplyAdd(q, -a, w, w);
        if (beta.Count > 0) TensorPrimitives.MultiplyAdd(basis[^2], -beta[^1], w, w);
        return Reorthogonalise(w, basis);
    }

    /// <summary>
    /// Full reorthogonalisation of w against the basis: one classical Gram-Schmidt pass, and a second one when the
    /// first removed most of w (Kahan's "twice is enough" test, ||w|| below 0.7 of what it was). Returns ||w||.
    /// </summary>
    private static double Reorthogonalise(double[] w, List<double[]> basis)
    {
        double before = TensorPrimitives.Norm<double>(w);
        Orthogonalise(w, basis);
        double after = TensorPrimitives.Norm<double>(w);
        if (after < 0.7 * before)
        {
            Orthogonalise(w, basis);
            after = TensorPrimitives.Norm<double>(w);
        }
        return after;
    }

    /// <summary>w -= sum_j (q_j . w) q_j (one classical Gram-Schmidt pass).</summary>
    private static void Orthogonalise(double[] w, List<double[]> basis)
    {
        foreach (var b in basis) TensorPrimitives.MultiplyAdd(b, -TensorPrimitives.Dot<double>(b, w), w, w);
    }

    /// <summary>Makes <paramref name="q"/> a unit vector orthogonal to <paramref name="basis"/>.</summary>
    private static void Orthonormalise(double[] q, List<double[]> basis)
    {
        Orthogonalise(q, basis);
        Orthogonalise(q, basis);
        double norm = TensorPrimitives.Norm<double>(q);
        if (!(norm > 0)) throw new ArithmeticException("the Lanczos start vector lies in the span of the basis");
        TensorPrimitives.Divide(q, norm, q);
    }
}
