using Flatness.Kernels.Reference;
using Flatness.Kernels.Tensors;
using Flatness.Solver.Backends;

namespace Flatness.Experiments;

/// <summary>Where a fibre descent ended: the layers, tr H there, steps taken and how far E moved (round-off only).</summary>
internal sealed record FibreDescentResult(Matrix<double>[] Layers, double InitialTrace, double Trace, int Steps, double EndToEndDrift);

/// <summary>
/// Minimises tr H over the factorisations of a fixed end-to-end matrix: descent on the hidden-layer changes of basis
/// W_j &lt;- exp(B_j) W_j exp(-B_{j-1}) (B_0 = B_L = 0), which leave E = W_L ... W_1 unchanged exactly (up to rounding).
/// The derivative of tr H in B_j at B = 0 is D_j = (d tr H/d W_j) W_j^T - W_{j+1}^T (d tr H/d W_{j+1}); each step
/// moves along -D with Frobenius length r, growing r after a decrease and halving it otherwise.
/// </summary>
internal static class FibreDescent
{
    public static FibreDescentResult Minimize(IEvaluator evaluator, IReadOnlyList<Matrix<double>> start, int maxSteps,
        double relativeTolerance = 1e-13)
    {
        int depth = start.Count;
        var x = start.Select(w => w.Clone()).ToArray();
        var e0 = ReferenceBlas.Product(x.Reverse().ToArray());
        double trace = evaluator.Evaluate(x, Quantities.Trace).Trace, initial = trace;
        if (depth < 2) return new FibreDescentResult(x, trace, trace, 0, 0);

        double radius = 0.1;
        int steps = 0, stalls = 0;
        while (steps < maxSteps)
        {
            var gradient = evaluator.Evaluate(x, Quantities.TraceGradient).TraceGradient!;
            var d = new Matrix<double>[depth - 1];   // d[j-1] = D_j, j = 1..L-1, d_j x d_j
            double norm2 = 0;
            for (int j = 1; j < depth; j++)
            {
                d[j - 1] = ReferenceBlas.Add(
                    ReferenceBlas.Multiply(gradient[j - 1], x[j - 1], transposeB: true),
                    ReferenceBlas.Multiply(x[j], gradient[j], transposeA: true), -1);
                norm2 += ReferenceBlas.FrobeniusSquared(d[j - 1]);
            }
            double norm = Math.Sqrt(norm2);
            if (!(norm > 0)) break;

            bool accepted = false;
            while (radius > 1e-14)
            {
                var candidate = Transform(x, d, -radius / norm);
                double t = evaluator.Evaluate(candidate, Quantities.Trace).Trace;
                if (t < trace)
                {
                    stalls = trace - t <= relativeTolerance * trace ? stalls + 1 : 0;
                    x = candidate;
                    trace = t;
                    radius = Math.Min(radius * 1.5, 0.5);
                    accepted = true;
                    break;
                }
                radius /= 2;
            }
            steps++;
            if (!accepted || stalls >= 5) break;
        }
        var e = ReferenceBlas.Product(x.Reverse().ToArray());
        double drift = Math.Sqrt(ReferenceBlas.FrobeniusSquared(ReferenceBlas.Add(e, e0, -1)) / Math.Max(ReferenceBlas.FrobeniusSquared(e0), double.Epsilon));
        return new FibreDescentResult(x, initial, trace, steps, drift);
    }

    /// <summary>W_j &lt;- exp(s D_j) W_j exp(-s D_{j-1}) for all j.</summary>
    private static Matrix<double>[] Transform(Matrix<double>[] x, Matrix<double>[] d, double s)
    {
        int depth = x.Length;
        var left = new Matrix<double>[depth - 1];
        var right = new Matrix<double>[depth - 1];
        for (int j = 0; j < depth - 1; j++)
        {
            left[j] = Exp(ReferenceBlas.Scale(d[j], s));
            right[j] = Exp(ReferenceBlas.Scale(d[j], -s));
        }
        var y = new Matrix<double>[depth];
        for (int j = 1; j <= depth; j++)
        {
            var w = x[j - 1];
            if (j < depth) w = ReferenceBlas.Multiply(left[j - 1], w);
            if (j > 1) w = ReferenceBlas.Multiply(w, right[j - 2]);
            y[j - 1] = w;
        }
        return y;
    }

    /// <summary>exp(B) by its Taylor series; steps keep ||B||_F &lt;= 0.5, where 30 terms reach full precision.</summary>
    internal static Matrix<double> Exp(Matrix<double> b)
    {
        var sum = Matrix<double>.Identity(b.Rows);
        var term = Matrix<double>.Identity(b.Rows);
        for (int k = 1; k <= 30; k++)
        {
            term = ReferenceBlas.Scale(ReferenceBlas.Multiply(term, b), 1.0 / k);
            sum = ReferenceBlas.Add(sum, term);
            if (ReferenceBlas.FrobeniusSquared(term) < 1e-36 * ReferenceBlas.FrobeniusSquared(sum)) break;
        }
        return sum;
    }
}
