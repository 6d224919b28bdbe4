using System.Runtime.CompilerServices;
using System.Numerics;

namespace Flatness.Kernels.Cpu;

/// <summary>
/// Matrix-completion measurements A_i = s e_{r_i} e_{c_i}^T (docs/MATH.md section 3), never materialised: the forward map is
/// a gather, its adjoint a scatter, and S(H) = (s^2/n) sum_i H[c_i,c_i] e_{r_i} e_{r_i}^T and
/// S*(G) = (s^2/n) sum_i G[r_i,r_i] e_{c_i} e_{c_i}^T are diagonal, so only diagonals go in and out.
/// All cost O(n). Indices out of range fail on the span bounds checks.
/// </summary>
public static class CompletionOperator
{
    /// <summary>f_i = s E[r_i, c_i], E d_L x d_0 with row stride d_0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward<T>(ReadOnlySpan<int> rows, ReadOnlySpan<int> cols, T scale, ReadOnlySpan<T> e, int inputDim, Span<T> f)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(rows, cols, f.Length);
        for (int i = 0; i < rows.Length; i++) f[i] = scale * e[rows[i] * inputDim + cols[i]];
    }

    /// <summary>Z = alpha sum_i w_i A_i (Z overwritten).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Adjoint<T>(ReadOnlySpan<int> rows, ReadOnlySpan<int> cols, T scale, ReadOnlySpan<T> w, T alpha, Span<T> z, int inputDim)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(rows, cols, w.Length);
        z.Clear();
        T factor = alpha * scale;
        for (int i = 0; i < rows.Length; i++) z[rows[i] * inputDim + cols[i]] += factor * w[i];
    }

    /// <summary>diag S(H) (length d_L) from diag H (length d_0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SDiagonal<T>(ReadOnlySpan<int> rows, ReadOnlySpan<int> cols, T scale, ReadOnlySpan<T> hDiagonal, Span<T> sDiagonal)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(rows, cols, rows.Length);
        sDiagonal.Clear();
        T factor = scale * scale / T.CreateTruncating(rows.Length);
        for (int i = 0; i < rows.Length; i++) sDiagonal[rows[i]] += factor * hDiagonal[cols[i]];
    }

    /// <summary>diag S*(G) (length d_0) from diag G (length d_L).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SAdjointDiagonal<T>(ReadOnlySpan<int> rows, ReadOnlySpan<int> cols, T scale, ReadOnlySpan<T> gDiagonal, Span<T> sDiagonal)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(rows, cols, rows.Length);
        sDiagonal.Clear();
        T factor = scale * scale / T.CreateTruncating(rows.Length);
        for (int i = 0; i < rows.Length; i++) sDiagonal[cols[i]] += factor * gDiagonal[rows[i]];
    }

    private static void Check(ReadOnlySpan<int> rows, ReadOnlySpan<int> cols, int vectorLength)
    {
        if (rows.Length != cols.Length)
            throw new ArgumentException($"rows has {rows.Length} entries but cols has {cols.Length}", nameof(cols));
        if (rows.Length == 0) throw new ArgumentException("no completion measurements (n = 0)", nameof(rows));
        if (vectorLength != rows.Length)
            throw new ArgumentException($"the measurement vector has {vectorLength} entries, expected n = {rows.Length}");
    }
}
