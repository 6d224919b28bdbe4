using Flatness.Kernels.Tensors;

namespace Flatness.Solver.Backends;

/// <summary>How far one evaluator's answer is from another's: relative errors, each normalised by the reference.</summary>
internal sealed record EvaluationDifference(double Loss, double Trace, double LossGradient, double TraceGradient)
{
    /// <summary>The worst of the four.</summary>
    public double Max => new[] { Loss, Trace, LossGradient, TraceGradient }.Max();

    /// <summary>
    /// |loss - loss_ref| / |loss_ref| (likewise the trace); for gradients the largest entry-wise difference over all
    /// layers divided by the largest reference entry (a gradient that is zero everywhere compares absolutely).
    /// </summary>
    public static EvaluationDifference Between(Evaluation reference, Evaluation other) => new(
        Scalar(reference.Loss, other.Loss),
        Scalar(reference.Trace, other.Trace),
        Gradient(reference.LossGradient, other.LossGradient),
        Gradient(reference.TraceGradient, other.TraceGradient));

    private static double Scalar(double reference, double other) =>
        double.IsNaN(reference) && double.IsNaN(other) ? 0 : Math.Abs(other - reference) / Math.Max(Math.Abs(reference), double.Epsilon);

    private static double Gradient(Matrix<double>[]? reference, Matrix<double>[]? other)
    {
        if (reference is null && other is null) return 0;
        if (reference is null || other is null || reference.Length != other.Length) return double.PositiveInfinity;
        double scale = 0, worst = 0;
        for (int j = 0; j < reference.Length; j++)
        {
            if (!reference[j].SameShape(other[j])) return double.PositiveInfinity;
            for (int t = 0; t < reference[j].Data.Length; t++)
            {
                scale = Math.Max(scale, Math.Abs(reference[j].Data[t]));
                worst = Math.Max(worst, Math.Abs(other[j].Data[t] - reference[j].Data[t]));
            }
        }
        return scale == 0 ? worst : worst / scale;
    }
}
