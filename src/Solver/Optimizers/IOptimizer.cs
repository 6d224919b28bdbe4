using Flatness.Solver.Backends;
using Flatness.Solver.Model;

namespace Flatness.Solver.Optimizers;

/// <summary>An optimiser: talks only to an evaluator, never to a device or a console.</summary>
public interface IOptimizer
{
    /// <summary>"gd", "flat", "penalty", "label-noise", "sam", "one-sam", "weight-decay".</summary>
    string Method { get; }
    /// <summary>Runs from <paramref name="start"/> (not modified) on the evaluator's problem.</summary>
    OptimizerResult Run(IEvaluator evaluator, Factorization start);
}
