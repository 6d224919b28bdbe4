using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace Flatness.Kernels.Cpu;

/// <summary>
/// Copies blocks of op(A) and op(B) into the contiguous sliver layout the micro-kernel streams through
/// (see <see cref="PackedPanels"/>), zero-padding the last sliver to a full MR or NR.
/// </summary>
internal static unsafe class GemmPacking<T, TV, TSimd>
    where T : unmanaged, IFloatingPointIeee754<T>
    where TV : struct
    where TSimd : struct, ISimd<T, TV>
{
    private const int MR = GemmBlocking.KernelRows;

    /// <summary>
    /// Packs op(A)[0..mc, 0..kc] (a points at its first element) into slivers of MR rows:
    /// sliver s element (r, p) goes to <c>dst[s * MR * kc + p * MR + r]</c>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackA(Op opA, T* a, nint lda, int mc, int kc, T* dst)
    {
        for (int i = 0; i < mc; i += MR, dst += MR * kc)
        {
            int rows = Math.Min(MR, mc - i);
            if (opA == Op.None)
            {
                T* s = a + i * lda;
                if (rows == MR)
                {
                    T* s0 = s, s1 = s + lda, s2 = s + 2 * lda, s3 = s + 3 * lda, s4 = s + 4 * lda, s5 = s + 5 * lda;
                    T* d = dst;
                    for (int p = 0; p < kc; p++, d += MR)
                    {
                        d[0] = s0[p]; d[1] = s1[p]; d[2] = s2[p];
                        d[3] = s3[p]; d[4] = s4[p]; d[5] = s5[p];
                    }
                }
                else
                {
                    for (int p = 0; p < kc; p++)
                    {
                        T* d = dst + p * MR;
                        for (int r = 0; r < rows; r++) d[r] = s[r * lda + p];
                        for (int r = rows; r < MR; r++) d[r] = T.Zero;
                    }
                }
            }
            else
            {
                T* s = a + i;
                T* d = dst;
                if (rows == MR)
                {
                    for (int p = 0; p < kc; p++, s += lda, d += MR)
                    {
                        d[0] = s[0]; d[1] = s[1]; d[2] = s[2];
                        d[3] = s[3]; d[4] = s[4]; d[5] = s[5];
                    }
                }
                else
                {
                    for (int p = 0; p < kc; p++, s += lda, d += MR)
                    {
                        for (int r = 0; r < rows; r++) d[r] = s[r];
                        for (int r = rows; r < MR; r++) d[r] = T.Zero;
                    }
                }
            }
        }
    }

    /// <summary>
    /// Packs op(B)[0..kc, 0..nc] (b points at its first element) into slivers of NR columns:
    /// sliver s element (p, j) goes to <c>dst[s * NR * kc + p * NR + j]</c>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackB(Op opB, T* b, nint ldb, int kc, int nc, T* dst)
    {
        int w = TSimd.Count;
        int nr = 2 * w;
        for (int j = 0; j < nc; j += nr, dst += nr * kc)
        {
            int cols = Math.Min(nr, nc - j);
            if (opB == Op.None)
            {
                T* s = b + j;
                T* d = dst;
                if (cols == nr)
                {
                    for (int p = 0; p < kc; p++, s += ldb, d += nr)
                    {
                        // Slivers are packed one at a time, each reading a short run of every row of B:
                        // fetch the run two slivers ahead, which the hardware prefetcher would not.
                        if (Sse.IsSupported)
                        {
                            Sse.Prefetch0(s + 2 * nr);
                            Sse.Prefetch0((byte*)(s + 3 * nr) - 1);
                        }
                        TSimd.Store(d, TSimd.Load(s));
                        TSimd.Store(d + w, TSimd.Load(s + w));
                    }
                }
                else
                {
                    for (int p = 0; p < kc; p++, s += ldb, d += nr)
                    {
                        for (int q = 0; q < cols; q++) d[q] = s[q];
                        for (int q = cols; q < nr; q++) d[q] = T.Zero;
                    }
                }
            }
            else
            {
                // op(B)[p, j] = B[j, p]: each stored row of B becomes one column of the sliver.
                for (int q = 0; q < cols; q++)
                {
                    T* s = b + (j + q) * ldb;
                    T* d = dst + q;
                    for (int p = 0; p < kc; p++, d += nr) *d = s[p];
                }
                for (int q = cols; q < nr; q++)
                {
                    T* d = dst + q;
                    for (int p = 0; p < kc; p++, d += nr) *d = T.Zero;
                }
            }
        }
    }

    /// <summary>
    /// Copies the last rows (fewer than MR) of op(A)[.., 0..k] into <paramref name="dst"/> as an MR x k row-major
    /// block padded with zero rows, so the strided kernel can read MR full rows (row stride k).
    /// </summary>
    public static void CopyEdgeRowsOfA(Op opA, T* a, nint lda, int rows, int k, T* dst)
    {
        for (int r = 0; r < MR; r++)
        {
            T* d = dst + r * k;
            if (r >= rows)
                for (int p = 0; p < k; p++) d[p] = T.Zero;
            else if (opA == Op.None)
                Buffer.MemoryCopy(a + r * lda, d, (long)k * sizeof(T), (long)k * sizeof(T));
            else
                for (int p = 0; p < k; p++) d[p] = a[p * lda + r];
        }
    }
}
