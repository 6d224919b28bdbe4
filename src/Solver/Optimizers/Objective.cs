using Flatness.Kernels.Tensors;
using Flatness.Solver.Backends;

namespace Flatness.Solver.Optimizers;

/// <summary>
/// A weighted objective  a L(W) + b tr H(W) + c sum_j ||W_j||_F^2  and its gradient, from one evaluator call.
/// The loss is always computed (it is cheap and every run monitors it).
/// </summary>
internal sealed class Objective
{
    /// <summary>a L + b tr H + c sum ||W_j||_F^2 with a = lossWeight, b = traceWeight, c = decayWeight.</summary>
    public Objective(IEvaluator evaluator, double lossWeight, double traceWeight, double decayWeight = 0.0)
    {
        ArgumentNullException.ThrowIfNull(evaluator);
        Evaluator = evaluator;
        LossWeight = lossWeight;
        TraceWeight = traceWeight;
        DecayWeight = decayWeight;
    }

    /// <summary>The evaluator the objective calls.</summary>
    public IEvaluator Evaluator { get; }
    /// <summary>a, the weight of the loss.</summary>
    public double LossWeight { get; }
    /// <summary>b, the weight of tr H.</summary>
    public double TraceWeight { get; }
    /// <summary>c, the weight of sum ||W_j||_F^2.</summary>
    public double DecayWeight { get; }
    /// <summary>Evaluator calls made so far.</summary>
    public long Evaluations { get; private set; }

    /// <summary>The objective at one point.</summary>
    /// <param name="Value">a L + b tr H + c sum ||W_j||_F^2.</param>
    /// <param name="Evaluation">the evaluator's answer there.</param>
    /// <param name="Gradient">the objective's gradient per layer, when asked.</param>
    public readonly record struct Point(double Value, Evaluation Evaluation, Matrix<double>[]? Gradient);

    /// <summary>The value at <paramref name="layers"/> and, when asked, the gradient (null otherwise).</summary>
    public Point Evaluate(IReadOnlyList<Matrix<double>> layers, bool gradient = true)
    {
        var what = Quantities.Loss;
        if (gradient && LossWeight != 0) what |= Quantities.LossGradient;
        if (TraceWeight != 0) what |= gradient ? Quantities.Trace | Quantities.TraceGradient : Quantities.Trace;
        Evaluations++;
        var e = Evaluator.Evaluate(layers, what);
        double value = LossWeight * e.Loss;
        if (TraceWeight != 0) value += TraceWeight * e.Trace;
        if (DecayWeight != 0) value += DecayWeight * LayerMath.NormSquared(layers);
        if (!gradient) return new Point(value, e, null);

        var g = LayerMath.ZerosLike(layers);
        if (LossWeight != 0) LayerMath.Axpy(LossWeight, e.LossGradient!, g);
        if (TraceWeight != 0) LayerMath.Axpy(TraceWeight, e.TraceGradient!, g);
        if (DecayWeight != 0) LayerMath.Axpy(2 * DecayWeight, layers, g);
        return new Point(value, e, g);
    }
}
