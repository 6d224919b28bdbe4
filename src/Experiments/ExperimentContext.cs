using Flatness.Solver.Backends;
using Flatness.Solver.Problems;

namespace Flatness.Experiments;

/// <summary>What a running cell may use: the sweep settings and a way to get an evaluator for a problem.</summary>
internal sealed class ExperimentContext
{
    private readonly Func<SensingProblem, IReadOnlyList<int>, IEvaluator> _createEvaluator;

    public ExperimentContext(SweepSettings settings, Func<SensingProblem, IReadOnlyList<int>, IEvaluator>? createEvaluator = null,
        CancellationToken cancellation = default)
    {
        Settings = settings;
        _createEvaluator = createEvaluator ?? ((problem, dims) => ExperimentEvaluators.Create(problem, dims, settings));
        Cancellation = cancellation;
    }

    public SweepSettings Settings { get; }
    public CancellationToken Cancellation { get; }

    /// <summary>
    /// An evaluator for <paramref name="problem"/> and factorisations of shape <paramref name="dims"/> = [d_0..d_L], on the
    /// sweep's backend and precision (caller disposes).
    /// </summary>
    public IEvaluator CreateEvaluator(SensingProblem problem, IReadOnlyList<int> dims) => _createEvaluator(problem, dims);
}
