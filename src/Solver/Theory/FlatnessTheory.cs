using Flatness.Kernels.Linalg;
using Flatness.Kernels.Reference;
using Flatness.Kernels.Tensors;
using Flatness.Solver.Model;
using Flatness.Solver.Problems;

namespace Flatness.Solver.Theory;

/// <summary>docs/MATH.md section 4: idealised flatness G, its minimum F over factorisations, and the constructions.</summary>
public static class FlatnessTheory
{
    /// <summary>G(W) = sum_j ||P_j||_F^2 ||Q_j||_F^2.</summary>
    public static double G(IReadOnlyList<Matrix<double>> layers) => GTerms(layers).Sum();

    /// <summary>The L terms ||P_j||_F^2 ||Q_j||_F^2 of G, j = 1..L (index 0 is j = 1).</summary>
    public static double[] GTerms(IReadOnlyList<Matrix<double>> layers)
    {
        _ = new Factorization(layers); // validates: non-empty, and the layers chain
        var chains = new ReferenceChains(layers);
        var terms = new double[layers.Count];
        for (int j = 1; j <= layers.Count; j++)
            terms[j - 1] = ReferenceBlas.FrobeniusSquared(chains.Suffix(j)) * ReferenceBlas.FrobeniusSquared(chains.Prefix(j));
        return terms;
    }

    /// <summary>F(M) = L (d_0 d_L)^{1/L} ||M||_*^{2(L-1)/L} with M of shape d_L x d_0.</summary>
    /// <remarks>For L = 1 this is d_0 d_L, which is G of the one-layer factorisation W_1 = M (P_1, Q_1 identities).</remarks>
    public static double F(Matrix<double> m, int depth) => F(MatrixNorms.Nuclear(m), m.Rows, m.Cols, depth);

    /// <summary>F from the nuclear norm of a d_L x d_0 matrix.</summary>
    public static double F(double nuclearNorm, int outputDim, int inputDim, int depth)
    {
        RequireDepth(depth);
        return depth * Math.Pow((double)outputDim * inputDim, 1.0 / depth) * Math.Pow(nuclearNorm, 2.0 * (depth - 1) / depth);
    }

    /// <summary>The flattest factorisation of M for dims [d_0..d_L] (d_0, d_L must match M; hidden widths &gt;= rank M).</summary>
    /// <remarks>
    /// docs/MATH.md section 4: with M = U S V^T of rank r, s = ||M||_*, T = (d_0 d_L)^{1/L} s^{2(L-1)/L},
    /// a_1^2 = T/(s d_0), a_j^2 = a_{j-1}^2 T/s^2, and R_k the first r columns of I_{d_k}:
    /// W_1 = R_1 S^{1/2} V^T / a_1, W_k = (a_{k-1}/a_k) R_k R_{k-1}^T, W_L = a_{L-1} U S^{1/2} R_{L-1}^T.
    /// Every term of G then equals T, so G = F(M). The rank counts singular values above the round-off level
    /// (sigma_i &gt; max(d_0, d_L) eps sigma_max). M = 0 gives zero layers (G = 0 = F for L &gt;= 2).
    /// </remarks>
    public static Matrix<double>[] FlattestFactorization(Matrix<double> m, IReadOnlyList<int> dims)
    {
        var (svd, rank) = Prepare(m, dims, "flattest");
        int depth = dims.Count - 1;
        if (depth == 1) return [m.Clone()];
        var layers = ZeroLayers(dims);
        if (rank == 0) return layers;

        double s = 0;
        for (int i = 0; i < rank; i++) s += svd.S[i];
        double t = Math.Pow((double)dims[0] * dims[depth], 1.0 / depth) * Math.Pow(s, 2.0 * (depth - 1) / depth);
        var a = new double[depth]; // a[k] = a_k for k = 1..L-1
        a[1] = Math.Sqrt(t / (s * dims[0]));
        for (int k = 2; k < depth; k++) a[k] = a[k - 1] * Math.Sqrt(t) / s;

        // W_1 = R_1 S^{1/2} V^T / a_1: its first r rows are sqrt(sigma_i) v_i^T / a_1.
        for (int i = 0; i < rank; i++)
        {
            double f = Math.Sqrt(svd.S[i]) / a[1];
            for (int c = 0; c < dims[0]; c++) layers[0][i, c] = f * svd.Vt[i, c];
        }
        // W_k = (a_{k-1}/a_k) R_k R_{k-1}^T: (a_{k-1}/a_k) on the first r diagonal entries.
        for (int k = 2; k < depth; k++)
            for (int i = 0; i < rank; i++) layers[k - 1][i, i] = a[k - 1] / a[k];
        // W_L = a_{L-1} U S^{1/2} R_{L-1}^T: its first r columns are a_{L-1} sqrt(sigma_i) u_i.
        for (int i = 0; i < rank; i++)
        {
            double f = a[depth - 1] * Math.Sqrt(svd.S[i]);
            for (int r = 0; r < dims[depth]; r++) layers[depth - 1][r, i] = f * svd.U[r, i];
        }
        return layers;
    }

