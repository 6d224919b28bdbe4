using System.Numerics.Tensors;

namespace Flatness.Solver.Curvature;

/// <summary>The randomised trace estimators PyHessian-style tools use, run on the exact Hessian-vector product.</summary>
public enum TraceEstimator
{
    /// <summary>Hutchinson: the mean of z^T H z over Rademacher vectors z; error estimate the standard error.</summary>
    Hutchinson,
    /// <summary>Hutch++ (Meyer, Musco, Musco, Woodruff 2021): a rank-m/3 sketch taken exactly, Hutchinson on the rest.</summary>
    HutchPlusPlus,
    /// <summary>XTrace (Epperly, Tropp, Webber 2024): exchangeable low-rank plus correction, with its own error estimate.</summary>
    XTrace,
}

/// <summary>One estimate of tr H from <see cref="Matvecs"/> products; <see cref="ErrorEstimate"/> null where the method has none.</summary>
public sealed record TraceEstimate(TraceEstimator Method, int Matvecs, double Estimate, double? ErrorEstimate);

/// <summary>Hutchinson, Hutch++ and XTrace on a <see cref="HessianOperator"/>, seeded and deterministic.</summary>
public static class TraceEstimators
{
    /// <summary>The name as the command line spells it: hutchinson, hutch++, xtrace.</summary>
    public static string Name(this TraceEstimator method) => method switch
    {
        TraceEstimator.Hutchinson => "hutchinson",
        TraceEstimator.HutchPlusPlus => "hutch++",
        _ => "xtrace",
    };

    /// <summary>Parses hutchinson, hutch++ or xtrace.</summary>
    public static TraceEstimator Parse(string name) => name.Trim().ToLowerInvariant() switch
    {
        "hutchinson" => TraceEstimator.Hutchinson,
        "hutch++" or "hutchpp" => TraceEstimator.HutchPlusPlus,
        "xtrace" => TraceEstimator.XTrace,
        _ => throw new ArgumentException($"unknown trace estimator '{name}'; accepted: hutchinson, hutch++, xtrace", nameof(name)),
    };

    /// <summary>The estimate of <paramref name="method"/> with a budget of <paramref name="matvecs"/> products.</summary>
    public static TraceEstimate Estimate(HessianOperator h, TraceEstimator method, int matvecs, int seed = 0, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(h);
        int minimum = method switch { TraceEstimator.Hutchinson => 1, TraceEstimator.HutchPlusPlus => 3, _ => 2 };
        if (matvecs < minimum) throw new ArgumentOutOfRangeException(nameof(matvecs), $"{method.Name()} needs at least {minimum} products, got {matvecs}");
        var rng = new Random(seed);
        return method switch
        {
            TraceEstimator.Hutchinson => Hutchinson(h, matvecs, rng, cancellation),
            TraceEstimator.HutchPlusPlus => HutchPlusPlus(h, matvecs, rng, cancellation),
            _ => XTrace(h, matvecs, rng, cancellation),
        };
    }

    private static TraceEstimate Hutchinson(HessianOperator h, int m, Random rng, CancellationToken cancellation)
    {
        var samples = new double[m];
        for (int first = 0; first < m; first += HessianOperator.MaxBlock)
        {
            cancellation.ThrowIfCancellationRequested();
            int count = Math.Min(HessianOperator.MaxBlock, m - first);
            var z = Enumerable.Range(0, count).Select(_ => Lanczos.RandomVector(rng, h.Dimension)).ToArray();
            var hz = Enumerable.Range(0, count).Select(_ => new double[h.Dimension]).ToArray();
            h.Apply(z, hz, cancellation);
            for (int r = 0; r < count; r++) samples[first + r] = TensorPrimitives.Dot<double>(z[r], hz[r]);
        }
        double mean = samples.Average();
        double? error = m > 1 ? Math.Sqrt(samples.Sum(s => (s - mean) * (s - mean)) / (m - 1) / m) : null;
        return new TraceEstimate(TraceEstimator.Hutchinson, m, mean, error);
    }

