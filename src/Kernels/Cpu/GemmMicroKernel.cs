using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace Flatness.Kernels.Cpu;

/// <summary>How the micro-kernel reads A: a packed sliver (compile-time strides) or in place (run-time strides).
/// B is always a packed sliver.</summary>
internal interface IPanelLayout
{
    static abstract bool Packed { get; }
}

/// <summary>
/// Operands packed by <see cref="GemmPacking{T, TV, TSimd}"/>: A sliver element (r, p) at <c>p * MR + r</c>,
/// B sliver element (p, j) at <c>p * NR + j</c>.
/// </summary>
internal readonly struct PackedPanels : IPanelLayout
{
    public static bool Packed => true;
}

/// <summary>A read in place, element (r, p) at <c>r * aRow + p * aK</c>; B packed as for <see cref="PackedPanels"/>.</summary>
internal readonly struct StridedA : IPanelLayout
{
    public static bool Packed => false;
}

/// <summary>How many rows of the tile the kernel computes: all six, or the first three (edge slivers of 1-3 rows).</summary>
internal interface ITileHeight
{
    static abstract bool Full { get; }
}

internal readonly struct FullHeight : ITileHeight
{
    public static bool Full => true;
}

internal readonly struct HalfHeight : ITileHeight
{
    public static bool Full => false;
}

/// <summary>alpha and beta of a GEMM call, handed to the micro-kernel by address.</summary>
internal struct Scalars<T>(T alpha, T beta) where T : unmanaged
{
    public T Alpha = alpha;
    public T Beta = beta;
}