    /// <summary>The balanced factorisation W_j = Q_j S^{1/L} Q_{j-1}^T.</summary>
    /// <remarks>
    /// Q_0 = V and Q_L = U from M = U S V^T (rank r, as in <see cref="FlattestFactorization"/>), and for the hidden
    /// layers Q_j = the first r columns of I_{d_j}. Every layer then has singular values sigma_i^{1/L}, so
    /// W_j^T W_j = W_{j-1} W_{j-1}^T (balanced) and sum_j ||W_j||_F^2 = L sum_i sigma_i^{2/L}.
    /// </remarks>
    public static Matrix<double>[] BalancedFactorization(Matrix<double> m, IReadOnlyList<int> dims)
    {
        var (svd, rank) = Prepare(m, dims, "balanced");
        int depth = dims.Count - 1;
        if (depth == 1) return [m.Clone()];
        var layers = ZeroLayers(dims);
        for (int i = 0; i < rank; i++)
        {
            double root = Math.Pow(svd.S[i], 1.0 / depth);
            for (int c = 0; c < dims[0]; c++) layers[0][i, c] = root * svd.Vt[i, c];
            for (int k = 2; k < depth; k++) layers[k - 1][i, i] = root;
            for (int r = 0; r < dims[depth]; r++) layers[depth - 1][r, i] = root * svd.U[r, i];
        }
        return layers;
    }

    /// <summary>Weight-decay minimum over factorisations: L sum_i sigma_i^{2/L}.</summary>
    /// <remarks>Singular values at the round-off level count as zero (see <see cref="MatrixNorms.SignificantSingularValues"/>).</remarks>
    public static double WeightDecayMinimum(Matrix<double> m, int depth)
    {
        RequireDepth(depth);
        double sum = 0;
        foreach (double sigma in MatrixNorms.SignificantSingularValues(m)) sum += Math.Pow(sigma, 2.0 / depth);
        return depth * sum;
    }

    private static void RequireDepth(int depth)
    {
        if (depth < 1) throw new ArgumentOutOfRangeException(nameof(depth), $"depth L must be >= 1, got {depth}");
    }

    /// <summary>Checks dims against M and the rank, and returns the SVD with the rank above round-off.</summary>
    private static (SvdResult Svd, int Rank) Prepare(Matrix<double> m, IReadOnlyList<int> dims, string what)
    {
        ArgumentNullException.ThrowIfNull(m);
        ArgumentNullException.ThrowIfNull(dims);
        if (dims.Count < 2)
            throw new ArgumentException($"dims must list [d_0, ..., d_L] with L >= 1, got {dims.Count} entries", nameof(dims));
        int depth = dims.Count - 1;
        for (int k = 0; k <= depth; k++)
            if (dims[k] <= 0)
                throw new ArgumentException($"dims[{k}] = d_{k} = {dims[k]} must be positive", nameof(dims));
        if (dims[0] != m.Cols || dims[depth] != m.Rows)
            throw new ArgumentException(
                $"M is {m.Rows}x{m.Cols} (d_L x d_0) but dims give d_0 = {dims[0]}, d_L = {dims[depth]}", nameof(dims));
        var svd = Svd.Decompose(m);
        int rank = svd.Rank;
        for (int k = 1; k < depth; k++)
            if (dims[k] < rank)
                throw new ArgumentException(
                    $"the {what} factorisation needs hidden widths >= rank M = {rank}, but d_{k} = {dims[k]}", nameof(dims));
        return (svd, rank);
    }

    private static Matrix<double>[] ZeroLayers(IReadOnlyList<int> dims)
    {
        var layers = new Matrix<double>[dims.Count - 1];
        for (int j = 0; j < layers.Length; j++) layers[j] = new Matrix<double>(dims[j + 1], dims[j]);
        return layers;
    }
}