    private static TraceEstimate HutchPlusPlus(HessianOperator h, int m, Random rng, CancellationToken cancellation)
    {
        int n = h.Dimension, k = Math.Min(m / 3, n), g = m - 2 * k;
        // Q = orth(H S), S Rademacher n x k.
        var sketch = Enumerable.Range(0, k).Select(_ => Lanczos.RandomVector(rng, n)).ToArray();
        var y = Enumerable.Range(0, k).Select(_ => new double[n]).ToArray();
        h.Apply(sketch, y, cancellation);
        var q = Orthonormal(y);
        var hq = q.Select(_ => new double[n]).ToArray();
        h.Apply(q, hq, cancellation);
        double lowRank = 0;
        for (int i = 0; i < q.Length; i++) lowRank += TensorPrimitives.Dot<double>(q[i], hq[i]);
        // Hutchinson on (I - Q Q^T) H (I - Q Q^T) with the remaining g products.
        double rest = 0;
        for (int first = 0; first < g; first += HessianOperator.MaxBlock)
        {
            cancellation.ThrowIfCancellationRequested();
            int count = Math.Min(HessianOperator.MaxBlock, g - first);
            var z = Enumerable.Range(0, count).Select(_ => Lanczos.RandomVector(rng, n)).ToArray();
            foreach (var column in z) Project(column, q);
            var hz = z.Select(_ => new double[n]).ToArray();
            h.Apply(z, hz, cancellation);
            for (int r = 0; r < count; r++) rest += TensorPrimitives.Dot<double>(z[r], hz[r]);
        }
        return new TraceEstimate(TraceEstimator.HutchPlusPlus, m, lowRank + (g > 0 ? rest / g : 0), null);
    }

    /// <summary>
    /// XTrace with m/2 test vectors uniform on the sphere of radius sqrt(n) (the paper's improved variant): for each i,
    /// tr(H P_i) with P_i the projector onto the span of the other m/2 - 1 products, plus a Girard-Hutchinson correction
    /// with vector i on the complement, all from one QR of Y = H Omega and the products H Q; the estimate is their mean,
    /// the error estimate their standard error. Each term is unbiased (vector i is independent of P_i).
    /// </summary>
    private static TraceEstimate XTrace(HessianOperator h, int matvecs, Random rng, CancellationToken cancellation)
    {
        int n = h.Dimension, m = Math.Min(matvecs / 2, n);
        var omega = new double[m][];
        var y = new double[m][];
        for (int i = 0; i < m; i++)
        {
            var g = new double[n];
            for (int t = 0; t < n; t++) g[t] = Normal(rng);
            TensorPrimitives.Multiply(g, Math.Sqrt(n) / TensorPrimitives.Norm<double>(g), g);
            omega[i] = g;
            y[i] = new double[n];
        }
        h.Apply(omega, y, cancellation);
        var (q, r) = ThinQr(y);                                    // Y = Q R, Q n x m, R m x m upper triangular
        var w = Gram(q, omega);                                    // W = Q^T Omega (m x m)
        var z = q.Select(_ => new double[n]).ToArray();            // Z = H Q
        h.Apply(q, z, cancellation);
        var hm = Gram(q, z);                                       // H_Q = Q^T H Q (m x m)
        double traceH = 0;
        for (int i = 0; i < m; i++) traceH += hm[i, i];
        // Products of rank below m: their span holds the whole range of H (symmetric), so tr(Q^T H Q) is tr H exactly.
        double largest = Enumerable.Range(0, m).Max(i => Math.Abs(r[i, i]));
        if (Enumerable.Range(0, m).Any(i => Math.Abs(r[i, i]) <= 1e-12 * largest))
            return new TraceEstimate(TraceEstimator.XTrace, 2 * m, traceH, 0);
        var s = InverseTransposeNormalisedColumns(r);              // S = cnormc(R^{-T})
        var hs = Multiply(hm, s);
        var estimates = new double[m];
        var x = new double[m];
        for (int i = 0; i < m; i++)
        {
            // P_i = Q (I - s s^T) Q^T projects onto the span of the products of the other vectors (Q s_i is orthogonal
            // to them); with c = omega_i, w = Q^T c, alpha = s.w, x = w - alpha s, and H c = Q R_i:
            // c^T (I - P_i) H (I - P_i) c = w.R_i - 2 R_i.x + x^T H_Q x.
            double wNorm2 = 0, alpha = 0, sHs = 0;
            for (int a = 0; a < m; a++)
            {
                wNorm2 += w[a, i] * w[a, i];
                alpha += s[a, i] * w[a, i];
                sHs += s[a, i] * hs[a, i];
            }
            for (int a = 0; a < m; a++) x[a] = w[a, i] - alpha * s[a, i];
            double wR = 0, rx = 0, xHx = 0;
            for (int a = 0; a < m; a++)
            {
                wR += w[a, i] * r[a, i];
                rx += r[a, i] * x[a];
                double hx = 0;
                for (int b2 = 0; b2 < m; b2++) hx += hm[a, b2] * x[b2];
                xHx += x[a] * hx;
            }
            // Test vectors on the sphere of radius sqrt(n): rescale the correction by the expected over the actual
            // squared length of (I - P_i) c, (n - m + 1) / (n - |w|^2 + alpha^2).
            double scale = (n - m + 1) / (n - wNorm2 + alpha * alpha);
            estimates[i] = traceH - sHs + scale * (wR - 2 * rx + xHx);
        }
        double mean = estimates.Average();
        double? error = m > 1 ? Math.Sqrt(estimates.Sum(e => (e - mean) * (e - mean)) / (m - 1) / m) : null;
        return new TraceEstimate(TraceEstimator.XTrace, 2 * m, mean, error);
    }

