using System.Runtime.CompilerServices;
using System.Numerics;

namespace Flatness.Kernels.Cpu;

/// <summary>
/// C = alpha op(A) op(B) + beta C for a product the caller knows to be symmetric (m x m): X X^T, X^T X, or
/// X Y^T with X Y^T = Y X^T. C is cut into row/column blocks; only the blocks on and above the diagonal are
/// computed (one GEMM each), then the strict lower triangle is copied from the upper one, so the result is
/// exactly symmetric. With beta != 0, C must be symmetric on entry.
/// </summary>
public static class SymmetricGemm
{
    /// <summary>
    /// Target block size. Larger blocks run the GEMM closer to its peak, smaller ones skip more of the lower
    /// triangle (with b blocks per side, (b + 1) / (2b) of the full work runs).
    /// </summary>
    public const int BlockSize = 64;

    /// <summary>
    /// C = alpha op(A) op(B) + beta C for a product known to be symmetric (m x m; op(A) m x k, op(B) k x m), computing
    /// the upper block triangle and mirroring it.
    /// </summary>
    /// <exception cref="ArgumentException">a dimension, leading dimension or buffer that does not fit the shapes.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Compute<T>(Op opA, Op opB, int m, int k, T alpha,
        ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (m < 0 || k < 0) throw new ArgumentOutOfRangeException(nameof(m), $"symmetric GEMM dimensions m = {m}, k = {k} must be non-negative");
        if (ldc < m) throw new ArgumentOutOfRangeException(nameof(ldc), $"ldc = {ldc} is smaller than m = {m}");
        if (m == 0) return;
        if (c.Length < (long)(m - 1) * ldc + m)
            throw new ArgumentException($"C has {c.Length} elements, too few for {m}x{m} with ldc = {ldc}", nameof(c));

        int blocks = (m + BlockSize - 1) / BlockSize;
        for (int bi = 0; bi < blocks; bi++)
        {
            int i0 = Start(bi, blocks, m), i1 = Start(bi + 1, blocks, m);
            // Rows i0..i1 of op(A): rows of A as stored, or its columns.
            var ai = opA == Op.None ? a[(i0 * lda)..] : a[i0..];
            for (int bj = bi; bj < blocks; bj++)
            {
                int j0 = Start(bj, blocks, m), j1 = Start(bj + 1, blocks, m);
                // Columns j0..j1 of op(B): columns of B as stored, or its rows.
                var bj_ = opB == Op.None ? b[j0..] : b[(j0 * ldb)..];
                Gemm.Compute(opA, opB, i1 - i0, j1 - j0, k, alpha, ai, lda, bj_, ldb, beta, c[(i0 * ldc + j0)..], ldc);
            }
        }
        MirrorUpper(m, c, ldc);
    }

    /// <summary>Copies the strict upper triangle of the m x m matrix C into its strict lower triangle.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MirrorUpper<T>(int m, Span<T> c, int ldc) where T : unmanaged
    {
        for (int i = 1; i < m; i++)
            for (int j = 0; j < i; j++)
                c[i * ldc + j] = c[j * ldc + i];
    }

    /// <summary>Start of block <paramref name="index"/> when m is cut into <paramref name="blocks"/> near-equal blocks.</summary>
    private static int Start(int index, int blocks, int m) => (int)((long)index * m / blocks);
}
