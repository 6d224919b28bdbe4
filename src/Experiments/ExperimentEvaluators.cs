using Flatness.Solver.Backends;
using Flatness.Solver.Problems;

namespace Flatness.Experiments;

/// <summary>Maps a sweep's backend and precision onto the solver's evaluator factory.</summary>
internal static class ExperimentEvaluators
{
    /// <summary>An evaluator for factorisations of shape <paramref name="dims"/> (the path is chosen by the cost model).</summary>
    public static IEvaluator Create(SensingProblem problem, IReadOnlyList<int> dims, SweepSettings settings) =>
        Evaluators.Create(problem, dims, new EvaluatorOptions { Backend = settings.Backend, Precision = settings.Precision });

    /// <summary>Fails early, with the factory's message, when the backend or precision is unknown or unsupported.</summary>
    public static void Validate(SweepSettings settings)
    {
        var probe = Generators.Gaussian(2, 2, 1, 4, seed: 0);
        using var evaluator = Create(probe, [2, 2, 2], settings);
    }
}
