using System.Diagnostics;
using Flatness.Kernels.Tensors;
using Flatness.Solver.Backends;
using Flatness.Solver.Curvature;
using Flatness.Solver.Model;
using Flatness.Solver.Problems;

namespace Flatness.Solver.Benchmarking;

/// <summary>The time to the sharpness lambda_max of one seeded Gaussian problem, by Lanczos on the exact product.</summary>
/// <param name="Backend">what ran.</param>
/// <param name="Path">its path.</param>
/// <param name="Dim">d_0 = d_L = every hidden width.</param>
/// <param name="Depth">L.</param>
/// <param name="Count">n.</param>
/// <param name="Parameters">the Hessian's size.</param>
/// <param name="LambdaMax">the largest eigenvalue found.</param>
/// <param name="Residual">||H y - lambda y|| of its Ritz pair.</param>
/// <param name="Tolerance">the error bound asked for, relative to lambda_max (<see cref="Lanczos.Extremes"/>).</param>
/// <param name="Matvecs">Hessian-vector products per run.</param>
/// <param name="SecondsMedian">median seconds per run (the evaluator built once, outside the timing).</param>
/// <param name="SecondsMin">fastest run.</param>
/// <param name="SetupSeconds">building the evaluator (the Gram matrix on that path), once.</param>
/// <param name="HvpSeconds">median seconds per Hessian-vector product.</param>
/// <param name="BytesPerProduct">the cost model's bytes per evaluation of the chosen path (on the CPU Gram path K, which
/// every product reads once; on other paths an estimate of what a product reads).</param>
/// <param name="StreamSeconds">seconds this machine takes to read <paramref name="BytesPerProduct"/> now (<see cref="ObjectiveBenchmark.StreamSeconds"/>):
/// <paramref name="Matvecs"/> times it bounds a run from below.</param>
/// <param name="Draft">the precision of the draft operator that did the Krylov iteration, or null without one.</param>
/// <param name="DraftMatvecs">products with the draft operator per run (0 without one).</param>
/// <param name="DraftHvpSeconds">median seconds per draft product (0 without one).</param>
/// <param name="DraftStreamSeconds">seconds this machine takes to read what a draft product reads (0 without one).</param>
internal sealed record HessianBenchmarkResult(BackendKind Backend, EvaluationPath Path, int Dim, int Depth, int Count, int Parameters,
    double LambdaMax, double Residual, double Tolerance, long Matvecs, double SecondsMedian, double SecondsMin, double SetupSeconds,
    double HvpSeconds, double BytesPerProduct, double StreamSeconds, Precision? Draft, long DraftMatvecs, double DraftHvpSeconds,
    double DraftStreamSeconds)
{
    /// <summary>The least a run with these products can take on this machine: every product's bytes read once.</summary>
    public double FloorSeconds => Matvecs * StreamSeconds + DraftMatvecs * DraftStreamSeconds;
}

/// <summary>
/// Times lambda_max on the problem of <see cref="ObjectiveBenchmark"/> (Gaussian sensing, d_0 = d_L = every width = D,
/// seeded) at Gaussian layers: the point and problem can be saved so that another tool computes the same thing.
/// </summary>
internal static class HessianBenchmark
{
    /// <summary>The benchmark's problem and point (<see cref="ObjectiveBenchmark.Point"/>).</summary>
    public static (SensingProblem Problem, Matrix<double>[] Layers) Point(int dim, int depth, int count, int seed = 0) =>
        ObjectiveBenchmark.Point(dim, depth, count, seed);

    /// <inheritdoc/>
    /// <param name="draft">with a precision, the Krylov iteration runs on a second evaluator in it and float64 certifies
    /// its Ritz pairs (<see cref="Lanczos.Extremes"/>).</param>
    public static HessianBenchmarkResult Run(int dim, int depth, int count, double tolerance = 1e-10, int repeats = 7, int seed = 0,
        EvaluatorOptions? options = null, Precision? draft = null)
    {
        if (repeats < 1) throw new ArgumentOutOfRangeException(nameof(repeats), repeats, "--repeats must be at least 1");
        var (problem, layers) = Point(dim, depth, count, seed);
        var dims = Initializers.Dims(dim, dim, depth);
        options ??= new EvaluatorOptions { Backend = BackendKind.Cpu };
        var choice = EvaluatorSelector.Choose(problem, dims, options);
        var clock = Stopwatch.StartNew();
        using var evaluator = Evaluators.Create(problem, dims, choice, options.Warn, options.Threads, options.Cancellation);
        double setup = clock.Elapsed.TotalSeconds;
        var h = new HessianOperator(evaluator, layers);
        Choice? draftChoice = draft is { } precision
            ? EvaluatorSelector.Choose(problem, dims, options with { Backend = evaluator.Backend, Path = evaluator.Path, Precision = precision })
            : null;
        using var draftEvaluator = draftChoice is null ? null : Evaluators.Create(problem, dims, draftChoice, options.Warn, options.Threads, options.Cancellation);
        var rough = draftEvaluator is null ? null : new HessianOperator(draftEvaluator, layers);
        LanczosResult? result = null;
        var run = Timing.Measure(() => result = Lanczos.Extremes(h, 1, tolerance, seed: seed, lowest: false, draft: rough), repeats,
            warmupSeconds: 1.0, minSampleSeconds: 0);
        var v = Lanczos.RandomVector(new Random(seed), h.Dimension);
        var hv = new double[h.Dimension];
        var product = Timing.Measure(() => h.Apply(v, hv), repeats, warmupSeconds: 0.2);
        var draftProduct = rough is null ? null : Timing.Measure(() => rough.Apply(v, hv), repeats, warmupSeconds: 0.2);
        double bytes = choice.Chosen.Cost.StepBytes, draftBytes = draftChoice?.Chosen.Cost.StepBytes ?? 0;
        return new HessianBenchmarkResult(evaluator.Backend, evaluator.Path, dim, depth, count, h.Dimension, result!.LambdaMax, result.TopResiduals[0],
            tolerance, result.Matvecs, run.MedianSeconds, run.MinSeconds, setup, product.MedianSeconds, bytes, ObjectiveBenchmark.StreamSeconds(bytes, repeats),
            draftEvaluator?.Precision, result.DraftMatvecs, draftProduct?.MedianSeconds ?? 0,
            draftBytes > 0 ? ObjectiveBenchmark.StreamSeconds(draftBytes, repeats) : 0);
    }
}
