using Flatness.Solver.Backends;
using Flatness.Solver.Model;

namespace Flatness.Solver.Optimizers;

/// <summary><c>gd</c>: plain gradient descent on the loss L(W).</summary>
public sealed class GradientDescent(GradientDescentOptions options) : IOptimizer
{
    public string Method => "gd";
    public GradientDescentOptions Options { get; } = options;

    public OptimizerResult Run(IEvaluator evaluator, Factorization start) =>
        DescentLoop.Run(Method, new Objective(evaluator, 1, 0), start, Options, Options.LearningRate, Options.Backtracking,
            samRadius: 0, mu: double.NaN);
}

/// <summary><c>flat</c>: gradient descent on L(W) + lambda tr H(W), with the exact gradient of the trace.</summary>
public sealed class FlatGradientDescent(FlatOptions options) : IOptimizer
{
    public string Method => "flat";
    public FlatOptions Options { get; } = options;

    public OptimizerResult Run(IEvaluator evaluator, Factorization start) =>
        DescentLoop.Run(Method, new Objective(evaluator, 1, Options.Lambda), start, Options, Options.LearningRate,
            Options.Backtracking, samRadius: 0, mu: double.NaN);
}

/// <summary><c>sam</c>: full-batch sharpness-aware minimisation of the loss with radius rho.</summary>
public sealed class Sam(SamOptions options) : IOptimizer
{
    public string Method => "sam";
    public SamOptions Options { get; } = options;

    public OptimizerResult Run(IEvaluator evaluator, Factorization start) =>
        DescentLoop.Run(Method, new Objective(evaluator, 1, 0), start, Options, Options.LearningRate, backtracking: false,
            samRadius: Options.Rho, mu: double.NaN);
}
