using System.Diagnostics;
using Flatness.Kernels.Linalg;
using Flatness.Kernels.Tensors;
using Flatness.Solver.Optimizers;
using Flatness.Solver.Problems;

namespace Flatness.Solver.Baselines;

/// <summary>Stopping rules and progress of <see cref="NuclearNormMinimization.Solve"/>.</summary>
public sealed record NuclearOptions
{
    /// <summary>Most ADMM iterations.</summary>
    public int MaxIterations { get; init; } = 20_000;
    /// <summary>Absolute and relative tolerance on the primal and dual residuals (Boyd et al., section 3.3.1).</summary>
    public double Tolerance { get; init; } = 1e-10;
    /// <summary>Initial ADMM penalty rho; default 10 / ||A^+ b||_2. Adapted by residual balancing.</summary>
    public double? Rho { get; init; }
    /// <summary>Optional wall-clock limit.</summary>
    public TimeSpan? TimeLimit { get; init; }
    /// <summary>Told every ~0.5% of the iterations, and at the end, where the iteration stands.</summary>
    public IProgress<ProgressReport>? Progress { get; init; }
    /// <summary>Stops at the next iteration once cancelled, returning the current iterate (not converged).</summary>
    public CancellationToken Cancellation { get; init; }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (MaxIterations < 1) throw new ArgumentOutOfRangeException(nameof(MaxIterations), $"iterations must be >= 1, got {MaxIterations}");
        if (!(Tolerance > 0) || !double.IsFinite(Tolerance))
            throw new ArgumentOutOfRangeException(nameof(Tolerance), $"tolerance must be finite and positive, got {Tolerance}");
        if (Rho is double rho && (!(rho > 0) || !double.IsFinite(rho)))
            throw new ArgumentOutOfRangeException(nameof(Rho), $"rho must be finite and positive, got {rho}");
    }
}

/// <param name="Solution">The low-rank iterate Z (singular value thresholding output).</param>
/// <param name="Dual">The multiplier Y = rho U: at the optimum Y is a subgradient of ||.||_* at Z and lies in the range of A^*.</param>
/// <param name="Cancelled">Whether <see cref="NuclearOptions.Cancellation"/> stopped the iteration.</param>
public sealed record NuclearResult(Matrix<double> Solution, Matrix<double> Dual, int Iterations, double PrimalResidual,
    double DualResidual, bool Converged, double Seconds, string ProjectionMethod, bool Cancelled);

/// <summary>
/// <c>nuclear</c>: min ||M||_* subject to A(M) = b (over the least-squares solution set when b is inconsistent), by
/// ADMM on  min ||Z||_* + indicator(A(M) = b)  subject to M = Z  (scaled form):
/// M &lt;- P(Z - U) (projection onto the solution set, <see cref="MeasurementSystem"/>),
/// Z &lt;- SVT_{1/rho}(M + U) (singular value thresholding), U &lt;- U + M - Z,
/// with residual balancing of rho. Starts from the least-norm solution.
/// </summary>
public static class NuclearNormMinimization
{
    /// <summary>min ||M||_* subject to A(M) = b, from the least-norm solution (see the class comment).</summary>
    /// <exception cref="ArgumentOutOfRangeException">invalid options.</exception>
    public static NuclearResult Solve(SensingProblem problem, NuclearOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(problem);
        options ??= new NuclearOptions();
        options.Validate();
        var clock = Stopwatch.StartNew();
        var system = new MeasurementSystem(problem.Measurements);
        var b = problem.Labels;
        var z = system.PseudoInverse(b);
        double spectral = MatrixNorms.Spectral(z);
        double rho = options.Rho ?? (spectral > 0 ? 10.0 / spectral : 1.0);
        var u = new Matrix<double>(z.Rows, z.Cols);
        var m = z.Clone();
        double sqrtSize = Math.Sqrt(z.Length), eps = options.Tolerance;
        double primal = double.NaN, dual = double.NaN;
        bool converged = false, cancelled = false;
        int it = 0;
        int reportEvery = Math.Max(1, options.MaxIterations / 200);
        while (it < options.MaxIterations)
        {
            if (options.Cancellation.IsCancellationRequested) { cancelled = true; break; }
            if ((it & 15) == 0 && options.TimeLimit is { } limit && clock.Elapsed >= limit) break;
            it++;
            m = system.Project(Difference(z, u), b);
            var zOld = z;
            z = Threshold(Sum(m, u), 1.0 / rho);
            for (int t = 0; t < u.Length; t++) u.Data[t] += m.Data[t] - z.Data[t];

            primal = Distance(m, z);
            dual = rho * Distance(z, zOld);
            double primalTol = eps * sqrtSize + eps * Math.Max(Norm(m), Norm(z));
            double dualTol = eps * sqrtSize + eps * rho * Norm(u);
            if (primal <= primalTol && dual <= dualTol) { converged = true; break; }
            if (primal > 10 * dual) { rho *= 2; Scale(u, 0.5); }
            else if (dual > 10 * primal) { rho /= 2; Scale(u, 2); }
            if (options.Progress is not null && it % reportEvery == 0)
                options.Progress.Report(new ProgressReport("nuclear", it, options.MaxIterations, double.NaN, MatrixNorms.Nuclear(z), clock.Elapsed));
        }
        var y = u.Clone();
        Scale(y, rho);
        options.Progress?.Report(new ProgressReport("nuclear", it, options.MaxIterations, double.NaN, MatrixNorms.Nuclear(z),
            clock.Elapsed, Final: true));
        return new NuclearResult(z, y, it, primal, dual, converged, clock.Elapsed.TotalSeconds, system.Method, cancelled);
    }

    /// <summary>SVT_tau(X) = U max(S - tau, 0) V^T.</summary>
    public static Matrix<double> Threshold(Matrix<double> x, double tau)
    {
        var svd = Svd.Decompose(x);
        var result = new Matrix<double>(x.Rows, x.Cols);
        for (int k = 0; k < svd.S.Length; k++)
        {
            double s = svd.S[k] - tau;
            if (!(s > 0)) continue;
            for (int a = 0; a < x.Rows; a++)
            {
                double ua = s * svd.U[a, k];
                if (ua == 0) continue;
                var row = result.Row(a);
                for (int c = 0; c < x.Cols; c++) row[c] += ua * svd.Vt[k, c];
            }
        }
        return result;
    }

    private static Matrix<double> Difference(Matrix<double> a, Matrix<double> b)
    {
        var c = a.Clone();
        for (int t = 0; t < c.Length; t++) c.Data[t] -= b.Data[t];
        return c;
    }

    private static Matrix<double> Sum(Matrix<double> a, Matrix<double> b)
    {
        var c = a.Clone();
        for (int t = 0; t < c.Length; t++) c.Data[t] += b.Data[t];
        return c;
    }

    private static void Scale(Matrix<double> a, double s)
    {
        for (int t = 0; t < a.Length; t++) a.Data[t] *= s;
    }

    private static double Norm(Matrix<double> a) => Math.Sqrt(a.Data.Sum(v => v * v));

    private static double Distance(Matrix<double> a, Matrix<double> b)
    {
        double s = 0;
        for (int t = 0; t < a.Length; t++) s += (a.Data[t] - b.Data[t]) * (a.Data[t] - b.Data[t]);
        return Math.Sqrt(s);
    }
}
