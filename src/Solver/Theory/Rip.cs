using Flatness.Kernels.Linalg;
using Flatness.Kernels.Tensors;
using Flatness.Solver.Problems;

namespace Flatness.Solver.Theory;

/// <summary>Rank-one RIP constant estimate: extremes of (1/n) sum_i (u^T A_i v)^2 over unit u, v.</summary>
/// <remarks>
/// Both values come from local searches: <see cref="Upper"/> is a lower estimate of the true maximum and
/// <see cref="Lower"/> an upper estimate of the true minimum, so the bracket [Lower, Upper] can only be too narrow
/// and <see cref="Delta"/> can only be too small.
/// </remarks>
public sealed record RipEstimate(double Lower, double Upper)
{
    /// <summary>delta = max(1 - Lower, Upper - 1).</summary>
    public double Delta => Math.Max(1 - Lower, Upper - 1);
}

/// <summary>
/// Estimates the rank-one RIP extremes of a measurement operator (docs/MATH.md section 4).
/// q(u, v) = (1/n) sum_i (u^T A_i v)^2 is, for fixed v, the quadratic form of S(v v^T) in u and, for fixed u, that
/// of S*(u u^T) in v. Alternating between the two and taking at each half step the extreme eigenvector of the
/// partial form is a monotone ascent (for the maximum: alternating power iteration solved exactly) or descent
/// (for the minimum). Each extreme is searched from a spectral start (the extreme eigenvector of the form averaged
/// over u, S*(I)/d_L) and from <c>restarts</c> random unit starts; the best local extreme is kept. The minimum of a
/// biquadratic form is a hard non-convex problem: the returned Lower is an upper estimate of the true minimum
/// (and Upper a lower estimate of the true maximum); more restarts can only tighten them.
/// </summary>
public static class Rip
{
    /// <summary>Cap on the alternating half-step pairs of one local search.</summary>
    public const int MaxIterations = 2000;
    /// <summary>A local search stops when one iteration changes q by at most this times the mean of q.</summary>
    public const double Tolerance = 1e-14;

    /// <summary>Lower and upper estimates of the rank-one RIP constants of the measurements, from random restarts.</summary>
    public static RipEstimate Estimate(Measurements measurements, int seed = 0, int restarts = 8)
    {
        ArgumentNullException.ThrowIfNull(measurements);
        if (restarts < 0)
            throw new ArgumentOutOfRangeException(nameof(restarts), $"restarts must be >= 0, got {restarts}");
        if (measurements.Count == 0)
            throw new ArgumentException("cannot estimate the RIP constant of an operator with no measurements (n = 0)", nameof(measurements));
        int d0 = measurements.InputDim, dl = measurements.OutputDim;
        if (d0 == 0 || dl == 0)
            throw new ArgumentException($"measurements of shape {dl}x{d0} have no entries", nameof(measurements));

        var forms = new PartialForms(measurements);
        // S*(I) / d_L is the form in v averaged over unit u; its trace / d_0 is the mean of q over unit u and v.
        var averaged = measurements.SAdjoint(Matrix<double>.Identity(dl));
        double mean = 0;
        for (int b = 0; b < d0; b++) mean += averaged[b, b];
        mean /= (double)d0 * dl;
        if (mean == 0) return new RipEstimate(0, 0);
        var spectral = SymmetricEigen.Decompose(averaged);

        var random = new Random(seed);
        double upper = double.NegativeInfinity, lower = double.PositiveInfinity;
        for (int start = 0; start <= restarts; start++)
        {
            var v = start == 0 ? Column(spectral.Vectors, d0 - 1) : RandomUnit(random, d0);
            upper = Math.Max(upper, Search(forms, v, maximise: true, mean));
        }
        for (int start = 0; start <= restarts; start++)
        {
            var v = start == 0 ? Column(spectral.Vectors, 0) : RandomUnit(random, d0);
            lower = Math.Min(lower, Search(forms, v, maximise: false, mean));
        }
        return new RipEstimate(Math.Max(lower, 0), upper);
    }

    /// <summary>q(u, v) = (1/n) sum_i (u^T A_i v)^2 for the given vectors (not normalised here).</summary>
    public static double QuadraticForm(Measurements measurements, ReadOnlySpan<double> u, ReadOnlySpan<double> v)
    {
        ArgumentNullException.ThrowIfNull(measurements);
        if (u.Length != measurements.OutputDim || v.Length != measurements.InputDim)
            throw new ArgumentException(
                $"u has {u.Length} and v {v.Length} entries but the measurements are {measurements.OutputDim}x{measurements.InputDim}");
        var form = new PartialForms(measurements, allowGram: false).InU(v);
        double q = 0;
        for (int a = 0; a < u.Length; a++)
            for (int c = 0; c < u.Length; c++) q += u[a] * form[a, c] * u[c];
        return q;
    }

    /// <summary>One alternating local search from v; returns the extreme value reached.</summary>
    private static double Search(PartialForms forms, double[] v, bool maximise, double mean)
    {
        double value = double.NaN;
        for (int iteration = 0; iteration < MaxIterations; iteration++)
        {
            var inU = SymmetricEigen.Decompose(forms.InU(v));
            var u = Column(inU.Vectors, maximise ? inU.Values.Length - 1 : 0);
            var inV = SymmetricEigen.Decompose(forms.InV(u));
            int pick = maximise ? inV.Values.Length - 1 : 0;
            v = Column(inV.Vectors, pick);
            double next = inV.Values[pick];
            bool converged = Math.Abs(next - value) <= Tolerance * mean;
            value = next;
            if (converged) break;
        }
        return value;
    }

