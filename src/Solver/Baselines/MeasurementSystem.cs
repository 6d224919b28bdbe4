using Flatness.Kernels.Cpu;
using Flatness.Kernels.Tensors;
using Flatness.Solver.Problems;

namespace Flatness.Solver.Baselines;

/// <summary>
/// The linear system A(M) = y of a measurement operator and its pseudo-inverse A^+. When b is consistent the solution
/// set of A(M) = b is an affine subspace; otherwise (noise with n &gt; d_L d_0) it is the set of least-squares solutions.
/// Either way A^+ y is its least-Frobenius-norm point and M - A^+(A(M) - b) the orthogonal projection onto it.
/// Dense measurements precompute a Cholesky factorisation: of X X^T (n x n) when n &lt;= d_L d_0, else of X^T X, with
/// X the n x (d_L d_0) matrix of rows vec(A_i). Structured measurements (and rank-deficient dense ones) use
/// matrix-free CGLS through Forward and Adjoint only, from zero, which converges to the least-norm solution.
/// </summary>
internal sealed class MeasurementSystem
{
    private readonly Measurements _m;
    private readonly Cholesky? _rows;    // X X^T
    private readonly Cholesky? _normal;  // X^T X
    private readonly double[]? _x;

    /// <summary>The system A(M) = b of these measurements (the factorisation or solver is chosen from their kind and shape).</summary>
    public MeasurementSystem(Measurements measurements, double cgTolerance = 1e-14, int? maxCgIterations = null)
    {
        ArgumentNullException.ThrowIfNull(measurements);
        _m = measurements;
        CgTolerance = cgTolerance;
        int size = checked(measurements.OutputDim * measurements.InputDim);
        MaxCgIterations = maxCgIterations ?? Math.Max(100, 4 * Math.Min(size, measurements.Count));
        if (measurements is DenseMeasurements dense)
        {
            int n = dense.Count;
            _x = dense.A;
            if (n <= size)
            {
                var c = new double[checked(n * n)];
                Gemm.Compute(Op.None, Op.Transpose, n, n, size, 1.0, _x, size, _x, size, 0.0, c, n);
                _rows = Cholesky.TryFactor(c, n);
            }
            else
            {
                var c = new double[checked(size * size)];
                Gemm.Compute(Op.Transpose, Op.None, size, size, n, 1.0, _x, size, _x, size, 0.0, c, size);
                _normal = Cholesky.TryFactor(c, size);
            }
        }
        Method = _rows is not null ? "cholesky-rows" : _normal is not null ? "cholesky-normal" : "cgls";
    }

    /// <summary>"cholesky-rows" (X X^T), "cholesky-normal" (X^T X) or "cgls" (matrix-free).</summary>
    public string Method { get; }
    /// <summary>Relative residual at which conjugate gradients stop (iterative projections).</summary>
    public double CgTolerance { get; }
    /// <summary>Most conjugate-gradient iterations per solve.</summary>
    public int MaxCgIterations { get; }
    /// <summary>CGLS iterations of the last solve (0 for Cholesky).</summary>
    public int LastIterations { get; private set; }
    /// <summary>The measurements of the system.</summary>
    public Measurements Measurements => _m;

    /// <summary>A^+ y: the least-Frobenius-norm M among the least-squares solutions of A(M) = y.</summary>
    public Matrix<double> PseudoInverse(ReadOnlySpan<double> y)
    {
        if (y.Length != _m.Count) throw new ArgumentException($"right-hand side has length {y.Length}, expected n = {_m.Count}", nameof(y));
        LastIterations = 0;
        if (_rows is not null)
        {
            var w = y.ToArray();
            _rows.Solve(w);
            return _m.Adjoint(w);
        }
        if (_normal is not null)
        {
            var z = _m.Adjoint(y);
            _normal.Solve(z.Data);
            return z;
        }
        return Cgls(y);
    }

    /// <summary>The orthogonal projection of <paramref name="x"/> onto the (least-squares) solution set of A(M) = b.</summary>
    public Matrix<double> Project(Matrix<double> x, ReadOnlySpan<double> b)
    {
        var residual = new double[_m.Count];
        _m.Forward(x, residual);
        for (int i = 0; i < residual.Length; i++) residual[i] -= b[i];
        var correction = PseudoInverse(residual);
        var p = x.Clone();
        for (int t = 0; t < p.Length; t++) p.Data[t] -= correction.Data[t];
        return p;
    }

    /// <summary>CGLS on min ||A(Z) - y||, from Z = 0 (so Z stays in the range of A^*: the least-norm solution).</summary>
    private Matrix<double> Cgls(ReadOnlySpan<double> y)
    {
        int n = _m.Count;
        var z = new Matrix<double>(_m.OutputDim, _m.InputDim);
        var r = y.ToArray();
        var s = _m.Adjoint(r);
        var p = s.Clone();
        var q = new double[n];
        double gamma = Dot(s.Data, s.Data);
        double stop = CgTolerance * CgTolerance * gamma;
        int it = 0;
        while (gamma > stop && it < MaxCgIterations)
        {
            _m.Forward(p, q);
            double qq = Dot(q, q);
            if (!(qq > 0)) break;
            double alpha = gamma / qq;
            for (int t = 0; t < z.Length; t++) z.Data[t] += alpha * p.Data[t];
            for (int i = 0; i < n; i++) r[i] -= alpha * q[i];
            s = _m.Adjoint(r);
            double next = Dot(s.Data, s.Data);
            double beta = next / gamma;
            gamma = next;
            for (int t = 0; t < p.Length; t++) p.Data[t] = s.Data[t] + beta * p.Data[t];
            it++;
        }
        LastIterations = it;
        return z;
    }

    private static double Dot(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        double s = 0;
        for (int t = 0; t < a.Length; t++) s += a[t] * b[t];
        return s;
    }
}
