using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Flatness.Kernels.Cpu;

/// <summary>
/// The GEMM loops for one precision and vector width: the BLIS five-loop nest over packed blocks, the unpacked
/// path for small products, and the split of the rows (or columns) of C over worker threads.
/// Arguments are trusted (validated by <see cref="Gemm"/>); m, n, k &gt; 0 and alpha != 0.
/// </summary>
internal static unsafe class GemmDriver<T, TV, TSimd>
    where T : unmanaged, IFloatingPointIeee754<T>
    where TV : struct
    where TSimd : struct, ISimd<T, TV>
{
    private const int MR = GemmBlocking.KernelRows;
    private static int NR => 2 * TSimd.Count;

    [ThreadStatic] private static Scratch? t_packedA;
    [ThreadStatic] private static Scratch? t_packedB;

    public static void Compute(Op opA, Op opB, int m, int n, int k, T alpha, T* a, nint lda, T* b, nint ldb,
        T beta, T* c, nint ldc, GemmBlocking blocking, int threads)
    {
        long work = (long)m * n * k;
        bool direct = work <= blocking.DirectMaxWork && k <= blocking.KC;
        var problem = new Problem(opA, opB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, blocking, direct);

        bool splitColumns = n > m;
        int units = splitColumns ? (n + NR - 1) / NR : (m + MR - 1) / MR;
        int parts = work >= blocking.ParallelMinWork ? Math.Min(threads, units) : 1;
        if (parts <= 1)
        {
            problem.Run();
            return;
        }
        WorkerPool.Shared.Run(new SplitJob(problem, splitColumns, units), parts);
    }

    /// <summary>One GEMM call (or a band of it) with its arguments.</summary>
    private readonly struct Problem
    {
        private readonly Op _opA, _opB;
        private readonly int _k;
        private readonly T _alpha, _beta;
        private readonly T* _a, _b, _c;
        private readonly nint _lda, _ldb, _ldc;
        private readonly GemmBlocking _blocking;
        private readonly bool _direct;

        public Problem(Op opA, Op opB, int m, int n, int k, T alpha, T* a, nint lda, T* b, nint ldb,
            T beta, T* c, nint ldc, GemmBlocking blocking, bool direct)
        {
            _opA = opA; _opB = opB; M = m; N = n; _k = k; _alpha = alpha; _beta = beta;
            _a = a; _lda = lda; _b = b; _ldb = ldb; _c = c; _ldc = ldc;
            _blocking = blocking; _direct = direct;
        }

        public int M { get; }
        public int N { get; }

        /// <summary>The rows [i0, i1) of C.</summary>
        public Problem Rows(int i0, int i1) => new(_opA, _opB, i1 - i0, N, _k, _alpha,
            _opA == Op.None ? _a + i0 * _lda : _a + i0, _lda, _b, _ldb, _beta, _c + i0 * _ldc, _ldc, _blocking, _direct);

        /// <summary>The columns [j0, j1) of C.</summary>
        public Problem Columns(int j0, int j1) => new(_opA, _opB, M, j1 - j0, _k, _alpha,
            _a, _lda, _opB == Op.None ? _b + j0 : _b + j0 * _ldb, _ldb, _beta, _c + j0, _ldc, _blocking, _direct);

        public void Run()
        {
            if (_direct)
                Direct(_opA, _opB, M, N, _k, _alpha, _a, _lda, _b, _ldb, _beta, _c, _ldc);
            else
                Packed(_opA, _opB, M, N, _k, _alpha, _a, _lda, _b, _ldb, _beta, _c, _ldc, _blocking);
        }
    }

    /// <summary>Splits C into bands of whole register tiles, one band per thread.</summary>
    private sealed class SplitJob(Problem problem, bool splitColumns, int units) : IParallelJob
    {
        public void Execute(int part, int parts)
        {
            int unit = splitColumns ? NR : MR;
            int extent = splitColumns ? problem.N : problem.M;
            int start = (int)((long)units * part / parts) * unit;
            int end = Math.Min((int)((long)units * (part + 1) / parts) * unit, extent);
            if (start >= end) return;
            (splitColumns ? problem.Columns(start, end) : problem.Rows(start, end)).Run();
        }
    }

    /// <summary>C = alpha op(A) op(B) + beta C through packed blocks (the BLIS loop nest).</summary>
    private static void Packed(Op opA, Op opB, int m, int n, int k, T alpha, T* a, nint lda, T* b, nint ldb,
        T beta, T* c, nint ldc, GemmBlocking blocking)
    {
        int nr = NR;
        // Equal-sized depth blocks (300 = 150 + 150, not 256 + 44).
        int kBlocks = (k + blocking.KC - 1) / blocking.KC;
        int kcMax = (k + kBlocks - 1) / kBlocks;
        int mcMax = Math.Min(blocking.MC, RoundUp(m, MR));
        int ncMax = Math.Min(blocking.NC, RoundUp(n, nr));
        T* packedA = (t_packedA ??= new Scratch()).Get<T>((nint)mcMax * kcMax);
        T* packedB = (t_packedB ??= new Scratch()).Get<T>((nint)ncMax * kcMax);

        for (int jc = 0; jc < n; jc += blocking.NC)
        {
            int nc = Math.Min(blocking.NC, n - jc);
            for (int pc = 0; pc < k; pc += kcMax)
            {
                int kc = Math.Min(kcMax, k - pc);
                T betaBlock = pc == 0 ? beta : T.One;
                T* bBlock = opB == Op.None ? b + pc * ldb + jc : b + jc * ldb + pc;
                for (int ic = 0; ic < m; ic += blocking.MC)
                {
                    int mc = Math.Min(blocking.MC, m - ic);
                    GemmPacking<T, TV, TSimd>.PackA(opA, opA == Op.None ? a + ic * lda + pc : a + pc * lda + ic,
                        lda, mc, kc, packedA);
                    // The first block of A packs each sliver of B just before its tiles use it (hot in L1);
                    // later blocks reuse the packed panel.
                    MacroKernel(mc, nc, kc, packedA, packedB, ic == 0 ? bBlock : null, opB, ldb,
                        c + ic * ldc + jc, ldc, alpha, betaBlock);
                }
            }
        }
    }

    /// <summary>
    /// All register tiles of one packed MC x KC block of A against one KC x NC panel of B; when
    /// <paramref name="bSource"/> is given, each NR-column sliver of the panel is packed from it first.
    /// </summary>
    private static void MacroKernel(int mc, int nc, int kc, T* packedA, T* packedB, T* bSource, Op opB, nint ldb,
        T* c, nint ldc, T alpha, T beta)
    {
        int nr = NR;
        var scalars = new Scalars<T>(alpha, beta);
        for (int jr = 0; jr < nc; jr += nr)
        {
            int cols = Math.Min(nr, nc - jr);
            T* bSliver = packedB + (nint)jr * kc;
            if (bSource != null)
                GemmPacking<T, TV, TSimd>.PackB(opB, opB == Op.None ? bSource + jr : bSource + jr * ldb, ldb, kc, cols,
                    bSliver);
            for (int ir = 0; ir < mc; ir += MR)
            {
                int rows = Math.Min(MR, mc - ir);
                if (rows > MR / 2)
                    GemmMicroKernel<T, TV, TSimd>.Run<PackedPanels, FullHeight>(kc, packedA + (nint)ir * kc, 0, 0,
                        bSliver, c + ir * ldc + jr, ldc, rows, cols, &scalars);
                else
                    GemmMicroKernel<T, TV, TSimd>.Run<PackedPanels, HalfHeight>(kc, packedA + (nint)ir * kc, 0, 0,
                        bSliver, c + ir * ldc + jr, ldc, rows, cols, &scalars);
            }
        }
    }

    /// <summary>
    /// C = alpha op(A) op(B) + beta C without packing A (the small-product path): each NR-column sliver of op(B)
    /// is copied into a contiguous, zero-padded buffer (cheap, and free of the cache-set conflicts of
    /// power-of-two strides), then every MR-row sliver of A is read in place. Only the last rows of A
    /// (fewer than MR) are copied, zero-padded.
    /// </summary>
    private static void Direct(Op opA, Op opB, int m, int n, int k, T alpha, T* a, nint lda, T* b, nint ldb,
        T beta, T* c, nint ldc)
    {
        int nr = NR;
        var scalars = new Scalars<T>(alpha, beta);
        nint aRow = opA == Op.None ? lda : 1, aK = opA == Op.None ? 1 : lda;
        int mFull = m - m % MR;
        T* edgeA = null;
        if (mFull < m)
        {
            edgeA = (t_packedA ??= new Scratch()).Get<T>((nint)MR * k);
            GemmPacking<T, TV, TSimd>.CopyEdgeRowsOfA(opA, opA == Op.None ? a + mFull * lda : a + mFull, lda,
                m - mFull, k, edgeA);
        }
        T* bSliver = (t_packedB ??= new Scratch()).Get<T>((nint)nr * k);
        for (int j = 0; j < n; j += nr)
        {
            int cols = Math.Min(nr, n - j);
            GemmPacking<T, TV, TSimd>.PackB(opB, opB == Op.None ? b + j : b + j * ldb, ldb, k, cols, bSliver);
            for (int i = 0; i < mFull; i += MR)
            {
                GemmMicroKernel<T, TV, TSimd>.Run<StridedA, FullHeight>(k, opA == Op.None ? a + i * lda : a + i,
                    aRow, aK, bSliver, c + i * ldc + j, ldc, MR, cols, &scalars);
            }
            if (edgeA != null && m - mFull > MR / 2)
            {
                GemmMicroKernel<T, TV, TSimd>.Run<StridedA, FullHeight>(k, edgeA, k, 1, bSliver,
                    c + mFull * ldc + j, ldc, m - mFull, cols, &scalars);
            }
            else if (edgeA != null)
            {
                GemmMicroKernel<T, TV, TSimd>.Run<StridedA, HalfHeight>(k, edgeA, k, 1, bSliver,
                    c + mFull * ldc + j, ldc, m - mFull, cols, &scalars);
            }
        }
    }

    private static int RoundUp(int value, int multiple) => (value + multiple - 1) / multiple * multiple;
}

/// <summary>A per-thread, 64-byte aligned, pinned scratch buffer that only grows.</summary>
internal sealed unsafe class Scratch
{
    private const int Alignment = 64;
    private byte[]? _array;
    private byte* _aligned;
    private nint _bytes;

    public T* Get<T>(nint count) where T : unmanaged
    {
        nint bytes = count * sizeof(T);
        if (bytes > _bytes)
        {
            nint grown = Math.Max(bytes, _bytes + _bytes / 2);
            _array = GC.AllocateUninitializedArray<byte>(checked((int)(grown + Alignment)), pinned: true);
            byte* start = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_array));
            _aligned = (byte*)(((nint)start + Alignment - 1) & ~(nint)(Alignment - 1));
            _bytes = grown;
        }
        return (T*)_aligned;
    }
}
