using Flatness.Kernels.Tensors;
using Flatness.Solver.Problems;

namespace Flatness.Solver.Backends;

/// <summary>What an evaluation should compute; ask only for what you need.</summary>
[Flags]
public enum Quantities
{
    /// <summary>The loss L(W).</summary>
    Loss = 1,
    /// <summary>The exact trace of the loss Hessian and its per-layer parts.</summary>
    Trace = 2,
    /// <summary>dL/dW_j for every layer.</summary>
    LossGradient = 4,
    /// <summary>d tr H / dW_j for every layer.</summary>
    TraceGradient = 8,
    /// <summary>Loss and trace.</summary>
    Values = Loss | Trace,
    /// <summary>Loss, trace and both gradients.</summary>
    All = Loss | Trace | LossGradient | TraceGradient,
}

/// <summary>The answer of one evaluation. Unrequested parts are NaN or null.</summary>
public sealed class Evaluation
{
    /// <summary>L(W) = (1/n) sum_i (f_i - b_i)^2.</summary>
    public double Loss { get; init; } = double.NaN;
    /// <summary>tr H(W), exact (docs/MATH.md section 2).</summary>
    public double Trace { get; init; } = double.NaN;
    /// <summary>The trace of each layer's Hessian block, 2 &lt;G_j, S(H_j)&gt; (index 0 is W_1); they sum to <see cref="Trace"/>.</summary>
    public double[]? LayerTraces { get; init; }
    /// <summary>dL/dW_j, index 0 is W_1.</summary>
    public Matrix<double>[]? LossGradient { get; init; }
    /// <summary>d tr H / dW_j, index 0 is W_1.</summary>
    public Matrix<double>[]? TraceGradient { get; init; }

    /// <summary>L + lambda tr H (both must have been asked for).</summary>
    public double Objective(double lambda) => Loss + lambda * Trace;
}

/// <summary>
/// Holds one problem resident on its device and answers, per step, loss, trace of the Hessian and their gradients.
/// Layers cross the seam in float64 whatever the evaluator's internal precision.
/// </summary>
public interface IEvaluator : IDisposable
{
    /// <summary>What runs: <see cref="BackendKind.Reference"/>, <see cref="BackendKind.Cpu"/> or the ILGPU device kind.</summary>
    BackendKind Backend { get; }
    /// <summary>How S, S* and the loss are evaluated.</summary>
    EvaluationPath Path { get; }
    /// <summary>The element type of the work.</summary>
    Precision Precision { get; }
    /// <summary>The problem the evaluator holds.</summary>
    SensingProblem Problem { get; }

    /// <summary>Loss, trace of the Hessian and their gradients at <paramref name="layers"/> (index 0 is W_1), as asked.</summary>
    Evaluation Evaluate(IReadOnlyList<Matrix<double>> layers, Quantities what);

    /// <summary>
    /// The exact Hessian-vector product H V of the loss at <paramref name="layers"/> in direction
    /// <paramref name="direction"/> (V_1..V_L, the layers' shapes), Gauss-Newton and residual parts (docs/MATH.md section 6).
    /// </summary>
    Matrix<double>[] HessianVectorProduct(IReadOnlyList<Matrix<double>> layers, IReadOnlyList<Matrix<double>> direction);

    /// <summary>
    /// H V for each of <paramref name="directions"/> at one point: the products of
    /// <see cref="HessianVectorProduct"/> (up to rounding), which an evaluator may compute together (the CPU Gram path
    /// reads K from memory once for a block of up to 16).
    /// </summary>
    Matrix<double>[][] HessianVectorProducts(IReadOnlyList<Matrix<double>> layers, IReadOnlyList<IReadOnlyList<Matrix<double>>> directions) =>
        directions.Select(direction => HessianVectorProduct(layers, direction)).ToArray();
}
