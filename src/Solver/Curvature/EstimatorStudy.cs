using Flatness.Solver.Backends;
using Flatness.Solver.Model;
using Flatness.Solver.Problems;

namespace Flatness.Solver.Curvature;

/// <summary>The mean true relative error of one estimator at one budget on one problem, over seeds.</summary>
internal sealed record EstimatorErrorPoint(string Problem, TraceEstimator Method, int Matvecs, double MeanRelativeError, double MeanErrorEstimate);

/// <summary>
/// How the randomised trace estimators converge, measured against the exact trace: Hutchinson, Hutch++ and XTrace on a
/// few seeded problems (dense, completion, rank-one; Gaussian layers), at budgets from 6 to 384 products.
/// </summary>
internal static class EstimatorStudy
{
    /// <summary>The matvec budgets of the study.</summary>
    public static IReadOnlyList<int> Budgets { get; } = [6, 12, 24, 48, 96, 192, 384];

    /// <summary>The problems of the study: 8 x 8 matrices at depth 3 (192 parameters), n = 120.</summary>
    public static IReadOnlyList<(string Name, SensingProblem Problem)> Problems() =>
    [
        ("dense", Generators.Gaussian(8, 8, 2, 120, seed: 1)),
        ("completion", Generators.Completion(8, 8, 2, 120, seed: 2)),
        ("rank-one", Generators.RankOne(8, 8, 2, 120, seed: 3)),
    ];

    /// <inheritdoc/>
    public static IReadOnlyList<EstimatorErrorPoint> Run(int seeds = 20, IProgress<string>? progress = null, CancellationToken cancellation = default)
    {
        if (seeds < 1) throw new ArgumentOutOfRangeException(nameof(seeds), $"--seeds must be at least 1, got {seeds}");
        var points = new List<EstimatorErrorPoint>();
        foreach (var (name, problem) in Problems())
        {
            var dims = Initializers.Dims(8, 8, 3);
            using var evaluator = Evaluators.Create(problem, dims, new EvaluatorOptions { Backend = BackendKind.Cpu });
            var layers = Initializers.Gaussian(dims, 1.0, seed: 7).Layers;
            var h = new HessianOperator(evaluator, layers);
            double exact = evaluator.Evaluate(layers, Quantities.Trace).Trace;
            foreach (TraceEstimator method in Enum.GetValues<TraceEstimator>())
                foreach (int budget in Budgets)
                {
                    progress?.Report($"{name}: {method.Name()} at {budget} products");
                    var estimates = Enumerable.Range(0, seeds).Select(seed => TraceEstimators.Estimate(h, method, budget, seed, cancellation)).ToArray();
                    points.Add(new EstimatorErrorPoint(name, method, budget,
                        estimates.Average(e => Math.Abs(e.Estimate - exact) / Math.Abs(exact)),
                        estimates.Average(e => (e.ErrorEstimate ?? double.NaN) / Math.Abs(exact))));
                }
        }
        return points;
    }
}
