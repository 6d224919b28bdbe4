using System.Numerics;

namespace Flatness.Kernels.Cpu;

/// <summary>
/// The sandwich operators of docs/MATH.md section 2 on dense measurements held in a <see cref="SideLayout"/> (the direct
/// path): S(H) = (1/n) sum_i A_i H A_i^T (d_L x d_L) and S*(G) = (1/n) sum_i A_i^T G A_i (d_0 x d_0), as two
/// large GEMMs per chunk of measurements, never one small GEMM per measurement.
/// <para>
/// Arrangements, with n measurements, flops counting a multiply-add as 2, and X_side / X_flat the
/// d_L x (n w) and (d_L n) x w readings of a side-by-side stack:
/// <list type="bullet">
/// <item>S(H), any H: AH = A_flat H (2 n d_L d_0^2), then S = (1/n) AH_side A_side^T (2 n d_L^2 d_0; half when H is symmetric).</item>
/// <item>S(F^T F), F r x d_0: U = A_flat F^T (2 n d_L d_0 r), then S = (1/n) U_side U_side^T (n d_L^2 r, symmetric).
///   This contracts with the factor first and wins when r &lt; d_0 (a narrow hidden layer next to the input);
///   otherwise H = F^T F is formed (2 r d_0^2, once) and the first route runs.</item>
/// <item>S*(G), any G: GA = G A_side (2 n d_L^2 d_0), then S* = (1/n) A_flat^T GA_flat (2 n d_L d_0^2; half when symmetric).</item>
/// <item>S*(P P^T), P d_L x r: T = P^T A_side (2 n d_L r d_0), then S* = (1/n) T_flat^T T_flat (n r d_0^2), winning when r &lt; d_L.</item>
/// </list>
/// The per-chunk results accumulate into the output (beta = 1 after the first chunk).
/// </para>
/// </summary>
public static class DenseSandwich
{
    /// <summary>Workspace elements every operator here needs, for factors of up to <paramref name="maxRank"/> rows or columns.</summary>
    public static int WorkspaceLength(SideLayout layout, int maxRank)
    {
        long m = layout.ChunkSize, dL = layout.OutputDim, d0 = layout.InputDim, r = Math.Max(1, maxRank);
        long perChunk = m * Math.Max(dL * d0, Math.Max(dL * r, r * d0));
        return checked((int)(perChunk + Math.Max(d0 * d0, dL * dL)));
    }

    /// <summary>S(H) for a d_0 x d_0 matrix H; <paramref name="symmetric"/> says H = H^T (half the second GEMM).</summary>
    public static void S<T>(SideLayout layout, ReadOnlySpan<T> side, ReadOnlySpan<T> h, bool symmetric, Span<T> s, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int dL = layout.OutputDim, d0 = layout.InputDim;
        Check(layout, side, workspace, 0);
        CheckLength(h, d0 * d0, "H");
        CheckLength(s, dL * dL, "S(H)");
        SCore(layout, side, h, symmetric, s, workspace);
    }

    private static void SCore<T>(SideLayout layout, ReadOnlySpan<T> side, ReadOnlySpan<T> h, bool symmetric, Span<T> s, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int dL = layout.OutputDim, d0 = layout.InputDim;
        T scale = T.One / T.CreateTruncating(layout.Count);
        for (int chunk = 0; chunk < layout.ChunkCount; chunk++)
        {
            int m = layout.ChunkLength(chunk);
            var a = side.Slice(layout.ChunkOffset(chunk), dL * m * d0);
            var ah = workspace[..(dL * m * d0)];
            Gemm.Compute(Op.None, Op.None, dL * m, d0, d0, T.One, a, d0, h, d0, T.Zero, ah, d0);
            T beta = chunk == 0 ? T.Zero : T.One;
            if (symmetric)
                SymmetricGemm.Compute(Op.None, Op.Transpose, dL, m * d0, scale, ah, m * d0, a, m * d0, beta, s, dL);
            else
                Gemm.Compute(Op.None, Op.Transpose, dL, dL, m * d0, scale, ah, m * d0, a, m * d0, beta, s, dL);
        }
    }

    /// <summary>S*(G) for a d_L x d_L matrix G; <paramref name="symmetric"/> says G = G^T.</summary>
    public static void SAdjoint<T>(SideLayout layout, ReadOnlySpan<T> side, ReadOnlySpan<T> g, bool symmetric, Span<T> s, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int dL = layout.OutputDim, d0 = layout.InputDim;
        Check(layout, side, workspace, 0);
        CheckLength(g, dL * dL, "G");
        CheckLength(s, d0 * d0, "S*(G)");
        SAdjointCore(layout, side, g, symmetric, s, workspace);
    }

