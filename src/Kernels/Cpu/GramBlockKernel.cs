using System.Numerics;
using System.Runtime.CompilerServices;

namespace Flatness.Kernels.Cpu;

/// <summary>
/// The vector loops of the pass over K (<see cref="GramOperator"/>), on the widest accelerated vectors
/// (<typeparamref name="TSimd"/>) with scalar tails: <see cref="Dot"/> for S, <see cref="MultiplyAdd"/> for S*, and
/// <see cref="LossRows"/> for M vec(E): for rows b of a d_0 x d_0 block C = C_ac, y_a[b] += &lt;C[b,:], e_c&gt; and, off
/// the diagonal (a != c), y_c += e_a[b] C[b,:], one loop per row (the block was just read for S and S*, so it comes
/// from cache).
/// </summary>
internal static unsafe class GramBlockKernel<T, TV, TSimd>
    where T : unmanaged, IFloatingPointIeee754<T>
    where TV : unmanaged
    where TSimd : struct, ISimd<T, TV>
{
    /// <summary>M vec(E) contributions of <paramref name="rows"/> rows of a block.</summary>
    /// <param name="c">the first of the rows, each d0 long.</param>
    /// <param name="rows">how many rows.</param>
    /// <param name="d0">row length.</param>
    /// <param name="ec">row c of E.</param>
    /// <param name="ea">the entries of row a of E that go with the rows.</param>
    /// <param name="ya">the entries of row a of M vec(E) that go with the rows.</param>
    /// <param name="yc">row c of M vec(E), or null on the diagonal.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void LossRows(T* c, int rows, int d0, T* ec, T* ea, T* ya, T* yc)
    {
        int lanes = TSimd.Count;
        for (int b = 0; b < rows; b++)
        {
            T* row = c + (nint)b * d0;
            TV dot0 = TSimd.Zero, dot1 = TSimd.Zero;
            int i = 0;
            if (yc == null)
            {
                for (; i <= d0 - 2 * lanes; i += 2 * lanes)
                {
                    dot0 = TSimd.MultiplyAdd(TSimd.Load(row + i), TSimd.Load(ec + i), dot0);
                    dot1 = TSimd.MultiplyAdd(TSimd.Load(row + i + lanes), TSimd.Load(ec + i + lanes), dot1);
                }
            }
            else
            {
                TV scale = TSimd.Splat(ea[b]);
                for (; i <= d0 - 2 * lanes; i += 2 * lanes)
                {
                    TV v0 = TSimd.Load(row + i), v1 = TSimd.Load(row + i + lanes);
                    dot0 = TSimd.MultiplyAdd(v0, TSimd.Load(ec + i), dot0);
                    dot1 = TSimd.MultiplyAdd(v1, TSimd.Load(ec + i + lanes), dot1);
                    TSimd.Store(yc + i, TSimd.MultiplyAdd(scale, v0, TSimd.Load(yc + i)));
                    TSimd.Store(yc + i + lanes, TSimd.MultiplyAdd(scale, v1, TSimd.Load(yc + i + lanes)));
                }
            }
            T sum = Sum(dot0) + Sum(dot1);
            for (; i < d0; i++)
            {
                sum += row[i] * ec[i];
                if (yc != null) yc[i] += ea[b] * row[i];
            }
            ya[b] += sum;
        }
    }

    /// <summary>sum_i x_i y_i over n elements, four vectors at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static T Dot(T* x, T* y, int n)
    {
        int lanes = TSimd.Count, i = 0;
        TV s0 = TSimd.Zero, s1 = TSimd.Zero, s2 = TSimd.Zero, s3 = TSimd.Zero;
        for (; i <= n - 4 * lanes; i += 4 * lanes)
        {
            s0 = TSimd.MultiplyAdd(TSimd.Load(x + i), TSimd.Load(y + i), s0);
            s1 = TSimd.MultiplyAdd(TSimd.Load(x + i + lanes), TSimd.Load(y + i + lanes), s1);
            s2 = TSimd.MultiplyAdd(TSimd.Load(x + i + 2 * lanes), TSimd.Load(y + i + 2 * lanes), s2);
            s3 = TSimd.MultiplyAdd(TSimd.Load(x + i + 3 * lanes), TSimd.Load(y + i + 3 * lanes), s3);
        }
        for (; i <= n - lanes; i += lanes)
            s0 = TSimd.MultiplyAdd(TSimd.Load(x + i), TSimd.Load(y + i), s0);
        T sum = Sum(s0) + Sum(s1) + Sum(s2) + Sum(s3);
        for (; i < n; i++) sum += x[i] * y[i];
        return sum;
    }

    /// <summary>y += alpha x over n elements, four vectors at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MultiplyAdd(T* x, T alpha, T* y, int n)
    {
        int lanes = TSimd.Count, i = 0;
        TV a = TSimd.Splat(alpha);
        for (; i <= n - 4 * lanes; i += 4 * lanes)
        {
            TSimd.Store(y + i, TSimd.MultiplyAdd(a, TSimd.Load(x + i), TSimd.Load(y + i)));
            TSimd.Store(y + i + lanes, TSimd.MultiplyAdd(a, TSimd.Load(x + i + lanes), TSimd.Load(y + i + lanes)));
            TSimd.Store(y + i + 2 * lanes, TSimd.MultiplyAdd(a, TSimd.Load(x + i + 2 * lanes), TSimd.Load(y + i + 2 * lanes)));
            TSimd.Store(y + i + 3 * lanes, TSimd.MultiplyAdd(a, TSimd.Load(x + i + 3 * lanes), TSimd.Load(y + i + 3 * lanes)));
        }
        for (; i <= n - lanes; i += lanes)
            TSimd.Store(y + i, TSimd.MultiplyAdd(a, TSimd.Load(x + i), TSimd.Load(y + i)));
        for (; i < n; i++) y[i] += alpha * x[i];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T Sum(TV v)
    {
        T* lanes = (T*)&v;
        T sum = T.Zero;
        for (int i = 0; i < TSimd.Count; i++) sum += lanes[i];
        return sum;
    }
}
