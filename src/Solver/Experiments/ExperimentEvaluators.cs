using Flatness.Solver.Backends;
using Flatness.Solver.Problems;

namespace Flatness.Solver.Experiments;

/// <summary>Maps a sweep's backend and precision onto an evaluator.</summary>
public static class ExperimentEvaluators
{
    public static IEvaluator Create(SensingProblem problem, SweepSettings settings)
    {
        if (settings.Backend is "auto" or "reference")
        {
            if (settings.Precision != "f64")
                throw new NotSupportedException($"backend '{settings.Backend}' evaluates in f64 only, not {settings.Precision}");
            return new ReferenceEvaluator(problem);
        }
        throw new NotSupportedException($"unknown backend '{settings.Backend}' (available: auto, reference)");
    }
}
