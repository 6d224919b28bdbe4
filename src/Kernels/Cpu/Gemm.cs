using System.Numerics;
using Flatness.Kernels.Tensors;

namespace Flatness.Kernels.Cpu;

/// <summary>Whether a GEMM operand is used as stored or transposed.</summary>
public enum Op { None, Transpose }

/// <summary>
/// General matrix multiply on row-major data: C = alpha op(A) op(B) + beta C, with op(A) m x k and op(B) k x n.
/// Leading dimensions are row strides (lda &gt;= columns of A as stored).
/// </summary>
public static class Gemm
{
    public static void Compute<T>(Op opA, Op opB, int m, int n, int k, T alpha,
        ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        // Plain triple loop; replaced by the packed SIMD implementation.
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                T sum = T.Zero;
                for (int p = 0; p < k; p++)
                {
                    T av = opA == Op.None ? a[i * lda + p] : a[p * lda + i];
                    T bv = opB == Op.None ? b[p * ldb + j] : b[j * ldb + p];
                    sum += av * bv;
                }
                ref T cij = ref c[i * ldc + j];
                cij = beta == T.Zero ? alpha * sum : alpha * sum + beta * cij;
            }
        }
    }

    /// <summary>Returns op(A) op(B) as a new matrix.</summary>
    public static Matrix<T> Multiply<T>(Matrix<T> a, Matrix<T> b, Op opA = Op.None, Op opB = Op.None)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int m = opA == Op.None ? a.Rows : a.Cols;
        int ka = opA == Op.None ? a.Cols : a.Rows;
        int kb = opB == Op.None ? b.Rows : b.Cols;
        int n = opB == Op.None ? b.Cols : b.Rows;
        if (ka != kb)
            throw new ArgumentException($"inner dimensions differ: op(A) is {m}x{ka}, op(B) is {kb}x{n}");
        var c = new Matrix<T>(m, n);
        Compute(opA, opB, m, n, ka, T.One, a.Data, a.Cols, b.Data, b.Cols, T.Zero, c.Data, n);
        return c;
    }
}
