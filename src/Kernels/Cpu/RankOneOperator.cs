using System.Runtime.CompilerServices;
using System.Numerics;
using System.Numerics.Tensors;

namespace Flatness.Kernels.Cpu;

/// <summary>
/// Rank-one measurements A_i = u_i v_i^T (docs/MATH.md section 3), never materialised; U is n x d_L and V is n x d_0,
/// row-major (row i is u_i, v_i). Everything is a GEMM over all measurements plus row reductions:
/// f_i = u_i^T E v_i = &lt;u_i, (V E^T)_i&gt;; sum_i w_i A_i = U^T diag(w) V;
/// S(H) = (1/n) U^T diag(h) U with h_i = v_i^T H v_i = &lt;(V H)_i, v_i&gt;, and S*(G) alike with U and V swapped.
/// For H = F^T F the forms are h_i = ||F v_i||^2 = row sums of squares of V F^T, cheaper when F has fewer rows than columns.
/// </summary>
public static class RankOneOperator
{
    /// <summary>f_i = u_i^T E v_i (E d_L x d_0). Workspace: n d_L.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward<T>(int count, int outputDim, int inputDim, ReadOnlySpan<T> u, ReadOnlySpan<T> v,
        ReadOnlySpan<T> e, Span<T> f, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(count, outputDim, u, "U");
        Check(count, inputDim, v, "V");
        Check(count, 1, f, "f");
        var ev = workspace[..(count * outputDim)];
        Gemm.Compute(Op.None, Op.Transpose, count, outputDim, inputDim, T.One, v, inputDim, e, inputDim, T.Zero, ev, outputDim);
        for (int i = 0; i < count; i++)
            f[i] = TensorPrimitives.Dot(u.Slice(i * outputDim, outputDim), ev.Slice(i * outputDim, outputDim));
    }

    /// <summary>Z = alpha sum_i w_i u_i v_i^T (d_L x d_0, overwritten). Workspace: n d_0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Adjoint<T>(int count, int outputDim, int inputDim, ReadOnlySpan<T> u, ReadOnlySpan<T> v,
        ReadOnlySpan<T> w, T alpha, Span<T> z, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(count, outputDim, u, "U");
        Check(count, inputDim, v, "V");
        Check(count, 1, w, "w");
        var wv = workspace[..(count * inputDim)];
        for (int i = 0; i < count; i++)
            TensorPrimitives.Multiply(v.Slice(i * inputDim, inputDim), w[i], wv.Slice(i * inputDim, inputDim));
        Gemm.Compute(Op.Transpose, Op.None, outputDim, inputDim, count, alpha, u, outputDim, wv, inputDim, T.Zero, z, inputDim);
    }

    /// <summary>q_i = x_i^T H x_i for the rows x_i of X (n x d), H d x d. Workspace: n d.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void QuadraticForms<T>(int count, int dim, ReadOnlySpan<T> x, ReadOnlySpan<T> h, Span<T> q, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(count, dim, x, "X");
        Check(dim, dim, h, "H");
        Check(count, 1, q, "q");
        var xh = workspace[..(count * dim)];
        Gemm.Compute(Op.None, Op.None, count, dim, dim, T.One, x, dim, h, dim, T.Zero, xh, dim);
        for (int i = 0; i < count; i++)
            q[i] = TensorPrimitives.Dot(xh.Slice(i * dim, dim), x.Slice(i * dim, dim));
    }

    /// <summary>
    /// q_i = ||F x_i||^2 = x_i^T F^T F x_i for the rows x_i of X (n x d) and a factor F with r rows: stored r x d
    /// (<paramref name="factorOp"/> None) or given as F^T, stored d x r (Transpose). Workspace: n r.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void FactoredQuadraticForms<T>(int count, int dim, ReadOnlySpan<T> x, int rank, ReadOnlySpan<T> f, Op factorOp,
        Span<T> q, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(count, dim, x, "X");
        Check(rank, dim, f, "F");
        Check(count, 1, q, "q");
        var xf = workspace[..(count * rank)];
        // X F^T: F^T is op(F) for F stored r x d, and F^T itself when it is what is stored.
        if (factorOp == Op.None)
            Gemm.Compute(Op.None, Op.Transpose, count, rank, dim, T.One, x, dim, f, dim, T.Zero, xf, rank);
        else
            Gemm.Compute(Op.None, Op.None, count, rank, dim, T.One, x, dim, f, rank, T.Zero, xf, rank);
        for (int i = 0; i < count; i++) q[i] = TensorPrimitives.SumOfSquares(xf.Slice(i * rank, rank));
    }

    /// <summary>Result = alpha X^T diag(w) X (d x d, symmetric) for X n x d. Workspace: n d.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void WeightedGram<T>(int count, int dim, ReadOnlySpan<T> x, ReadOnlySpan<T> w, T alpha, Span<T> result, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(count, dim, x, "X");
        Check(count, 1, w, "w");
        Check(dim, dim, result, "result");
        var wx = workspace[..(count * dim)];
        for (int i = 0; i < count; i++)
            TensorPrimitives.Multiply(x.Slice(i * dim, dim), w[i], wx.Slice(i * dim, dim));
        SymmetricGemm.Compute(Op.Transpose, Op.None, dim, count, alpha, wx, dim, x, dim, T.Zero, result, dim);
    }

    private static void Check<T>(int rows, int cols, ReadOnlySpan<T> span, string name)
    {
        if (rows < 1 || cols < 1) throw new ArgumentOutOfRangeException(nameof(rows), $"{name} shape {rows}x{cols} must be positive");
        if (span.Length != (long)rows * cols)
            throw new ArgumentException($"{name} has {span.Length} values, expected {rows}x{cols}");
    }
}
