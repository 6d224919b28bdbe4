using Flatness.Kernels.Tensors;
using Flatness.Solver.Problems;

namespace Flatness.Solver.Theory;

/// <summary>SPEC section 4: idealised flatness G, its minimum F over factorisations, and the constructions.</summary>
public static class FlatnessTheory
{
    /// <summary>G(W) = sum_j ||P_j||_F^2 ||Q_j||_F^2.</summary>
    public static double G(IReadOnlyList<Matrix<double>> layers) => throw new NotImplementedException();
    /// <summary>F(M) = L (d_0 d_L)^{1/L} ||M||_*^{2(L-1)/L} with M of shape d_L x d_0.</summary>
    public static double F(Matrix<double> m, int depth) => throw new NotImplementedException();
    /// <summary>The flattest factorisation of M for dims [d_0..d_L] (d_0, d_L must match M; hidden widths &gt;= rank M).</summary>
    public static Matrix<double>[] FlattestFactorization(Matrix<double> m, IReadOnlyList<int> dims) => throw new NotImplementedException();
    /// <summary>The balanced factorisation W_j = Q_j S^{1/L} Q_{j-1}^T.</summary>
    public static Matrix<double>[] BalancedFactorization(Matrix<double> m, IReadOnlyList<int> dims) => throw new NotImplementedException();
    /// <summary>Weight-decay minimum over factorisations: L sum_i sigma_i^{2/L}.</summary>
    public static double WeightDecayMinimum(Matrix<double> m, int depth) => throw new NotImplementedException();
}

/// <summary>Rank-one RIP constant estimate: extremes of (1/n) sum_i (u^T A_i v)^2 over unit u, v.</summary>
public sealed record RipEstimate(double Lower, double Upper)
{
    /// <summary>delta = max(1 - Lower, Upper - 1).</summary>
    public double Delta => Math.Max(1 - Lower, Upper - 1);
}

public static class Rip
{
    public static RipEstimate Estimate(Measurements measurements, int seed = 0, int restarts = 8) => throw new NotImplementedException();
}
