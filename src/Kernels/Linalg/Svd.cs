using Flatness.Kernels.Tensors;

namespace Flatness.Kernels.Linalg;

/// <summary>Thin SVD A = U diag(S) Vt with S descending; U is m x k, Vt is k x n, k = min(m, n).</summary>
public sealed record SvdResult(Matrix<double> U, double[] S, Matrix<double> Vt);

public static class Svd
{
    /// <summary>One-sided Jacobi SVD in float64, accurate to ~1e-13 relative.</summary>
    public static SvdResult Decompose(Matrix<double> a) => throw new NotImplementedException();
    /// <summary>Singular values only, descending.</summary>
    public static double[] SingularValues(Matrix<double> a) => throw new NotImplementedException();
}

public static class MatrixNorms
{
    public static double Nuclear(Matrix<double> a) => throw new NotImplementedException();
    public static double Frobenius(Matrix<double> a) => throw new NotImplementedException();
    public static double Spectral(Matrix<double> a) => throw new NotImplementedException();
    /// <summary>(sum_i sigma_i^p)^(1/p), p &gt; 0 (quasi-norm for p &lt; 1).</summary>
    public static double Schatten(Matrix<double> a, double p) => throw new NotImplementedException();
    /// <summary>exp of the Shannon entropy of sigma_i / sum sigma (Roy and Vetterli); 0 for the zero matrix.</summary>
    public static double EffectiveRank(Matrix<double> a) => throw new NotImplementedException();
    /// <summary>Number of sigma_i &gt; relativeTolerance * sigma_max.</summary>
    public static int NumericalRank(Matrix<double> a, double relativeTolerance = 1e-6) => throw new NotImplementedException();
}
