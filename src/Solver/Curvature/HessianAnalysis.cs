using System.Diagnostics;
using Flatness.Kernels.Linalg;
using Flatness.Kernels.Tensors;
using Flatness.Solver.Backends;

namespace Flatness.Solver.Curvature;

/// <summary>Which spectrum to compute besides the extreme eigenvalues.</summary>
public enum SpectrumKind
{
    /// <summary>None.</summary>
    None,
    /// <summary>Every eigenvalue, from the assembled Hessian (up to <see cref="HessianRequest.MaxFullParameters"/> parameters).</summary>
    Full,
    /// <summary>A smoothed spectral density by stochastic Lanczos quadrature.</summary>
    Density,
}

/// <summary>What <see cref="HessianAnalysis.Run"/> computes. Budgets are Hessian-vector products.</summary>
public sealed record HessianRequest
{
    /// <summary>How many of the largest eigenvalues.</summary>
    public int Top { get; init; } = 1;
    /// <summary>Lanczos stops when every wanted residual is below this fraction of the largest |eigenvalue|.</summary>
    public double Tolerance { get; init; } = 1e-10;
    /// <summary>Whether to compute the full spectrum or a density besides the extremes.</summary>
    public SpectrumKind Spectrum { get; init; } = SpectrumKind.None;
    /// <summary>The trace estimators to run and compare with the exact trace.</summary>
    public IReadOnlyList<TraceEstimator> Estimators { get; init; } = [];
    /// <summary>The largest estimator budget; each estimator also runs at 1/8, 1/4 and 1/2 of it.</summary>
    public int Matvecs { get; init; } = 100;
    /// <summary>Seed of the random start and probe vectors.</summary>
    public int Seed { get; init; }
    /// <summary>Random start vectors of the spectral density.</summary>
    public int DensityVectors { get; init; } = 8;
    /// <summary>Lanczos steps per start vector of the spectral density.</summary>
    public int DensitySteps { get; init; } = 80;
    /// <summary>The full spectrum is refused above this many parameters (O(P^3) work, P products).</summary>
    public int MaxFullParameters { get; init; } = 5000;
}

/// <summary>One estimator run: its estimate and the true relative error |estimate - tr H| / |tr H|.</summary>
public sealed record EstimatorComparison(TraceEstimate Estimate, double RelativeError);

/// <summary>A spectral density on a grid: density(t) = (1/v) sum_v sum_i w_vi N(t; theta_vi, sigma^2).</summary>
public sealed record SpectralDensity(double[] Grid, double[] Density, double Sigma, IReadOnlyList<(double[] Nodes, double[] Weights)> Quadratures);

/// <summary>Everything <c>flatness hessian</c> reports about the Hessian at one point.</summary>
public sealed record HessianReport(
    double Trace,
    double[] LayerTraces,
    LanczosResult Extremes,
    double[]? Eigenvalues,
    SpectralDensity? Density,
    IReadOnlyList<EstimatorComparison> Estimates,
    long Matvecs,
    double Seconds)
{
    /// <summary>Products with the draft evaluator (0 without one), besides the <see cref="Matvecs"/> exact ones.</summary>
    public long DraftMatvecs { get; init; }
}

