using System.Numerics;
using System.Runtime.CompilerServices;
using ILGPU;
using ILGPU.Runtime;

namespace Flatness.Kernels.Gpu;

/// <summary>
/// Geometry of one strided GEMM launch: C_b = alpha sum_k op(A)_b[i,k] op(B)_b[k,j] + beta C_b for every batch b.
/// Every operand is addressed by strides, so transposes, leading dimensions, batches and block-structured
/// ("segmented") K dimensions are all the same kernel: k runs over SegCount segments of SegLen, and
/// element (i, k = seg*SegLen + kk) of A sits at AOff + b*ABatch + i*ARow + seg*ASeg + kk*AK (likewise for B).
/// A segmented K turns sum_i X_i Y_i^T over stacked blocks into one launch.
/// With Splits &gt; 1 each split writes its partial sum into a workspace and a second kernel adds them up.
/// </summary>
internal struct GemmArgs<T> where T : unmanaged
{
    public int M, N, SegLen, SegCount, Batch, Splits;
    public int TilesM, TilesN, KTiles, Td;
    public int AKFast, BKFast;
    public long AOff, ARow, AK, ASeg, ABatch;
    public long BOff, BK, BCol, BSeg, BBatch;
    public long COff, CRow, CBatch;
    public T Alpha, Beta;
}

/// <summary>Eight values held in registers (a row of a thread's 8x8 register tile).</summary>
internal struct Vec8<T> where T : unmanaged, INumber<T>
{
    public T X0, X1, X2, X3, X4, X5, X6, X7;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec8<T> Load(ArrayView<T> s, int start, int step) => new()
    {
        X0 = s[start], X1 = s[start + step], X2 = s[start + 2 * step], X3 = s[start + 3 * step],
        X4 = s[start + 4 * step], X5 = s[start + 5 * step], X6 = s[start + 6 * step], X7 = s[start + 7 * step],
    };

    /// <summary>acc + a * b, element-wise (one rank-one update of a register row).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec8<T> MulAdd(Vec8<T> acc, T a, Vec8<T> b) => new()
    {
        X0 = acc.X0 + a * b.X0, X1 = acc.X1 + a * b.X1, X2 = acc.X2 + a * b.X2, X3 = acc.X3 + a * b.X3,
        X4 = acc.X4 + a * b.X4, X5 = acc.X5 + a * b.X5, X6 = acc.X6 + a * b.X6, X7 = acc.X7 + a * b.X7,
    };
}

/// <summary>
/// The tiled GEMM: a group of Td x Td threads computes a (8 Td) x (8 Td) tile of C, each thread an 8x8 register
/// tile whose rows and columns are interleaved with stride Td (conflict-free shared-memory reads, coalesced stores).
/// K advances in slices of <see cref="Bk"/>; both operand slices are staged in shared memory with loads whose
/// fastest thread index follows the operand's unit stride (coalesced for every transpose combination).
/// </summary>
internal static class GemmKernel<T> where T : unmanaged, INumber<T>
{
    public const int Bk = 8;
    public const int MaxTd = 16;
    /// <summary>Row pitch of a shared slice: the widest tile plus one (no bank conflicts on transposing stores).</summary>
    private const int MaxPitch = 8 * MaxTd + 1;