    private static void SAdjointCore<T>(SideLayout layout, ReadOnlySpan<T> side, ReadOnlySpan<T> g, bool symmetric, Span<T> s, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int dL = layout.OutputDim, d0 = layout.InputDim;
        T scale = T.One / T.CreateTruncating(layout.Count);
        for (int chunk = 0; chunk < layout.ChunkCount; chunk++)
        {
            int m = layout.ChunkLength(chunk);
            var a = side.Slice(layout.ChunkOffset(chunk), dL * m * d0);
            var ga = workspace[..(dL * m * d0)];
            Gemm.Compute(Op.None, Op.None, dL, m * d0, dL, T.One, g, dL, a, m * d0, T.Zero, ga, m * d0);
            T beta = chunk == 0 ? T.Zero : T.One;
            if (symmetric)
                SymmetricGemm.Compute(Op.Transpose, Op.None, d0, dL * m, scale, a, d0, ga, d0, beta, s, d0);
            else
                Gemm.Compute(Op.Transpose, Op.None, d0, d0, dL * m, scale, a, d0, ga, d0, beta, s, d0);
        }
    }

    /// <summary>S(F^T F) for a factor F (r x d_0), by the cheaper arrangement.</summary>
    public static void SOfGram<T>(SideLayout layout, ReadOnlySpan<T> side, int r, ReadOnlySpan<T> f, Span<T> s, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int dL = layout.OutputDim, d0 = layout.InputDim;
        Check(layout, side, workspace, r);
        CheckLength(f, r * d0, "factor F");
        CheckLength(s, dL * dL, "S(F^T F)");
        if (FactorFirstForS(layout, r))
        {
            T scale = T.One / T.CreateTruncating(layout.Count);
            for (int chunk = 0; chunk < layout.ChunkCount; chunk++)
            {
                int m = layout.ChunkLength(chunk);
                var a = side.Slice(layout.ChunkOffset(chunk), dL * m * d0);
                var u = workspace[..(dL * m * r)];
                Gemm.Compute(Op.None, Op.Transpose, dL * m, r, d0, T.One, a, d0, f, d0, T.Zero, u, r);
                SymmetricGemm.Compute(Op.None, Op.Transpose, dL, m * r, scale, u, m * r, u, m * r,
                    chunk == 0 ? T.Zero : T.One, s, dL);
            }
            return;
        }
        var h = workspace[^(d0 * d0)..];
        SymmetricGemm.Compute(Op.Transpose, Op.None, d0, r, T.One, f, d0, f, d0, T.Zero, h, d0);
        SCore(layout, side, h, symmetric: true, s, workspace);
    }

    /// <summary>S*(P P^T) for a factor P (d_L x r), by the cheaper arrangement.</summary>
    public static void SAdjointOfGram<T>(SideLayout layout, ReadOnlySpan<T> side, int r, ReadOnlySpan<T> p, Span<T> s, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int dL = layout.OutputDim, d0 = layout.InputDim;
        Check(layout, side, workspace, r);
        CheckLength(p, dL * r, "factor P");
        CheckLength(s, d0 * d0, "S*(P P^T)");
        if (FactorFirstForSAdjoint(layout, r))
        {
            T scale = T.One / T.CreateTruncating(layout.Count);
            for (int chunk = 0; chunk < layout.ChunkCount; chunk++)
            {
                int m = layout.ChunkLength(chunk);
                var a = side.Slice(layout.ChunkOffset(chunk), dL * m * d0);
                var t = workspace[..(r * m * d0)];
                Gemm.Compute(Op.Transpose, Op.None, r, m * d0, dL, T.One, p, r, a, m * d0, T.Zero, t, m * d0);
                SymmetricGemm.Compute(Op.Transpose, Op.None, d0, r * m, scale, t, d0, t, d0,
                    chunk == 0 ? T.Zero : T.One, s, d0);
            }
            return;
        }
        var g = workspace[^(dL * dL)..];
        SymmetricGemm.Compute(Op.None, Op.Transpose, dL, r, T.One, p, r, p, r, T.Zero, g, dL);
        SAdjointCore(layout, side, g, symmetric: true, s, workspace);
    }

