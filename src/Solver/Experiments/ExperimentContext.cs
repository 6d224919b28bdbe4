using Flatness.Solver.Backends;
using Flatness.Solver.Problems;

namespace Flatness.Solver.Experiments;

/// <summary>What a running cell may use: the sweep settings and a way to get an evaluator for a problem.</summary>
public sealed class ExperimentContext
{
    private readonly Func<SensingProblem, IEvaluator> _createEvaluator;

    public ExperimentContext(SweepSettings settings, Func<SensingProblem, IEvaluator>? createEvaluator = null,
        CancellationToken cancellation = default)
    {
        Settings = settings;
        _createEvaluator = createEvaluator ?? (problem => ExperimentEvaluators.Create(problem, settings));
        Cancellation = cancellation;
    }

    public SweepSettings Settings { get; }
    public CancellationToken Cancellation { get; }

    /// <summary>An evaluator for <paramref name="problem"/> on the sweep's backend and precision (caller disposes).</summary>
    public IEvaluator CreateEvaluator(SensingProblem problem) => _createEvaluator(problem);
}
