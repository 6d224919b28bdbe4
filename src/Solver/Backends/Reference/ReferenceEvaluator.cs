using Flatness.Kernels.Reference;
using Flatness.Kernels.Tensors;
using Flatness.Solver.Problems;

namespace Flatness.Solver.Backends;

/// <summary>
/// The float64 reference backend: docs/MATH.md sections 1 and 2 written as plainly as possible, through the measurement
/// operators' own forward, adjoint, S and S*. Every other evaluator is checked against this one.
/// </summary>
public sealed class ReferenceEvaluator(SensingProblem problem) : IEvaluator
{
    /// <inheritdoc/>
    public BackendKind Backend => BackendKind.Reference;
    /// <inheritdoc/>
    public EvaluationPath Path => EvaluationPath.Reference;
    /// <inheritdoc/>
    public Precision Precision => Precision.F64;
    /// <inheritdoc/>
    public SensingProblem Problem { get; } = problem;

    /// <inheritdoc/>
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

    /// <summary>
    /// H V written as plainly as possible (docs/MATH.md section 6): with W_{k:j} formed explicitly,
    /// (H V)_k = dP_k^T Z Q_k^T + P_k^T dZ Q_k^T + P_k^T Z dQ_k^T, dP_k = sum_{j&gt;k} W_{L:j+1} V_j W_{j-1:k+1},
    /// dQ_k = sum_{j&lt;k} W_{k-1:j+1} V_j W_{j-1:1}, dE = sum_j P_j V_j Q_j, dZ = (2/n) sum_i &lt;A_i, dE&gt; A_i. O(L^2) products.
    /// </summary>
    public Matrix<double>[] HessianVectorProduct(IReadOnlyList<Matrix<double>> layers, IReadOnlyList<Matrix<double>> direction)
    {
        LayerChecks.RequireMatches(layers, Problem);
        var dims = LayerShapes.Dims(layers);
        LayerChecks.RequireShape(direction, dims);
        int depth = layers.Count, n = Problem.Count;
        var m = Problem.Measurements;
        // W_{k:j} = W_k ... W_j (1-based), the identity of size d_{j-1} when k < j.
        Matrix<double> Chain(int k, int j)
        {
            var result = Matrix<double>.Identity(dims[j - 1]);
            for (int t = j; t <= k; t++) result = ReferenceBlas.Multiply(layers[t - 1], result);
            return result;
        }
        Matrix<double> TwoOverNAdjoint(double[] weights)
        {
            var w = new double[weights.Length];
            for (int i = 0; i < w.Length; i++) w[i] = 2.0 * weights[i] / n;
            return m.Adjoint(w);
        }
        var residual = new double[n];
        m.Forward(Chain(depth, 1), residual);
        for (int i = 0; i < n; i++) residual[i] -= Problem.Labels[i];
        var z = TwoOverNAdjoint(residual);
        var dE = new Matrix<double>(dims[depth], dims[0]);
        for (int j = 1; j <= depth; j++) dE = ReferenceBlas.Add(dE, ReferenceBlas.Product(Chain(depth, j + 1), direction[j - 1], Chain(j - 1, 1)));
        var df = new double[n];
        m.Forward(dE, df);
        var dZ = TwoOverNAdjoint(df);

        var result = new Matrix<double>[depth];
        for (int k = 1; k <= depth; k++)
        {
            var p = Chain(depth, k + 1);
            var q = Chain(k - 1, 1);
            var dP = new Matrix<double>(dims[depth], dims[k]);
            for (int j = k + 1; j <= depth; j++) dP = ReferenceBlas.Add(dP, ReferenceBlas.Product(Chain(depth, j + 1), direction[j - 1], Chain(j - 1, k + 1)));
            var dQ = new Matrix<double>(dims[k - 1], dims[0]);
            for (int j = 1; j < k; j++) dQ = ReferenceBlas.Add(dQ, ReferenceBlas.Product(Chain(k - 1, j + 1), direction[j - 1], Chain(j - 1, 1)));
            var hv = ReferenceBlas.Product(dP.Transpose(), z, q.Transpose());
            hv = ReferenceBlas.Add(hv, ReferenceBlas.Product(p.Transpose(), dZ, q.Transpose()));
            result[k - 1] = ReferenceBlas.Add(hv, ReferenceBlas.Product(p.Transpose(), z, dQ.Transpose()));
        }
        return result;
    }

    /// <inheritdoc/>
    public void Dispose() { }
}