    private static double[] Column(Matrix<double> m, int c)
    {
        var x = new double[m.Rows];
        for (int r = 0; r < m.Rows; r++) x[r] = m[r, c];
        return x;
    }

    private static double[] RandomUnit(Random random, int n)
    {
        var x = new double[n];
        double norm = 0;
        while (norm == 0)
        {
            norm = 0;
            for (int i = 0; i < n; i++)
            {
                // Box-Muller: a direction uniform on the sphere needs Gaussian coordinates.
                double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
                x[i] = Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
                norm += x[i] * x[i];
            }
        }
        norm = Math.Sqrt(norm);
        for (int i = 0; i < n; i++) x[i] /= norm;
        return x;
    }

    /// <summary>
    /// The partial forms S(v v^T) = (1/n) sum_i (A_i v)(A_i v)^T (in u) and S*(u u^T) = (1/n) sum_i (A_i^T u)(A_i^T u)^T
    /// (in v), evaluated many times per estimate. Three ways, by cost:
    /// matrix completion uses its own O(n) S and S*; otherwise, when d_L d_0 &lt;= n (and the Gram matrix is at most
    /// 2^22 entries), the Gram matrix K = (1/n) sum_i vec(A_i) vec(A_i)^T is formed once (O(n (d_L d_0)^2)) and each
    /// form costs O((d_L d_0)^2), independent of n; else dense operators are read directly, O(n d_L d_0) per form,
    /// and other operators use their S and S*.
    /// </summary>
    private sealed class PartialForms
    {
        private const int MaxGramEntries = 1 << 22;
        private readonly Measurements _m;
        private readonly double[]? _gram;

        public PartialForms(Measurements measurements, bool allowGram = true)
        {
            _m = measurements;
            int size = measurements.OutputDim * measurements.InputDim;
            if (allowGram && measurements is not CompletionMeasurements && size <= measurements.Count && (long)size * size <= MaxGramEntries)
                _gram = Gram(measurements);
        }

        public Matrix<double> InU(ReadOnlySpan<double> v) =>
            _gram is not null ? GramForm(v, inU: true)
            : _m is DenseMeasurements dense ? DenseForm(dense, v, inU: true)
            : _m.S(Outer(v));

        public Matrix<double> InV(ReadOnlySpan<double> u) =>
            _gram is not null ? GramForm(u, inU: false)
            : _m is DenseMeasurements dense ? DenseForm(dense, u, inU: false)
            : _m.SAdjoint(Outer(u));

        private static double[] Gram(Measurements m)
        {
            int size = m.OutputDim * m.InputDim;
            var k = new double[size * size];
            var dense = m as DenseMeasurements;
            for (int i = 0; i < m.Count; i++)
            {
                ReadOnlySpan<double> x = dense is not null ? dense.Item(i) : m.Dense(i).Data;
                for (int r = 0; r < size; r++)
                {
                    double xr = x[r];
                    if (xr == 0) continue;
                    var row = k.AsSpan(r * size, r + 1);
                    for (int c = 0; c <= r; c++) row[c] += xr * x[c];
                }
            }
            double inv = 1.0 / m.Count;
            for (int r = 0; r < size; r++)
                for (int c = 0; c <= r; c++) k[c * size + r] = k[r * size + c] *= inv;
            return k;
        }

        /// <summary>InU(v)[a, c] = sum_{b,e} K[(a,b),(c,e)] v_b v_e; InV(u)[b, e] = sum_{a,c} K[(a,b),(c,e)] u_a u_c.</summary>
        private Matrix<double> GramForm(ReadOnlySpan<double> x, bool inU)
        {
            int dl = _m.OutputDim, d0 = _m.InputDim, size = dl * d0, n = inU ? dl : d0;
            var k = _gram!;
            var form = new Matrix<double>(n, n);
            for (int a = 0; a < dl; a++)
                for (int b = 0; b < d0; b++)
                {
                    var row = k.AsSpan((a * d0 + b) * size, size);
                    for (int c = 0; c < dl; c++)
                        for (int e = 0; e < d0; e++)
                        {
                            double kv = row[c * d0 + e];
                            if (inU) form[a, c] += kv * x[b] * x[e];
                            else form[b, e] += kv * x[a] * x[c];
                        }
                }
            return form;
        }

        private static Matrix<double> Outer(ReadOnlySpan<double> x)
        {
            var m = new Matrix<double>(x.Length, x.Length);
            for (int a = 0; a < x.Length; a++)
                for (int b = 0; b < x.Length; b++) m[a, b] = x[a] * x[b];
            return m;
        }

        private static Matrix<double> DenseForm(DenseMeasurements dense, ReadOnlySpan<double> x, bool inU)
        {
            int dl = dense.OutputDim, d0 = dense.InputDim, size = inU ? dl : d0;
            var form = new Matrix<double>(size, size);
            var w = new double[size];
            for (int i = 0; i < dense.Count; i++)
            {
                var ai = dense.Item(i);
                Array.Clear(w);
                if (inU)
                    for (int a = 0; a < dl; a++)
                    {
                        double s = 0;
                        for (int b = 0; b < d0; b++) s += ai[a * d0 + b] * x[b];
                        w[a] = s;
                    }
                else
                    for (int a = 0; a < dl; a++)
                    {
                        double xa = x[a];
                        for (int b = 0; b < d0; b++) w[b] += ai[a * d0 + b] * xa;
                    }
                for (int r = 0; r < size; r++)
                    for (int c = 0; c <= r; c++) form[r, c] += w[r] * w[c];
            }
            double inv = 1.0 / dense.Count;
            for (int r = 0; r < size; r++)
                for (int c = 0; c <= r; c++) form[c, r] = form[r, c] *= inv;
            return form;
        }
    }
}
