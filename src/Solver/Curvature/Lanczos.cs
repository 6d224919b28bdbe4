using System.Numerics.Tensors;
using Flatness.Kernels.Linalg;
using Flatness.Kernels.Tensors;

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

    /// <summary>The unit Ritz vector of <see cref="LambdaMin"/>.</summary>
    public double[] LambdaMinVector { get; init; } = [];

    /// <summary>Every Ritz value of the first Krylov space, ascending (the neighbours that the error bounds' gaps come from).</summary>
    public double[] RitzValues { get; init; } = [];

    /// <summary>
    /// Products with the draft operator of <see cref="Lanczos.Extremes"/> (a lower-precision one), besides
    /// <see cref="Matvecs"/> exact ones; 0 without a draft.
    /// </summary>
    public long DraftMatvecs { get; init; }
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
    /// <summary>Iterations (and stored basis vectors) without an explicit limit: bounds the memory to 400 parameter vectors.</summary>
    public const int DefaultMaxIterations = 400;

    /// <summary>
    /// The <paramref name="count"/> largest eigenvalues and the smallest, each converged to an error bound
    /// &lt;= <paramref name="tolerance"/> times the largest |eigenvalue| found, or <see cref="LanczosResult.Converged"/>
    /// false after <paramref name="maxIterations"/> (default <see cref="DefaultMaxIterations"/>, at most the dimension, where
    /// Lanczos is exact). After an invariant subspace it restarts in its orthogonal complement, so each restart can find
    /// one more copy of a repeated eigenvalue; multiplicities beyond what the restarts reach are not detected.
    /// <paramref name="start"/> warm-starts the iteration (for example the last top eigenvector). With
    /// <paramref name="lowest"/> false only the top ones must converge (lambda_min is then reported as found).
    /// <para>
    /// <paramref name="draft"/>, the same Hessian computed in lower precision (a float32 evaluator: half the bytes of K
    /// per product on the Gram path), does the Krylov iteration; its Ritz vectors are then certified with one block of
    /// exact products: a Rayleigh-Ritz projection on their span gives the values, their true residuals and error bounds,
    /// with the gaps to the draft's other Ritz values. Where a bound misses the tolerance, exact Lanczos continues from
    /// the draft's top vector. Every value returned is of <paramref name="h"/> (<see cref="LanczosResult.LambdaMin"/>
    /// with <paramref name="lowest"/> false is the draft's).
    /// </para>
    /// </summary>
    public static LanczosResult Extremes(HessianOperator h, int count, double tolerance = 1e-10, int? maxIterations = null,
        int seed = 0, ReadOnlySpan<double> start = default, bool lowest = true, CancellationToken cancellation = default,
        HessianOperator? draft = null)
    {
        ArgumentNullException.ThrowIfNull(h);
        int n = h.Dimension;
        if (draft is not null)
        {
            if (draft.Dimension != n)
                throw new ArgumentException($"the draft operator has {draft.Dimension} parameters, the Hessian {n}", nameof(draft));
            long draftBefore = draft.Matvecs, exactBefore = h.Matvecs;
            var rough = Extremes(draft, count, Math.Max(tolerance / 4, DraftTolerance), maxIterations, seed, start, lowest, cancellation);
            long draftProducts = draft.Matvecs - draftBefore;
            var certified = Certify(h, rough, count, tolerance, lowest, cancellation);
            if (certified is not null) return certified with { Matvecs = h.Matvecs - exactBefore, DraftMatvecs = draftProducts };
            var exact = Extremes(h, count, tolerance, maxIterations, seed, rough.TopVectors[0], lowest, cancellation);
            return exact with { Matvecs = h.Matvecs - exactBefore, DraftMatvecs = draftProducts, Iterations = rough.Iterations + exact.Iterations };
        }
        if (count < 1 || count > n)
            throw new ArgumentOutOfRangeException(nameof(count), $"asked for {count} eigenvalues of a {n}-parameter Hessian (1..{n})");
        if (!(tolerance > 0)) throw new ArgumentOutOfRangeException(nameof(tolerance), $"tolerance must be positive, got {tolerance}");
        int limit = Math.Min(n, maxIterations ?? DefaultMaxIterations);
        if (limit < count) throw new ArgumentOutOfRangeException(nameof(maxIterations), $"{limit} iterations cannot give {count} eigenvalues");
        if (start.Length != 0 && start.Length != n) throw new ArgumentException($"the start vector has {start.Length} entries, the Hessian {n}", nameof(start));

        long matvecsBefore = h.Matvecs;
        var rng = new Random(seed);
        var result = Run(h, count, tolerance, limit, rng, start, lowest, [], cancellation);
        if (count == 1) return result with { Matvecs = h.Matvecs - matvecsBefore };

        // Repeated eigenvalues: a Krylov space from one vector holds one copy of each. Look for more in the complement of
        // the top vectors found (locked out of the iteration) until the complement's largest value falls below the k-th.
        var top = result.Top.Select((v, i) => (Value: v, Residual: result.TopResiduals[i], Bound: result.TopErrorBounds[i], Vector: result.TopVectors[i])).ToList();
        var locked = result.TopVectors.ToList();
        bool converged = result.Converged;
        int iterations = result.Iterations;
        double scale = Math.Max(Math.Abs(result.LambdaMax), Math.Abs(result.LambdaMin));
        while (locked.Count + 1 < n)
        {
            var extra = Run(h, 1, tolerance, Math.Min(limit, n - locked.Count), rng, default, false, locked, cancellation);
            iterations += extra.Iterations;
            converged &= extra.Converged;
            if (extra.Top[0] <= top[^1].Value + tolerance * scale) break;
            top.Add((extra.Top[0], extra.TopResiduals[0], extra.TopErrorBounds[0], extra.TopVectors[0]));
            top = top.OrderByDescending(t => t.Value).Take(count).ToList();
            locked.Add(extra.TopVectors[0]);
        }
        return new LanczosResult(top.Select(t => t.Value).ToArray(), top.Select(t => t.Residual).ToArray(), top.Select(t => t.Bound).ToArray(),
            top.Select(t => t.Vector).ToArray(), result.LambdaMin, result.LambdaMinResidual, converged, iterations, h.Matvecs - matvecsBefore)
        {
            LambdaMinVector = result.LambdaMinVector,
            RitzValues = result.RitzValues,
        };
    }

    /// <summary>
    /// The smallest error bound, relative to the largest |eigenvalue|, that the draft iteration aims at: float32
    /// products carry errors of about 1e-7 of the largest eigenvalue, so their Ritz residuals stall near that, and
    /// r^2 / gap near 1e-12 or below for any gap (measured on the benchmark's problem: bench/results/hessian.md).
    /// </summary>
    private const double DraftTolerance = 1e-11;

    /// <summary>
    /// Rayleigh-Ritz with exact products on the span of the draft's top Ritz vectors (and its lowest when
    /// <paramref name="lowest"/>): the certified values with their true residuals and error bounds min(r, r^2 / gap),
    /// the gaps to each other and to the draft's remaining Ritz values; null when a bound misses the tolerance.
    /// </summary>
    private static LanczosResult? Certify(HessianOperator h, LanczosResult rough, int count, double tolerance, bool lowest,
        CancellationToken cancellation)
    {
        int n = h.Dimension;
        var basis = new List<double[]>();
        foreach (var v in lowest ? rough.TopVectors.Append(rough.LambdaMinVector) : rough.TopVectors)
        {
            var q = v.ToArray();
            if (!Orthonormalise(q, basis, [])) return null;
            basis.Add(q);
        }
        int m = basis.Count;
        var products = basis.Select(_ => new double[n]).ToArray();
        h.Apply(basis, products, cancellation);
        var projected = new Matrix<double>(m, m);
        for (int i = 0; i < m; i++)
            for (int j = 0; j <= i; j++)
            {
                double g = 0.5 * (HessianOperator.Dot(basis[i], products[j]) + HessianOperator.Dot(basis[j], products[i]));
                if (!double.IsFinite(g)) throw new NumericalOverflowException("the Hessian-vector product overflowed float64 at these layers");
                projected[i, j] = g;
                projected[j, i] = g;
            }
        var ritz = SymmetricEigen.Decompose(projected);

        // The draft's Ritz values less the one nearest each certified value: what lies outside the span.
        var outside = rough.RitzValues.ToList();
        foreach (double value in ritz.Values)
            if (outside.Count > 0) outside.RemoveAt(outside.Select((x, i) => (Distance: Math.Abs(x - value), i)).Min().i);
        double scale = Math.Max(Math.Abs(ritz.Values[^1]), Math.Abs(lowest ? ritz.Values[0] : rough.LambdaMin));
        double limit = tolerance * Math.Max(scale, double.Epsilon);

        var vectors = new double[m][];
        var residuals = new double[m];
        var bounds = new double[m];
        var residual = new double[n];
        for (int c = 0; c < m; c++)
        {
            var y = new double[n];
            residual.AsSpan().Clear();
            for (int j = 0; j < m; j++)
            {
                TensorPrimitives.MultiplyAdd(basis[j], ritz.Vectors[j, c], y, y);
                TensorPrimitives.MultiplyAdd(products[j], ritz.Vectors[j, c], residual, residual);
            }
            TensorPrimitives.MultiplyAdd(y, -ritz.Values[c], residual, residual);
            double gap = outside.Concat(ritz.Values.Where((_, j) => j != c)).Select(x => Math.Abs(x - ritz.Values[c])).DefaultIfEmpty(double.PositiveInfinity).Min();
            double r = TensorPrimitives.Norm<double>(residual);
            vectors[c] = y;
            residuals[c] = r;
            bounds[c] = gap > 0 ? Math.Min(r, r * r / gap) : r;
            if (bounds[c] > limit) return null;
        }
        // Descending for the top ones; with lowest the smallest value is lambda_min.
        var order = Enumerable.Range(0, m).Reverse().Take(count).ToArray();
        return new LanczosResult(order.Select(c => ritz.Values[c]).ToArray(), order.Select(c => residuals[c]).ToArray(),
            order.Select(c => bounds[c]).ToArray(), order.Select(c => vectors[c]).ToArray(),
            lowest ? ritz.Values[0] : rough.LambdaMin, lowest ? residuals[0] : rough.LambdaMinResidual, true, rough.Iterations, 0)
        {
            LambdaMinVector = lowest ? vectors[0] : rough.LambdaMinVector,
            RitzValues = rough.RitzValues,
        };
    }

    /// <summary>One Lanczos run, its basis kept orthogonal to <paramref name="locked"/> (converged eigenvectors).</summary>
    private static LanczosResult Run(HessianOperator h, int count, double tolerance, int limit, Random rng, ReadOnlySpan<double> start,
        bool lowest, IReadOnlyList<double[]> locked, CancellationToken cancellation)
    {
        int n = h.Dimension;
        var basis = new List<double[]>();
        var alpha = new List<double>();
        var beta = new List<double>(); // beta[j] couples basis j and j + 1
        var q = start.Length == n && TensorPrimitives.Norm(start) > 0 ? start.ToArray() : RandomVector(rng, n);
        if (!Orthonormalise(q, basis, locked)) q = FreshDirection(rng, n, basis, locked);
        var w = new double[n];
        double lastBeta = 0;
        bool converged = false;
        int nextCheck = Math.Min(limit, Math.Max(count + 2, 8));
        int restarts = 0, blockStart = 0; // the Krylov blocks so far, and where the current one starts
        while (true)
        {
            cancellation.ThrowIfCancellationRequested();
            double b = Step(h, q, w, basis, alpha, beta, locked);
            double a = alpha[^1];
            int m = basis.Count;
            bool exhausted = m + locked.Count >= n;
            double scale = Math.Max(Math.Abs(a), alpha.Max(Math.Abs));
            bool invariant = b <= 1e-14 * Math.Max(scale, double.Epsilon);
            if (m >= nextCheck || exhausted || m == limit || invariant)
            {
                var (values, last) = Tridiagonal.LastComponents(alpha.ToArray(), beta.ToArray());
                lastBeta = invariant ? 0 : b;
                // An invariant Krylov space is not convergence: a repeated eigenvalue may have copies outside it. Once one
                // was met, blocks run to invariance, and the search stops at the first block that adds nothing to the top.
                if (exhausted) converged = true;
                else if (!invariant) converged = restarts == 0 && Converged(values, last, lastBeta, count, tolerance, lowest);
                else if (restarts > 0)
                {
                    double blockTop = Tridiagonal.LastComponents(alpha.ToArray()[blockStart..], beta.ToArray()[blockStart..]).Values[^1];
                    double kth = values[Math.Max(0, values.Length - count)];
                    converged = values.Length >= count && blockTop < kth - tolerance * Math.Max(Math.Abs(values[^1]), Math.Abs(values[0]));
                }
                if (converged || m == limit) break;
                nextCheck = Math.Min(limit, m + 1);
            }
            if (invariant)
            {
                // The Krylov space is invariant: continue in a fresh direction orthogonal to it (T decouples there).
                if (m + locked.Count >= n) break;
                q = FreshDirection(rng, n, basis, locked);
                beta.Add(0);
                restarts++;
                blockStart = m;
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
        return new LanczosResult(top, residuals, bounds, vectors, r.Values[0], minResidual, converged, basis.Count, 0)
        {
            LambdaMinVector = RitzVector(basis, r, 0),
            RitzValues = r.Values,
        };
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
        if (!Orthonormalise(q, basis, [])) throw new ArgumentException("the quadrature start vector is zero", nameof(start));
        var w = new double[n];
        for (int j = 0; j < steps; j++)
        {
            cancellation.ThrowIfCancellationRequested();
            double b = Step(h, q, w, basis, alpha, beta, []);
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
    private static double Step(HessianOperator h, double[] q, double[] w, List<double[]> basis, List<double> alpha, List<double> beta,
        IReadOnlyList<double[]> locked)
    {
        basis.Add(q);
        h.Apply(q, w);
        double a = HessianOperator.Dot(q, w);
        if (!double.IsFinite(a))
            throw new NumericalOverflowException("the Hessian-vector product overflowed float64 at these layers");
        alpha.Add(a);
        TensorPrimitives.MultiplyAdd(q, -a, w, w);
        if (beta.Count > 0) TensorPrimitives.MultiplyAdd(basis[^2], -beta[^1], w, w);
        double b = Reorthogonalise(w, basis, locked);
        if (!double.IsFinite(b)) throw new NumericalOverflowException("the Hessian-vector product overflowed float64 at these layers");
        return b;
    }

    /// <summary>
    /// Full reorthogonalisation of w against the basis: one classical Gram-Schmidt pass, and a second one when the
    /// first removed most of w (Kahan's "twice is enough" test, ||w|| below 0.7 of what it was). Returns ||w||.
    /// </summary>
    private static double Reorthogonalise(double[] w, List<double[]> basis, IReadOnlyList<double[]> locked)
    {
        double before = TensorPrimitives.Norm<double>(w);
        Orthogonalise(w, basis, locked);
        double after = TensorPrimitives.Norm<double>(w);
        if (after < 0.7 * before)
        {
            Orthogonalise(w, basis, locked);
            after = TensorPrimitives.Norm<double>(w);
        }
        return after;
    }

    /// <summary>Elements of w per cache-sized piece of <see cref="Orthogonalise"/> (8 KB of float64: w's piece stays in L1).</summary>
    private const int Piece = 1024;

    /// <summary>
    /// w -= sum_j (q_j . w) q_j (one classical Gram-Schmidt pass), piece by piece of w: each q_j is read once for the
    /// dots and once for the update, while w's piece stays in L1 (a dot and an update per q_j over all of w read w
    /// from L2 twice per basis vector).
    /// </summary>
    private static void Orthogonalise(double[] w, List<double[]> basis, IReadOnlyList<double[]> locked)
    {
        int m = locked.Count + basis.Count, n = w.Length;
        if (m == 0) return;
        double[] Vector(int j) => j < locked.Count ? locked[j] : basis[j - locked.Count];
        var c = new double[m];
        for (int start = 0; start < n; start += Piece)
        {
            var piece = w.AsSpan(start, Math.Min(Piece, n - start));
            for (int j = 0; j < m; j++) c[j] += TensorPrimitives.Dot<double>(Vector(j).AsSpan(start, piece.Length), piece);
        }
        for (int start = 0; start < n; start += Piece)
        {
            var piece = w.AsSpan(start, Math.Min(Piece, n - start));
            for (int j = 0; j < m; j++) TensorPrimitives.MultiplyAdd(Vector(j).AsSpan(start, piece.Length), -c[j], piece, piece);
        }
    }

    /// <summary>Makes <paramref name="q"/> a unit vector orthogonal to <paramref name="basis"/>; false when it lies in its span.</summary>
    private static bool Orthonormalise(double[] q, List<double[]> basis, IReadOnlyList<double[]> locked)
    {
        double before = TensorPrimitives.Norm<double>(q);
        Orthogonalise(q, basis, locked);
        Orthogonalise(q, basis, locked);
        double norm = TensorPrimitives.Norm<double>(q);
        if (!(norm > 1e-8 * before)) return false;
        TensorPrimitives.Divide(q, norm, q);
        return true;
    }

    /// <summary>A random unit vector orthogonal to the basis (Gaussian draws until one leaves its span).</summary>
    private static double[] FreshDirection(Random rng, int n, List<double[]> basis, IReadOnlyList<double[]> locked)
    {
        while (true)
        {
            var q = new double[n];
            for (int i = 0; i < n; i++) q[i] = Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
            if (Orthonormalise(q, basis, locked)) return q;
        }
    }
}
