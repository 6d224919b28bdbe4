using Flatness.Kernels.Cpu;
using Flatness.Kernels.Linalg;
using Flatness.Kernels.Tensors;
using Flatness.Solver.Backends;
using Flatness.Solver.Model;
using Flatness.Solver.Problems;
using Flatness.Solver.Theory;

namespace Flatness.Solver.Metrics;

/// <summary>
/// Everything worth reporting about one point W of a problem: loss, exact trace of the Hessian, the objective
/// loss + lambda tr H, the idealised flatness G(W) and the bound F(E) at this depth (docs/MATH.md section 4), norms of the
/// end-to-end matrix E = W_L ... W_1, and, when the ground truth is known, the relative error.
/// </summary>
public sealed record PointMetrics
{
    /// <summary>L(W) = (1/n) sum_i (&lt;A_i, E&gt; - b_i)^2.</summary>
    public required double Loss { get; init; }
    /// <summary>tr H(W), exact.</summary>
    public required double HessianTrace { get; init; }
    /// <summary>The weight lambda of the trace in <see cref="Objective"/> (0 for the plain loss).</summary>
    public required double Lambda { get; init; }
    /// <summary>Loss + Lambda * HessianTrace.</summary>
    public required double Objective { get; init; }
    /// <summary>G(W) = sum_j ||P_j||_F^2 ||Q_j||_F^2.</summary>
    public required double FlatnessG { get; init; }
    /// <summary>F(E) = L (d_0 d_L)^{1/L} ||E||_*^{2(L-1)/L}: the least G over factorisations of the current E.</summary>
    public required double BoundF { get; init; }
    /// <summary>tr H / (2 G); within [1 - delta, 1 + delta] under rank-one RIP; NaN when G = 0.</summary>
    public required double TraceOver2G { get; init; }
    /// <summary>||E||_*, the sum of the singular values of the end-to-end matrix.</summary>
    public required double NuclearNorm { get; init; }
    /// <summary>||E||_F.</summary>
    public required double FrobeniusNorm { get; init; }
    /// <summary>||E||_2, the largest singular value.</summary>
    public required double SpectralNorm { get; init; }
    /// <summary>The effective rank of E (docs/MATH.md; see <c>MatrixNorms.EffectiveRank</c>).</summary>
    public required double EffectiveRank { get; init; }
    /// <summary>||E - M*||_F^2 / ||M*||_F^2, or null without ground truth.</summary>
    public double? RelativeError { get; init; }

    /// <summary>L, the number of layers.</summary>
    public required int Depth { get; init; }
    /// <summary>[d_0, ..., d_L].</summary>
    public required int[] Dims { get; init; }
    /// <summary>n, the number of measurements.</summary>
    public required int Count { get; init; }
    /// <summary>Dense, completion or rank-one measurements.</summary>
    public required MeasurementKind Measurement { get; init; }
    /// <summary>The backend that computed the metrics.</summary>
    public required BackendKind Backend { get; init; }
    /// <summary>The evaluation path that computed them.</summary>
    public required EvaluationPath Path { get; init; }
    /// <summary>The element type of that computation.</summary>
    public required Precision Precision { get; init; }

    /// <summary>E = W_L ... W_1.</summary>
    public required Matrix<double> EndToEnd { get; init; }
    /// <summary>dL/dW_j (index 0 is W_1) when gradients were asked for.</summary>
    public Matrix<double>[]? LossGradient { get; init; }
    /// <summary>d tr H / dW_j (index 0 is W_1) when gradients were asked for.</summary>
    public Matrix<double>[]? TraceGradient { get; init; }