/// <summary>
/// The register-blocked micro-kernel: a 6 x (2 vectors) tile of C, C = alpha A B + beta C over depth kc,
/// twelve vector accumulators, one broadcast of A and two loads of B per step, FMA throughout.
/// </summary>
[SkipLocalsInit]
internal static unsafe class GemmMicroKernel<T, TV, TSimd>
    where T : unmanaged, IFloatingPointIeee754<T>
    where TV : struct
    where TSimd : struct, ISimd<T, TV>
{
    public const int MR = GemmBlocking.KernelRows;
    public static int NR => 2 * TSimd.Count;

    /// <summary>
    /// C[0..rows, 0..cols] = alpha * (A B) + beta * C with A an MR x kc sliver (packed, or in place with strides
    /// aRow, aK; rows past <paramref name="rows"/> must be readable) and B a packed kc x NR sliver (zero-padded past
    /// <paramref name="cols"/>). beta = 0 never reads C. The strides are ignored for <see cref="PackedPanels"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<TLayout, THeight>(int kc, T* a, nint aRow, nint aK, T* b,
        T* c, nint ldc, int rows, int cols, Scalars<T>* scalars)
        where TLayout : struct, IPanelLayout
        where THeight : struct, ITileHeight
    {
        Debug.Assert(THeight.Full ? rows <= MR : rows <= MR / 2);
        if (TLayout.Packed)
        {
            aRow = 1;
            aK = MR;
        }
        nint w = TSimd.Count;
        nint bK = 2 * w;
        // Rows 0-2 of the A sliver from a, rows 3-5 from a3: six addresses from two pointers and two strides.
        nint a2 = 2 * aRow;
        T* a3 = TLayout.Packed ? null : a + 3 * aRow; // packed rows 3-5 sit at a + 3..5: no second pointer

        if (Sse.IsSupported)
        {
            T* cp = c;
            nint rowBytes = 2 * w * sizeof(T);
            for (int r = 0; r < rows; r++, cp += ldc)
            {
                for (nint offset = 0; offset < rowBytes; offset += 64) Sse.Prefetch0((byte*)cp + offset);
                Sse.Prefetch0((byte*)cp + rowBytes - 1);
            }
        }

        TV c00 = TSimd.Zero, c01 = TSimd.Zero, c10 = TSimd.Zero, c11 = TSimd.Zero;
        TV c20 = TSimd.Zero, c21 = TSimd.Zero, c30 = TSimd.Zero, c31 = TSimd.Zero;
        TV c40 = TSimd.Zero, c41 = TSimd.Zero, c50 = TSimd.Zero, c51 = TSimd.Zero;

        int p = 0;
        if (TLayout.Packed)
        {
            // Unrolled by four: constant offsets, one pointer update per four steps.
            for (; p + 4 <= kc; p += 4)
            {
                Step<TLayout, THeight>(a, 0, a, 1, 2, b, 0, w, ref c00, ref c01, ref c10, ref c11, ref c20, ref c21,
                    ref c30, ref c31, ref c40, ref c41, ref c50, ref c51);
                Step<TLayout, THeight>(a, MR, a, 1, 2, b, 2 * w, w, ref c00, ref c01, ref c10, ref c11, ref c20, ref c21,
                    ref c30, ref c31, ref c40, ref c41, ref c50, ref c51);
                Step<TLayout, THeight>(a, 2 * MR, a, 1, 2, b, 4 * w, w, ref c00, ref c01, ref c10, ref c11, ref c20, ref c21,
                    ref c30, ref c31, ref c40, ref c41, ref c50, ref c51);
                Step<TLayout, THeight>(a, 3 * MR, a, 1, 2, b, 6 * w, w, ref c00, ref c01, ref c10, ref c11, ref c20, ref c21,
                    ref c30, ref c31, ref c40, ref c41, ref c50, ref c51);
                a += 4 * MR;
                b += 8 * w;
            }
        }
        for (; p < kc; p++)
        {
            Step<TLayout, THeight>(a, 0, TLayout.Packed ? a : a3, aRow, a2, b, 0, w, ref c00, ref c01, ref c10, ref c11, ref c20, ref c21,
                ref c30, ref c31, ref c40, ref c41, ref c50, ref c51);
            a += aK;
            if (!TLayout.Packed) a3 += aK;
            b += bK;
        }

        // alpha and beta are read only now, so that they do not hold vector registers during the loop.
        T alpha = scalars->Alpha, beta = scalars->Beta;

        if (rows == MR && cols == 2 * w)
        {
            TV va = TSimd.Splat(alpha);
            if (beta == T.Zero)
            {
                StoreRow(c, c00, c01, va, w); c += ldc;
                StoreRow(c, c10, c11, va, w); c += ldc;
                StoreRow(c, c20, c21, va, w); c += ldc;
                StoreRow(c, c30, c31, va, w); c += ldc;
                StoreRow(c, c40, c41, va, w); c += ldc;
                StoreRow(c, c50, c51, va, w);
            }
            else if (beta == T.One)
            {
                AddRow(c, c00, c01, va, w); c += ldc;
                AddRow(c, c10, c11, va, w); c += ldc;
                AddRow(c, c20, c21, va, w); c += ldc;
                AddRow(c, c30, c31, va, w); c += ldc;
                AddRow(c, c40, c41, va, w); c += ldc;
                AddRow(c, c50, c51, va, w);
            }
            else
            {
                TV vb = TSimd.Splat(beta);
                UpdateRow(c, c00, c01, va, vb, w); c += ldc;
                UpdateRow(c, c10, c11, va, vb, w); c += ldc;
                UpdateRow(c, c20, c21, va, vb, w); c += ldc;
                UpdateRow(c, c30, c31, va, vb, w); c += ldc;
                UpdateRow(c, c40, c41, va, vb, w); c += ldc;
                UpdateRow(c, c50, c51, va, vb, w);
            }
            return;
        }

        // Edge tile: spill the accumulators and update only the rows x cols corner.
        int nr = 2 * (int)w;
        T* tile = stackalloc T[MR * 2 * TSimd.Count];
        TSimd.Store(tile, c00); TSimd.Store(tile + w, c01);
        TSimd.Store(tile + nr, c10); TSimd.Store(tile + nr + w, c11);
        TSimd.Store(tile + 2 * nr, c20); TSimd.Store(tile + 2 * nr + w, c21);
        TSimd.Store(tile + 3 * nr, c30); TSimd.Store(tile + 3 * nr + w, c31);
        TSimd.Store(tile + 4 * nr, c40); TSimd.Store(tile + 4 * nr + w, c41);
        TSimd.Store(tile + 5 * nr, c50); TSimd.Store(tile + 5 * nr + w, c51);
        for (int r = 0; r < rows; r++, c += ldc)
        {
            T* t = tile + r * nr;
            if (beta == T.Zero)
                for (int j = 0; j < cols; j++) c[j] = alpha * t[j];
            else
                for (int j = 0; j < cols; j++) c[j] = alpha * t[j] + beta * c[j];
        }
    }

    /// <summary>
    /// One step of depth: rows 0-2 of A at a + off (+ aRow, + a2), rows 3-5 at a3 (+ aRow, + a2), or for packed
    /// slivers all six at a + off + 0..5; B at b + bOff. Offsets are constants where the caller unrolls, so that
    /// they fold into the addressing.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Step<TLayout, THeight>(T* a, nint off, T* a3, nint aRow, nint a2, T* b, nint bOff, nint w,
        ref TV c00, ref TV c01, ref TV c10, ref TV c11, ref TV c20, ref TV c21,
        ref TV c30, ref TV c31, ref TV c40, ref TV c41, ref TV c50, ref TV c51)
        where TLayout : struct, IPanelLayout
        where THeight : struct, ITileHeight
    {
        TV b0 = TSimd.Load(b + bOff);
        TV b1 = TSimd.Load(b + bOff + w);
        TV av = TSimd.Broadcast(a + off);
        c00 = TSimd.MultiplyAdd(av, b0, c00);
        c01 = TSimd.MultiplyAdd(av, b1, c01);
        av = TSimd.Broadcast(a + off + aRow);
        c10 = TSimd.MultiplyAdd(av, b0, c10);
        c11 = TSimd.MultiplyAdd(av, b1, c11);
        av = TSimd.Broadcast(a + off + a2);
        c20 = TSimd.MultiplyAdd(av, b0, c20);
        c21 = TSimd.MultiplyAdd(av, b1, c21);
        if (!THeight.Full) return;
        av = TSimd.Broadcast(TLayout.Packed ? a + off + 3 : a3);
        c30 = TSimd.MultiplyAdd(av, b0, c30);
        c31 = TSimd.MultiplyAdd(av, b1, c31);
        av = TSimd.Broadcast(TLayout.Packed ? a + off + 4 : a3 + aRow);
        c40 = TSimd.MultiplyAdd(av, b0, c40);
        c41 = TSimd.MultiplyAdd(av, b1, c41);
        av = TSimd.Broadcast(TLayout.Packed ? a + off + 5 : a3 + a2);
        c50 = TSimd.MultiplyAdd(av, b0, c50);
        c51 = TSimd.MultiplyAdd(av, b1, c51);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow(T* c, TV x0, TV x1, TV alpha, nint w)
    {
        TSimd.Store(c, TSimd.Multiply(alpha, x0));
        TSimd.Store(c + w, TSimd.Multiply(alpha, x1));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddRow(T* c, TV x0, TV x1, TV alpha, nint w)
    {
        TSimd.Store(c, TSimd.MultiplyAdd(alpha, x0, TSimd.Load(c)));
        TSimd.Store(c + w, TSimd.MultiplyAdd(alpha, x1, TSimd.Load(c + w)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void UpdateRow(T* c, TV x0, TV x1, TV alpha, TV beta, nint w)
    {
        TSimd.Store(c, TSimd.MultiplyAdd(alpha, x0, TSimd.Multiply(beta, TSimd.Load(c))));
        TSimd.Store(c + w, TSimd.MultiplyAdd(alpha, x1, TSimd.Multiply(beta, TSimd.Load(c + w))));
    }
}