    /// <param name="threadsPerSide">Td, a specialised value: each launch geometry is compiled with Td as a constant,
    /// so the register-tile offsets and load counts fold into immediates.</param>
    /// <param name="p">shapes, transposes, leading dimensions, alpha and beta.</param>
    /// <param name="a">the left operand as stored.</param>
    /// <param name="b">the right operand as stored.</param>
    /// <param name="c">the result, read when beta is not zero (written when K is not split).</param>
    /// <param name="w">the partial sums of the K splits, reduced into C by <see cref="ReduceSplits"/>.</param>
    public static void Tiled(SpecializedValue<int> threadsPerSide, GemmArgs<T> p, ArrayView<T> a, ArrayView<T> b, ArrayView<T> c, ArrayView<T> w)
    {
        var sa = SharedMemory.Allocate<T>(Bk * MaxPitch);
        var sb = SharedMemory.Allocate<T>(Bk * MaxPitch);

        int td = threadsPerSide.Value;
        int threads = td * td;
        int tile = 8 * td;
        int pitch = tile + 1;
        int tid = Group.IdxX;
        int tx = tid % td;
        int ty = tid / td;

        int tilesMn = p.TilesM * p.TilesN;
        int g = Grid.IdxX;
        int mn = g % tilesMn;
        int z = g / tilesMn;
        int batch = z / p.Splits;
        int split = z - batch * p.Splits;
        int row0 = (mn / p.TilesN) * tile;
        int col0 = (mn % p.TilesN) * tile;

        long total = (long)p.SegCount * p.KTiles;
        long t0 = total * split / p.Splits;
        long t1 = total * (split + 1) / p.Splits;
        int seg = (int)(t0 / p.KTiles);
        int kk0 = (int)(t0 - (long)seg * p.KTiles) * Bk;

        var c0 = default(Vec8<T>); var c1 = default(Vec8<T>); var c2 = default(Vec8<T>); var c3 = default(Vec8<T>);
        var c4 = default(Vec8<T>); var c5 = default(Vec8<T>); var c6 = default(Vec8<T>); var c7 = default(Vec8<T>);
        int perThread = tile * Bk / threads;

        for (long t = t0; t < t1; t++)
        {
            long aBase = p.AOff + batch * p.ABatch + seg * p.ASeg;
            long bBase = p.BOff + batch * p.BBatch + seg * p.BSeg;
            for (int e = 0; e < perThread; e++)
            {
                int l = tid + e * threads;
                int kk, ii;
                if (p.AKFast != 0) { kk = l % Bk; ii = l / Bk; }
                else { kk = l / tile; ii = l - kk * tile; }
                int row = row0 + ii;
                int k = kk0 + kk;
                sa[kk * pitch + ii] = row < p.M && k < p.SegLen ? a[aBase + row * p.ARow + k * p.AK] : T.Zero;

                int jj;
                if (p.BKFast != 0) { kk = l % Bk; jj = l / Bk; }
                else { kk = l / tile; jj = l - kk * tile; }
                int col = col0 + jj;
                k = kk0 + kk;
                sb[kk * pitch + jj] = col < p.N && k < p.SegLen ? b[bBase + k * p.BK + col * p.BCol] : T.Zero;
            }
            Group.Barrier();

            for (int k = 0; k < Bk; k++)
            {
                var av = Vec8<T>.Load(sa, k * pitch + ty, td);
                var bv = Vec8<T>.Load(sb, k * pitch + tx, td);
                c0 = Vec8<T>.MulAdd(c0, av.X0, bv);
                c1 = Vec8<T>.MulAdd(c1, av.X1, bv);
                c2 = Vec8<T>.MulAdd(c2, av.X2, bv);
                c3 = Vec8<T>.MulAdd(c3, av.X3, bv);
                c4 = Vec8<T>.MulAdd(c4, av.X4, bv);
                c5 = Vec8<T>.MulAdd(c5, av.X5, bv);
                c6 = Vec8<T>.MulAdd(c6, av.X6, bv);
                c7 = Vec8<T>.MulAdd(c7, av.X7, bv);
            }
            Group.Barrier();

            kk0 += Bk;
            if (kk0 >= p.KTiles * Bk) { kk0 = 0; seg++; }
        }

        p.Td = td;
        int r = row0 + ty;
        int cb = col0 + tx;
        StoreRow(p, c, w, batch, split, r, cb, c0);
        StoreRow(p, c, w, batch, split, r + td, cb, c1);
        StoreRow(p, c, w, batch, split, r + 2 * td, cb, c2);
        StoreRow(p, c, w, batch, split, r + 3 * td, cb, c3);
        StoreRow(p, c, w, batch, split, r + 4 * td, cb, c4);
        StoreRow(p, c, w, batch, split, r + 5 * td, cb, c5);
        StoreRow(p, c, w, batch, split, r + 6 * td, cb, c6);
        StoreRow(p, c, w, batch, split, r + 7 * td, cb, c7);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow(GemmArgs<T> p, ArrayView<T> c, ArrayView<T> w, int batch, int split, int row, int col, Vec8<T> v)
    {
        if (row >= p.M) return;
        int td = p.Td;
        Store(p, c, w, batch, split, row, col, v.X0);
        Store(p, c, w, batch, split, row, col + td, v.X1);
        Store(p, c, w, batch, split, row, col + 2 * td, v.X2);
        Store(p, c, w, batch, split, row, col + 3 * td, v.X3);
        Store(p, c, w, batch, split, row, col + 4 * td, v.X4);
        Store(p, c, w, batch, split, row, col + 5 * td, v.X5);
        Store(p, c, w, batch, split, row, col + 6 * td, v.X6);
        Store(p, c, w, batch, split, row, col + 7 * td, v.X7);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(GemmArgs<T> p, ArrayView<T> c, ArrayView<T> w, int batch, int split, int row, int col, T value)
    {
        if (col >= p.N) return;
        if (p.Splits == 1)
        {
            long at = p.COff + batch * p.CBatch + row * p.CRow + col;
            c[at] = p.Beta == T.Zero ? p.Alpha * value : p.Alpha * value + p.Beta * c[at];
        }
        else
        {
            w[(((long)batch * p.Splits + split) * p.M + row) * p.N + col] = value;
        }
    }

    /// <summary>Adds the split partial sums: C = alpha sum_s W_s + beta C, one thread per element of C.</summary>
    public static void ReduceSplits(Index1D index, GemmArgs<T> p, ArrayView<T> c, ArrayView<T> w)
    {
        long mn = (long)p.M * p.N;
        int batch = (int)(index / mn);
        long rest = index - batch * mn;
        int row = (int)(rest / p.N);
        int col = (int)(rest - (long)row * p.N);
        T sum = T.Zero;
        long start = (long)batch * p.Splits * mn + rest;
        for (int s = 0; s < p.Splits; s++) sum += w[start + s * mn];
        long at = p.COff + batch * p.CBatch + row * p.CRow + col;
        c[at] = p.Beta == T.Zero ? p.Alpha * sum : p.Alpha * sum + p.Beta * c[at];
    }
}