    /// <summary>S(I) = (1/n) sum_i A_i A_i^T = (1/n) A_side A_side^T (n d_L^2 d_0 flops).</summary>
    public static void SIdentity<T>(SideLayout layout, ReadOnlySpan<T> side, Span<T> s)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int dL = layout.OutputDim, d0 = layout.InputDim;
        Check(layout, side, Span<T>.Empty, -1);
        CheckLength(s, dL * dL, "S(I)");
        T scale = T.One / T.CreateTruncating(layout.Count);
        for (int chunk = 0; chunk < layout.ChunkCount; chunk++)
        {
            int m = layout.ChunkLength(chunk);
            var a = side.Slice(layout.ChunkOffset(chunk), dL * m * d0);
            SymmetricGemm.Compute(Op.None, Op.Transpose, dL, m * d0, scale, a, m * d0, a, m * d0, chunk == 0 ? T.Zero : T.One, s, dL);
        }
    }

    /// <summary>S*(I) = (1/n) sum_i A_i^T A_i = (1/n) A_flat^T A_flat (n d_L d_0^2 flops).</summary>
    public static void SAdjointIdentity<T>(SideLayout layout, ReadOnlySpan<T> side, Span<T> s)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int dL = layout.OutputDim, d0 = layout.InputDim;
        Check(layout, side, Span<T>.Empty, -1);
        CheckLength(s, d0 * d0, "S*(I)");
        T scale = T.One / T.CreateTruncating(layout.Count);
        for (int chunk = 0; chunk < layout.ChunkCount; chunk++)
        {
            int m = layout.ChunkLength(chunk);
            var a = side.Slice(layout.ChunkOffset(chunk), dL * m * d0);
            SymmetricGemm.Compute(Op.Transpose, Op.None, d0, dL * m, scale, a, d0, a, d0, chunk == 0 ? T.Zero : T.One, s, d0);
        }
    }

    // Flop counts of the arrangements above (a multiply-add is 2 flops); the cost model and the choices share them.

    /// <summary>Flops of <see cref="S{T}"/>.</summary>
    public static double SFlops(SideLayout layout, bool symmetric)
    {
        double n = layout.Count, dL = layout.OutputDim, d0 = layout.InputDim;
        return 2 * n * dL * d0 * d0 + (symmetric ? 1 : 2) * n * dL * dL * d0;
    }

    /// <summary>Flops of <see cref="SAdjoint{T}"/>.</summary>
    public static double SAdjointFlops(SideLayout layout, bool symmetric)
    {
        double n = layout.Count, dL = layout.OutputDim, d0 = layout.InputDim;
        return 2 * n * dL * dL * d0 + (symmetric ? 1 : 2) * n * dL * d0 * d0;
    }

    /// <summary>Flops of <see cref="SOfGram{T}"/> for a factor with r rows.</summary>
    public static double SOfGramFlops(SideLayout layout, int r) =>
        Math.Min(FactorFirstSFlops(layout, r), 2.0 * r * layout.InputDim * layout.InputDim + SFlops(layout, true));

    /// <summary>Flops of <see cref="SAdjointOfGram{T}"/> for a factor with r columns.</summary>
    public static double SAdjointOfGramFlops(SideLayout layout, int r) =>
        Math.Min(FactorFirstSAdjointFlops(layout, r), 2.0 * r * layout.OutputDim * layout.OutputDim + SAdjointFlops(layout, true));

    private static double FactorFirstSFlops(SideLayout layout, int r)
    {
        double n = layout.Count, dL = layout.OutputDim, d0 = layout.InputDim;
        return 2 * n * dL * d0 * r + n * dL * dL * r;
    }

    private static double FactorFirstSAdjointFlops(SideLayout layout, int r)
    {
        double n = layout.Count, dL = layout.OutputDim, d0 = layout.InputDim;
        return 2 * n * dL * r * d0 + n * r * d0 * d0;
    }

    private static bool FactorFirstForS(SideLayout layout, int r) =>
        FactorFirstSFlops(layout, r) <= 2.0 * r * layout.InputDim * layout.InputDim + SFlops(layout, true);

    private static bool FactorFirstForSAdjoint(SideLayout layout, int r) =>
        FactorFirstSAdjointFlops(layout, r) <= 2.0 * r * layout.OutputDim * layout.OutputDim + SAdjointFlops(layout, true);

    private static void Check<T>(SideLayout layout, ReadOnlySpan<T> side, Span<T> workspace, int rank)
    {
        if (side.Length != layout.Length)
            throw new ArgumentException($"side-by-side measurements have {side.Length} values, expected n d_L d_0 = {layout.Length}", nameof(side));
        int need = rank < 0 ? 0 : WorkspaceLength(layout, rank);
        if (workspace.Length < need)
            throw new ArgumentException($"workspace has {workspace.Length} elements, the operator needs {need}", nameof(workspace));
    }

    private static void CheckLength<T>(ReadOnlySpan<T> span, int expected, string name)
    {
        if (span.Length != expected)
            throw new ArgumentException($"{name} has {span.Length} values, expected {expected}");
    }
}
