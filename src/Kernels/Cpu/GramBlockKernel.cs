using System.Numerics;
using System.Runtime.CompilerServices;

namespace Flatness.Kernels.Cpu;

/// <summary>
/// The loss part of the pass over K for one d_0 x d_0 block C = C_ac: y_a[b] += &lt;C[b,:], e_c&gt; for every row b and,
/// off the diagonal (a != c), y_c += e_a[b] C[b,:] (M vec(E) by blocks, see <see cref="GramOperator"/>).
/// One tight loop per row, two vectors at a time (<typeparamref name="TSimd"/> picks the width), a scalar tail;
/// the block was just read for S and S*, so it comes from cache.
/// </summary>
internal static unsafe class GramBlockKernel<T, TV, TSimd>
    where T : unmanaged, IFloatingPointIeee754<T>
    where TV : unmanaged
    where TSimd : struct, ISimd<T, TV>
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void LossRows(T* c, int d0, T* ec, T* ea, T* ya, T* yc)
    {
        int lanes = TSimd.Count;
        for (int b = 0; b < d0; b++)
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

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T Sum(TV v)
    {
        T* lanes = (T*)&v;
        T sum = T.Zero;
        for (int i = 0; i < TSimd.Count; i++) sum += lanes[i];
        return sum;
    }
}
