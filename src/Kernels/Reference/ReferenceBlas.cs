using Flatness.Kernels.Tensors;

namespace Flatness.Kernels.Reference;

/// <summary>
/// Plain scalar float64 matrix algebra: the oracle the fast kernels are checked against. Never on a hot path.
/// </summary>
public static class ReferenceBlas
{
    /// <summary>op(A) op(B) with a plain triple loop.</summary>
    public static Matrix<double> Multiply(Matrix<double> a, Matrix<double> b, bool transposeA = false, bool transposeB = false)
    {
        int m = transposeA ? a.Cols : a.Rows;
        int k = transposeA ? a.Rows : a.Cols;
        int kb = transposeB ? b.Cols : b.Rows;
        int n = transposeB ? b.Rows : b.Cols;
        if (k != kb)
            throw new ArgumentException($"inner dimensions differ: op(A) is {m}x{k}, op(B) is {kb}x{n}");
        var c = new Matrix<double>(m, n);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int p = 0; p < k; p++)
                    s += (transposeA ? a[p, i] : a[i, p]) * (transposeB ? b[j, p] : b[p, j]);
                c[i, j] = s;
            }
        return c;
    }

    /// <summary>Product of a non-empty chain of matrices, left to right.</summary>
    public static Matrix<double> Product(params Matrix<double>[] factors)
    {
        var result = factors[0];
        for (int i = 1; i < factors.Length; i++) result = Multiply(result, factors[i]);
        return result;
    }

    /// <summary>A new matrix A + scaleB B (same shapes).</summary>
    public static Matrix<double> Add(Matrix<double> a, Matrix<double> b, double scaleB = 1.0)
    {
        var c = a.Clone();
        for (int t = 0; t < c.Data.Length; t++) c.Data[t] += scaleB * b.Data[t];
        return c;
    }

    /// <summary>A new matrix s A.</summary>
    public static Matrix<double> Scale(Matrix<double> a, double s)
    {
        var c = a.Clone();
        for (int t = 0; t < c.Data.Length; t++) c.Data[t] *= s;
        return c;
    }

    /// <summary>Frobenius inner product &lt;A, B&gt; = sum_ab A[a,b] B[a,b].</summary>
    public static double Dot(Matrix<double> a, Matrix<double> b)
    {
        double s = 0;
        for (int t = 0; t < a.Data.Length; t++) s += a.Data[t] * b.Data[t];
        return s;
    }

    /// <summary>||A||_F^2.</summary>
    public static double FrobeniusSquared(Matrix<double> a) => Dot(a, a);
}

/// <summary>
/// All partial products of a layer chain W_L ... W_1 (index 0 is W_1), each computed once: O(L) products.
/// Suffix(j) = P_j = W_{L:j+1} (d_L x d_j) and Prefix(j) = Q_j = W_{j-1:1} (d_{j-1} x d_0), for j = 1..L.
/// </summary>
public sealed class ReferenceChains
{
    private readonly Matrix<double>[] _prefix;
    private readonly Matrix<double>[] _suffix;

    /// <summary>The partial products of <paramref name="layers"/> (W_1 first; a non-empty chain, checked by the products).</summary>
    /// <exception cref="ArgumentException">layers whose shapes do not chain.</exception>
    public ReferenceChains(IReadOnlyList<Matrix<double>> layers)
    {
        int depth = layers.Count;
        _prefix = new Matrix<double>[depth];
        _suffix = new Matrix<double>[depth];
        _prefix[0] = Matrix<double>.Identity(layers[0].Cols);
        for (int j = 1; j < depth; j++) _prefix[j] = ReferenceBlas.Multiply(layers[j - 1], _prefix[j - 1]);
        _suffix[depth - 1] = Matrix<double>.Identity(layers[depth - 1].Rows);
        for (int j = depth - 2; j >= 0; j--) _suffix[j] = ReferenceBlas.Multiply(_suffix[j + 1], layers[j + 1]);
        EndToEnd = ReferenceBlas.Multiply(layers[depth - 1], _prefix[depth - 1]);
    }

    /// <summary>Q_j = W_{j-1:1}, 1-based j as in docs/MATH.md section 1.</summary>
    public Matrix<double> Prefix(int j) => _prefix[j - 1];
    /// <summary>P_j = W_{L:j+1}, 1-based j as in docs/MATH.md section 1.</summary>
    public Matrix<double> Suffix(int j) => _suffix[j - 1];
    /// <summary>E = W_{L:1}.</summary>
    public Matrix<double> EndToEnd { get; }
}
