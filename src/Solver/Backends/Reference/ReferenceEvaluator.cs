using Flatness.Kernels.Reference;
using Flatness.Kernels.Tensors;
using Flatness.Solver.Problems;

namespace Flatness.Solver.Backends;

/// <summary>
/// The float64 reference backend: SPEC sections 1 and 2 written as plainly as possible, through the measurement
/// operators' own forward, adjoint, S and S*. Every other evaluator is checked against this one.
/// </summary>
public sealed class ReferenceEvaluator(SensingProblem problem) : IEvaluator
{
    public BackendKind Backend => BackendKind.Reference;
    public EvaluationPath Path => EvaluationPath.Reference;
    public Precision Precision => Precision.F64;
    public SensingProblem Problem { get; } = problem;

    public Evaluation Evaluate(IReadOnlyList<Matrix<double>> layers, Quantities what)
    {
        LayerChecks.RequireMatches(layers, Problem);
        int depth = layers.Count;
        var chains = new ReferenceChains(layers);
        var m = Problem.Measurements;

        double loss = double.NaN;
        Matrix<double>[]? lossGradient = null;
        if ((what & (Quantities.Loss | Quantities.LossGradient)) != 0)
        {
            var residual = new double[m.Count];
            m.Forward(chains.EndToEnd, residual);
            loss = 0;
            for (int i = 0; i < residual.Length; i++)
            {
                residual[i] -= Problem.Labels[i];
                loss += residual[i] * residual[i];
            }
            loss /= m.Count;
            if ((what & Quantities.LossGradient) != 0)
            {
                // dL/dW_j = P_j^T Z Q_j^T with Z = (2/n) sum_i r_i A_i.
                for (int i = 0; i < residual.Length; i++) residual[i] *= 2.0 / m.Count;
                var z = m.Adjoint(residual);
                lossGradient = new Matrix<double>[depth];
                for (int j = 1; j <= depth; j++)
                    lossGradient[j - 1] = ReferenceBlas.Product(chains.Suffix(j).Transpose(), z, chains.Prefix(j).Transpose());
            }
        }

        double trace = double.NaN;
        double[]? layerTraces = null;
        Matrix<double>[]? traceGradient = null;
        if ((what & (Quantities.Trace | Quantities.TraceGradient)) != 0)
        {
            // tr H = 2 sum_j <G_j, S(H_j)>, G_j = P_j P_j^T, H_j = Q_j^T Q_j.
            var sOfH = new Matrix<double>[depth];
            layerTraces = new double[depth];
            for (int j = 1; j <= depth; j++)
            {
                var p = chains.Suffix(j);
                var q = chains.Prefix(j);
                sOfH[j - 1] = m.S(ReferenceBlas.Multiply(q, q, transposeA: true));
                layerTraces[j - 1] = 2 * ReferenceBlas.Dot(ReferenceBlas.Multiply(p, p, transposeB: true), sOfH[j - 1]);
            }
            trace = layerTraces.Sum();
            if ((what & Quantities.TraceGradient) != 0)
                traceGradient = TraceGradient(layers, chains, sOfH, m);
        }

        return new Evaluation { Loss = loss, Trace = trace, LayerTraces = layerTraces, LossGradient = lossGradient, TraceGradient = traceGradient };
    }

    /// <summary>
    /// Chain rule through the partial products. With X_j = 4 S(H_j) P_j (the derivative of term j in P_j) and
    /// Y_j = 4 Q_j S*(G_j) (in Q_j), the gradient in W_k is P_k^T Xbar_k + Ybar_k Q_k^T, where
    /// Xbar_k = sum_{j&lt;k} X_j W_{k-1:j+1}^T and Ybar_k = sum_{j&gt;k} W_{j-1:k+1}^T Y_j obey
    /// Xbar_1 = 0, Xbar_{k+1} = Xbar_k W_k^T + X_k and Ybar_L = 0, Ybar_{k-1} = W_k^T Ybar_k + Y_k: O(L) products in all.
    /// </summary>
    private static Matrix<double>[] TraceGradient(IReadOnlyList<Matrix<double>> layers, ReferenceChains chains,
        Matrix<double>[] sOfH, Measurements m)
    {
        int depth = layers.Count;
        int d0 = layers[0].Cols, dl = layers[depth - 1].Rows;
        var x = new Matrix<double>[depth];
        var y = new Matrix<double>[depth];
        for (int j = 1; j <= depth; j++)
        {
            var p = chains.Suffix(j);
            var q = chains.Prefix(j);
            x[j - 1] = ReferenceBlas.Scale(ReferenceBlas.Multiply(sOfH[j - 1], p), 4);
            var sStarOfG = m.SAdjoint(ReferenceBlas.Multiply(p, p, transposeB: true));
            y[j - 1] = ReferenceBlas.Scale(ReferenceBlas.Multiply(q, sStarOfG), 4);
        }

        var xBar = new Matrix<double>[depth];   // Xbar_k at index k - 1, d_L x d_{k-1}
        xBar[0] = new Matrix<double>(dl, d0);
        for (int k = 1; k < depth; k++)
            xBar[k] = ReferenceBlas.Add(ReferenceBlas.Multiply(xBar[k - 1], layers[k - 1], transposeB: true), x[k - 1]);
        var yBar = new Matrix<double>[depth];   // Ybar_k at index k - 1, d_k x d_0
        yBar[depth - 1] = new Matrix<double>(dl, d0);
        for (int k = depth - 1; k >= 1; k--)
            yBar[k - 1] = ReferenceBlas.Add(ReferenceBlas.Multiply(layers[k], yBar[k], transposeA: true), y[k]);

        var gradient = new Matrix<double>[depth];
        for (int k = 1; k <= depth; k++)
            gradient[k - 1] = ReferenceBlas.Add(
                ReferenceBlas.Multiply(chains.Suffix(k), xBar[k - 1], transposeA: true),
                ReferenceBlas.Multiply(yBar[k - 1], chains.Prefix(k), transposeB: true));
        return gradient;
    }

    public void Dispose() { }
}
