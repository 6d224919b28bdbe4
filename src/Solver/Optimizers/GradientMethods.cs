using Flatness.Solver.Backends;
using Flatness.Solver.Model;

namespace Flatness.Solver.Optimizers;

/// <summary><c>gd</c>: plain gradient descent on the loss L(W).</summary>
public sealed class GradientDescent(GradientDescentOptions options) : IOptimizer
{
    /// <inheritdoc/>
    public string Method => "gd";
    /// <summary>The options this optimiser runs with.</summary>
    public GradientDescentOptions Options { get; } = options;

    /// <inheritdoc/>
    public OptimizerResult Run(IEvaluator evaluator, Factorization start) =>
        DescentLoop.Run(Method, new Objective(evaluator, 1, 0), start, Options, Options.LearningRate, Options.Backtracking,
            samRadius: 0, mu: double.NaN);
}

/// <summary><c>flat</c>: gradient descent on L(W) + lambda tr H(W), with the exact gradient of the trace.</summary>
public sealed class FlatGradientDescent(FlatOptions options) : IOptimizer
{
    /// <inheritdoc/>
    public string Method => "flat";
    /// <summary>The options this optimiser runs with.</summary>
    public FlatOptions Options { get; } = options;

    /// <inheritdoc/>
    public OptimizerResult Run(IEvaluator evaluator, Factorization start) =>
        DescentLoop.Run(Method, new Objective(evaluator, 1, Options.Lambda), start, Options, Options.LearningRate,
            Options.Backtracking, samRadius: 0, mu: double.NaN);
}

/// <summary><c>sam</c>: full-batch sharpness-aware minimisation of the loss with radius rho.</summary>
public sealed class Sam(SamOptions options) : IOptimizer
{
    /// <inheritdoc/>
    public string Method => "sam";
    /// <summary>The options this optimiser runs with.</summary>
    public SamOptions Options { get; } = options;

    /// <inheritdoc/>
    public OptimizerResult Run(IEvaluator evaluator, Factorization start) =>
        DescentLoop.Run(Method, new Objective(evaluator, 1, 0), start, Options, Options.LearningRate, backtracking: false,
            samRadius: Options.Rho, mu: double.NaN);
}