    /// <summary>
    /// The quantities that overflowed float64 at this point (JSON names: "loss", "hessian_trace", ...; gradients as
    /// "grad_loss_W2"), empty when every number is finite. Reports must say so rather than print nulls silently.
    /// </summary>
    public IReadOnlyList<string> NonFinite
    {
        get
        {
            var names = new List<string>();
            void Check(string name, double value) { if (!double.IsFinite(value)) names.Add(name); }
            Check("loss", Loss);
            Check("hessian_trace", HessianTrace);
            Check("objective", Objective);
            Check("flatness_g", FlatnessG);
            Check("bound_f", BoundF);
            if (!EndToEnd.Data.All(double.IsFinite)) names.Add("end-to-end matrix E");
            Check("nuclear_norm", NuclearNorm);
            Check("frobenius_norm", FrobeniusNorm);
            Check("spectral_norm", SpectralNorm);
            if (RelativeError is double r) Check("relative_error", r);
            foreach (var (prefix, gradient) in new[] { ("grad_loss_W", LossGradient), ("grad_trace_W", TraceGradient) })
                if (gradient is not null)
                    for (int j = 0; j < gradient.Length; j++)
                        if (!gradient[j].Data.All(double.IsFinite)) names.Add($"{prefix}{j + 1}");
            return names;
        }
    }

    /// <summary>
    /// Evaluates the point with <paramref name="evaluator"/> (which must hold <paramref name="problem"/>) and computes
    /// the metrics. With <paramref name="gradients"/> the loss and trace gradients are returned too.
    /// </summary>
    public static PointMetrics Compute(SensingProblem problem, Factorization layers, IEvaluator evaluator, double lambda, bool gradients = false)
    {
        ArgumentNullException.ThrowIfNull(problem);
        ArgumentNullException.ThrowIfNull(layers);
        ArgumentNullException.ThrowIfNull(evaluator);
        if (!ReferenceEquals(evaluator.Problem, problem))
            throw new ArgumentException("the evaluator holds a different problem", nameof(evaluator));
        if (!double.IsFinite(lambda))
            throw new ArgumentOutOfRangeException(nameof(lambda), $"lambda must be finite, got {lambda}");

        var evaluation = evaluator.Evaluate(layers.Layers, gradients ? Quantities.All : Quantities.Values);
        var e = EndToEndMatrix(layers);
        double g = FlatnessTheory.G(layers.Layers);
        // One SVD for every norm, through the narrowest hidden layer when the chain is low-rank; none when E overflowed.
        bool finite = e.Data.All(double.IsFinite);
        var sigma = finite ? ChainSingularValues.Of(layers.Layers) : [double.NaN];
        double nuclear = sigma.Sum();

        double? relativeError = null;
        if (problem.GroundTruth is not null && !finite) relativeError = double.NaN;
        else if (problem.GroundTruth is { } mStar)
        {
            var diff = e.Clone();
            for (int t = 0; t < diff.Data.Length; t++) diff.Data[t] -= mStar.Data[t];
            double num = MatrixNorms.Frobenius(diff), den = MatrixNorms.Frobenius(mStar);
            relativeError = num * num / (den * den);
        }

        return new PointMetrics
        {
            Loss = evaluation.Loss,
            HessianTrace = evaluation.Trace,
            Lambda = lambda,
            Objective = evaluation.Objective(lambda),
            FlatnessG = g,
            BoundF = FlatnessTheory.F(nuclear, e.Rows, e.Cols, layers.Depth),
            TraceOver2G = g > 0 ? evaluation.Trace / (2 * g) : double.NaN,
            NuclearNorm = nuclear,
            FrobeniusNorm = finite ? MatrixNorms.Frobenius(e) : double.NaN,
            SpectralNorm = sigma[0],
            EffectiveRank = finite ? MatrixNorms.EffectiveRank(sigma) : double.NaN,
            RelativeError = relativeError,
            Depth = layers.Depth,
            Dims = (int[])layers.Dims.Clone(),
            Count = problem.Count,
            Measurement = problem.Measurements.Kind,
            Backend = evaluator.Backend,
            Path = evaluator.Path,
            Precision = evaluator.Precision,
            EndToEnd = e,
            LossGradient = evaluation.LossGradient,
            TraceGradient = evaluation.TraceGradient,
        };
    }

    /// <summary>E = W_L ... W_1, multiplied from the input side.</summary>
    private static Matrix<double> EndToEndMatrix(Factorization layers)
    {
        var e = layers.Layers[0];
        for (int j = 1; j < layers.Depth; j++) e = Gemm.Multiply(layers.Layers[j], e);
        return e == layers.Layers[0] ? e.Clone() : e;
    }
}