    private static double Normal(Random rng) =>
        Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    /// <summary>z -= Q (Q^T z).</summary>
    private static void Project(double[] z, double[][] q)
    {
        foreach (var column in q) TensorPrimitives.MultiplyAdd(column, -TensorPrimitives.Dot<double>(column, z), z, z);
    }

    /// <summary>An orthonormal basis of the columns' span (modified Gram-Schmidt twice; dependent columns dropped).</summary>
    private static double[][] Orthonormal(double[][] columns)
    {
        var basis = new List<double[]>();
        double scale = columns.Select(c => TensorPrimitives.Norm<double>(c)).DefaultIfEmpty(0).Max();
        foreach (var c in columns)
        {
            var v = (double[])c.Clone();
            for (int pass = 0; pass < 2; pass++)
                foreach (var b in basis) TensorPrimitives.MultiplyAdd(b, -TensorPrimitives.Dot<double>(b, v), v, v);
            double norm = TensorPrimitives.Norm<double>(v);
            if (norm <= 1e-12 * scale) continue;
            TensorPrimitives.Divide(v, norm, v);
            basis.Add(v);
        }
        return basis.ToArray();
    }

    /// <summary>Y = Q R by modified Gram-Schmidt with reorthogonalisation (columns of Y, Q as arrays).</summary>
    private static (double[][] Q, double[,] R) ThinQr(double[][] y)
    {
        int m = y.Length;
        var q = new double[m][];
        var r = new double[m, m];
        for (int j = 0; j < m; j++)
        {
            var v = (double[])y[j].Clone();
            for (int pass = 0; pass < 2; pass++)
                for (int i = 0; i < j; i++)
                {
                    double c = TensorPrimitives.Dot<double>(q[i], v);
                    r[i, j] += c;
                    TensorPrimitives.MultiplyAdd(q[i], -c, v, v);
                }
            double norm = TensorPrimitives.Norm<double>(v);
            r[j, j] = norm;
            q[j] = new double[v.Length];
            if (norm > 0) TensorPrimitives.Divide(v, norm, q[j]);
        }
        return (q, r);
    }

    /// <summary>G[a, b] = x_a . y_b.</summary>
    private static double[,] Gram(double[][] x, double[][] y)
    {
        var g = new double[x.Length, y.Length];
        for (int a = 0; a < x.Length; a++)
            for (int b = 0; b < y.Length; b++) g[a, b] = TensorPrimitives.Dot<double>(x[a], y[b]);
        return g;
    }

    private static double[,] Multiply(double[,] a, double[,] b)
    {
        int rows = a.GetLength(0), inner = a.GetLength(1), cols = b.GetLength(1);
        var c = new double[rows, cols];
        for (int i = 0; i < rows; i++)
            for (int k = 0; k < inner; k++)
            {
                double x = a[i, k];
                if (x == 0) continue;
                for (int j = 0; j < cols; j++) c[i, j] += x * b[k, j];
            }
        return c;
    }

    /// <summary>R^{-T} (R upper triangular) with each column scaled to unit norm.</summary>
    private static double[,] InverseTransposeNormalisedColumns(double[,] r)
    {
        int m = r.GetLength(0);
        // X = R^{-T} is lower triangular: R^T X = I, solved column by column by forward substitution.
        var x = new double[m, m];
        for (int c = 0; c < m; c++)
            for (int i = 0; i < m; i++)
            {
                double sum = i == c ? 1 : 0;
                for (int k = 0; k < i; k++) sum -= r[k, i] * x[k, c];
                x[i, c] = sum / r[i, i];
            }
        for (int c = 0; c < m; c++)
        {
            double norm = 0;
            for (int i = 0; i < m; i++) norm += x[i, c] * x[i, c];
            norm = Math.Sqrt(norm);
            for (int i = 0; i < m; i++) x[i, c] /= norm;
        }
        return x;
    }
}