/// <summary>The curvature of the loss at a point, exactly where it can be, estimated where asked and compared.</summary>
public static class HessianAnalysis
{
    /// <summary>
    /// The exact trace and per-layer traces, the top eigenvalues and lambda_min by Lanczos, the requested spectrum and
    /// the requested trace estimators at several budgets, each with its true error against the exact trace.
    /// <paramref name="draft"/>, an evaluator of the same problem in lower precision (float32), does the Lanczos
    /// iteration of the extremes, which <paramref name="evaluator"/>'s products then certify (<see cref="Lanczos.Extremes"/>);
    /// everything else uses <paramref name="evaluator"/>.
    /// </summary>
    public static HessianReport Run(IEvaluator evaluator, IReadOnlyList<Matrix<double>> layers, HessianRequest request,
        IProgress<string>? progress = null, CancellationToken cancellation = default, IEvaluator? draft = null)
    {
        ArgumentNullException.ThrowIfNull(evaluator);
        ArgumentNullException.ThrowIfNull(request);
        if (draft is not null && !ReferenceEquals(draft.Problem, evaluator.Problem))
            throw new ArgumentException("the draft evaluator must hold the same problem as the evaluator", nameof(draft));
        var clock = Stopwatch.StartNew();
        var h = new HessianOperator(evaluator, layers);
        var rough = draft is null ? null : new HessianOperator(draft, layers);
        if (request.Top < 1 || request.Top > h.Dimension)
            throw new ArgumentOutOfRangeException(nameof(request), $"--top {request.Top} must lie in 1..{h.Dimension} (the parameter count)");
        if (request.Matvecs < 1) throw new ArgumentOutOfRangeException(nameof(request), $"--matvecs {request.Matvecs} must be positive");
        if (request.Spectrum == SpectrumKind.Full && h.Dimension > request.MaxFullParameters)
            throw new ArgumentOutOfRangeException(nameof(request),
                $"--spectrum full assembles the {h.Dimension} x {h.Dimension} Hessian; above {request.MaxFullParameters} parameters use --spectrum density");

        var evaluation = evaluator.Evaluate(layers, Quantities.Trace);
        progress?.Report("Lanczos");
        var extremes = Lanczos.Extremes(h, request.Top, request.Tolerance, seed: request.Seed, cancellation: cancellation, draft: rough);

        double[]? eigenvalues = null;
        SpectralDensity? density = null;
        if (request.Spectrum == SpectrumKind.Full)
        {
            progress?.Report("assembling the Hessian");
            eigenvalues = Tridiagonal.SymmetricEigenvalues(h.Assemble(cancellation));
        }
        else if (request.Spectrum == SpectrumKind.Density)
        {
            progress?.Report("stochastic Lanczos quadrature");
            density = Density(h, request, extremes, cancellation);
        }

        var estimates = new List<EstimatorComparison>();
        foreach (var method in request.Estimators)
            foreach (int budget in Budgets(method, request.Matvecs))
            {
                progress?.Report($"{method.Name()} with {budget} products");
                var estimate = TraceEstimators.Estimate(h, method, budget, request.Seed, cancellation);
                estimates.Add(new EstimatorComparison(estimate, Math.Abs(estimate.Estimate - evaluation.Trace) / Math.Abs(evaluation.Trace)));
            }
        return new HessianReport(evaluation.Trace, evaluation.LayerTraces!, extremes, eigenvalues, density, estimates, h.Matvecs,
            clock.Elapsed.TotalSeconds) { DraftMatvecs = rough?.Matvecs ?? 0 };
    }

    /// <summary>1/8, 1/4, 1/2 and all of the budget, each at least the method's minimum, without repeats.</summary>
    private static IEnumerable<int> Budgets(TraceEstimator method, int matvecs)
    {
        int minimum = method switch { TraceEstimator.Hutchinson => 1, TraceEstimator.HutchPlusPlus => 3, _ => 2 };
        return new[] { matvecs / 8, matvecs / 4, matvecs / 2, matvecs }.Select(b => Math.Max(b, minimum)).Distinct();
    }

    private static SpectralDensity Density(HessianOperator h, HessianRequest request, LanczosResult extremes, CancellationToken cancellation)
    {
        var rng = new Random(request.Seed + 1);
        var quadratures = new List<(double[] Nodes, double[] Weights)>();
        for (int v = 0; v < request.DensityVectors; v++)
            quadratures.Add(Lanczos.Quadrature(h, Lanczos.RandomVector(rng, h.Dimension), request.DensitySteps, cancellation));
        double low = extremes.LambdaMin, high = extremes.LambdaMax;
        double sigma = Math.Max(high - low, 1e-12 * Math.Max(1, Math.Abs(high))) / 100;
        const int points = 400;
        var grid = new double[points];
        var values = new double[points];
        for (int g = 0; g < points; g++)
        {
            double t = low - 5 * sigma + (high - low + 10 * sigma) * g / (points - 1);
            grid[g] = t;
            double sum = 0;
            foreach (var (nodes, weights) in quadratures)
                for (int i = 0; i < nodes.Length; i++)
                {
                    double u = (t - nodes[i]) / sigma;
                    sum += weights[i] * Math.Exp(-0.5 * u * u);
                }
            values[g] = sum / (quadratures.Count * sigma * Math.Sqrt(2 * Math.PI));
        }
        return new SpectralDensity(grid, values, sigma, quadratures);
    }
}
