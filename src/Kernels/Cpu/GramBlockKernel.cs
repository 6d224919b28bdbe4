using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Flatness.Kernels.Cpu;

/// <summary>A compile-time switch of <see cref="GramBlockKernel{T, TV, TSimd}.Sweep"/>: the JIT drops the code it turns off.</summary>
internal interface ISwitch
{
    static abstract bool On { get; }
}

internal readonly struct SwitchOn : ISwitch
{
    public static bool On => true;
}

internal readonly struct SwitchOff : ISwitch
{
    public static bool On => false;
}

/// <summary>The vector registers <see cref="GramBlockKernel{T, TV, TSimd}.RowsResident"/> may fill.</summary>
internal static class ResidentRows
{
    /// <summary>
    /// Most full vectors of a row that stay in registers: twice this many (e_c and y_c), with the accumulators, must fit
    /// the vector register file. 8 with AVX-512's 32 registers (whatever the width used), else 4 (AVX2 has 16; the
    /// same is assumed elsewhere).
    /// </summary>
    public static int MaxVectors => Vector512.IsHardwareAccelerated ? 8 : 4;

    /// <summary>
    /// Whether the loss rows may take S and S* into <see cref="GramBlockKernel{T, TV, TSimd}.RowsResident"/> too:
    /// measured with AVX-512's 32 registers only (with 16 the S and S* accumulators would spill).
    /// </summary>
    public static bool WithSides => Vector512.IsHardwareAccelerated;
}

/// <summary>
/// The vector loop of the pass over K (<see cref="GramOperator"/>): one sweep over a d_0 x d_0 block C = C_ac that
/// serves, from each vector of C loaded once, an S dot product &lt;C, H&gt;, an S* update Acc += w C and the rows of
/// M vec(E): y_a[b] += &lt;C[b,:], e_c&gt; and, off the diagonal (a != c), y_c += e_a[b] C[b,:]. Each part is a
/// compile-time switch, so one sweep costs only the parts it does. For rows of 4 to 8 full vectors,
/// <see cref="RowsResident"/> goes one row at a time in storage order with e_c and y_c in registers, doing the loss rows
/// alone (a Hessian-vector product's pass) or beside an S right-hand side, an S* one, or both. Otherwise S and S* run over the
/// chunk as one flat array and the loss rows go four at a time after them (the chunk is then in L1), into per-row lane
/// sums that the pass adds up once at its end; a pass of the loss rows alone (<see cref="LossRowsStreaming"/>) goes
/// one row at a time, so the hardware prefetcher follows K (measured: the four-row form with lane sums made the
/// Hessian-vector product 1.6-2x slower). Row tails are done with 128-bit vectors and at most 3 scalars (with scalar
/// tails a 50-float row left 18 floats to scalar code, and float32 ran slower than float64).
/// </summary>
internal static unsafe class GramBlockKernel<T, TV, TSimd>
    where T : unmanaged, IFloatingPointIeee754<T>
    where TV : unmanaged
    where TSimd : struct, ISimd<T, TV>
{
    /// <summary>
    /// One sweep over a chunk <paramref name="c"/> of a block (<paramref name="rows"/> rows of d0, contiguous), with
    /// at least one of <typeparamref name="TS"/> and <typeparamref name="TAdjoint"/> on. Returns &lt;C, H&gt; when
    /// <typeparamref name="TS"/> is on (else 0); adds <paramref name="w"/> C to <paramref name="acc"/> when
    /// <typeparamref name="TAdjoint"/> is on; adds the loss rows when <typeparamref name="TLoss"/> is on
    /// (<paramref name="ec"/> row c of E, <paramref name="ea"/> the chunk's entries of row a, <paramref name="ya"/> and
    /// <paramref name="yaLanes"/> its entries of row a of M vec E and of their lane sums, <paramref name="yc"/> row c
    /// of M vec E; y_c only when <typeparamref name="TOffDiagonal"/> is on).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static T Sweep<TS, TAdjoint, TLoss, TOffDiagonal>(T* c, int rows, int d0, T* h, T* acc, T w, T* ec, T* ea, T* ya, T* yaLanes, T* yc)
        where TS : struct, ISwitch
        where TAdjoint : struct, ISwitch
        where TLoss : struct, ISwitch
        where TOffDiagonal : struct, ISwitch
    {
        T dot = Flat<TS, TAdjoint>(c, rows * d0, h, acc, w);
        if (TLoss.On) LossRows<TOffDiagonal>(c, rows, d0, ec, ea, ya, yaLanes, yc); // the chunk is in L1 now
        return dot;
    }

    /// <summary>&lt;C, H&gt; and Acc += w C over the chunk as one flat array, four vectors at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static T Flat<TS, TAdjoint>(T* c, int n, T* h, T* acc, T w)
        where TS : struct, ISwitch
        where TAdjoint : struct, ISwitch
    {
        int lanes = TSimd.Count, i = 0;
        TV s0 = TSimd.Zero, s1 = TSimd.Zero, s2 = TSimd.Zero, s3 = TSimd.Zero, wv = TSimd.Splat(w);
        for (; i <= n - 4 * lanes; i += 4 * lanes)
        {
            TV v0 = TSimd.Load(c + i), v1 = TSimd.Load(c + i + lanes), v2 = TSimd.Load(c + i + 2 * lanes), v3 = TSimd.Load(c + i + 3 * lanes);
            if (TS.On)
            {
                s0 = TSimd.MultiplyAdd(v0, TSimd.Load(h + i), s0);
                s1 = TSimd.MultiplyAdd(v1, TSimd.Load(h + i + lanes), s1);
                s2 = TSimd.MultiplyAdd(v2, TSimd.Load(h + i + 2 * lanes), s2);
                s3 = TSimd.MultiplyAdd(v3, TSimd.Load(h + i + 3 * lanes), s3);
            }
            if (TAdjoint.On)
            {
                TSimd.Store(acc + i, TSimd.MultiplyAdd(wv, v0, TSimd.Load(acc + i)));
                TSimd.Store(acc + i + lanes, TSimd.MultiplyAdd(wv, v1, TSimd.Load(acc + i + lanes)));
                TSimd.Store(acc + i + 2 * lanes, TSimd.MultiplyAdd(wv, v2, TSimd.Load(acc + i + 2 * lanes)));
                TSimd.Store(acc + i + 3 * lanes, TSimd.MultiplyAdd(wv, v3, TSimd.Load(acc + i + 3 * lanes)));
            }
        }
        for (; i <= n - lanes; i += lanes)
        {
            TV v0 = TSimd.Load(c + i);
            if (TS.On) s0 = TSimd.MultiplyAdd(v0, TSimd.Load(h + i), s0);
            if (TAdjoint.On) TSimd.Store(acc + i, TSimd.MultiplyAdd(wv, v0, TSimd.Load(acc + i)));
        }
        Vector128<T> sNarrow = Vector128<T>.Zero, wNarrow = Vector128.Create(w);
        for (; i <= n - Vector128<T>.Count; i += Vector128<T>.Count)
        {
            var v0 = Vector128.Load(c + i);
            if (TS.On) sNarrow = Fma128(v0, Vector128.Load(h + i), sNarrow);
            if (TAdjoint.On) Fma128(wNarrow, v0, Vector128.Load(acc + i)).Store(acc + i);
        }
        T sum = TS.On ? TSimd.Sum(TSimd.Add(TSimd.Add(s0, s1), TSimd.Add(s2, s3))) + Vector128.Sum(sNarrow) : T.Zero;
        for (; i < n; i++)
        {
            if (TS.On) sum += c[i] * h[i];
            if (TAdjoint.On) acc[i] += w * c[i];
        }
        return sum;
    }

    /// <summary>
    /// Rows of M vec(E) one at a time in storage order, with a sum per row: the loss product alone (a
    /// Hessian-vector product's pass), where K streams from memory and the hardware prefetcher follows the rows, and
    /// the rows a four-row group leaves over.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void LossRowsStreaming<TOffDiagonal>(T* c, int rows, int d0, T* ec, T* ea, T* ya, T* yc)
        where TOffDiagonal : struct, ISwitch
    {
        int lanes = TSimd.Count;
        for (int b = 0; b < rows; b++)
        {
            T* row = c + (nint)b * d0;
            T eab = TOffDiagonal.On ? ea[b] : T.Zero;
            TV l0 = TSimd.Zero, l1 = TSimd.Zero, scale = TSimd.Splat(eab);
            int i = 0;
            for (; i <= d0 - 2 * lanes; i += 2 * lanes)
            {
                TV v0 = TSimd.Load(row + i), v1 = TSimd.Load(row + i + lanes);
                l0 = TSimd.MultiplyAdd(v0, TSimd.Load(ec + i), l0);
                l1 = TSimd.MultiplyAdd(v1, TSimd.Load(ec + i + lanes), l1);
                if (TOffDiagonal.On)
                {
                    TSimd.Store(yc + i, TSimd.MultiplyAdd(scale, v0, TSimd.Load(yc + i)));
                    TSimd.Store(yc + i + lanes, TSimd.MultiplyAdd(scale, v1, TSimd.Load(yc + i + lanes)));
                }
            }
            if (i <= d0 - lanes)
            {
                TV v0 = TSimd.Load(row + i);
                l0 = TSimd.MultiplyAdd(v0, TSimd.Load(ec + i), l0);
                if (TOffDiagonal.On) TSimd.Store(yc + i, TSimd.MultiplyAdd(scale, v0, TSimd.Load(yc + i)));
                i += lanes;
            }
            ya[b] += TSimd.Sum(TSimd.Add(l0, l1)) + RowTail<TOffDiagonal>(row, ec, yc, eab, i, d0);
        }
    }

    /// <summary>
    /// The rows of M vec(E) for two products at once (a block of Hessian-vector products): <paramref name="e0"/> and
    /// <paramref name="e1"/> are the two E, <paramref name="y0"/> and <paramref name="y1"/> their M vec E, all with
    /// row stride d_0 and pointing at row a's entries of the chunk (<paramref name="toRowC"/> further on is row c).
    /// Two rows by two products at a time: each vector of K and of e_c is loaded once for both of the other kind, and
    /// y_c is read and written once per two rows, half the loads and stores of <see cref="LossRowsStreaming"/> run
    /// once per product (measured: a block of four 1.06-1.3x cheaper, bench/results/gram-pass.md; the row sums and
    /// tails remain). An odd last row goes through <see cref="LossRowsStreaming"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void LossRowsTwoProducts<TOffDiagonal>(T* c, int rows, int d0, T* e0, T* e1, T* y0, T* y1, nint toRowC)
        where TOffDiagonal : struct, ISwitch
    {
        int lanes = TSimd.Count;
        T* ec0 = e0 + toRowC, ec1 = e1 + toRowC, yc0 = y0 + toRowC, yc1 = y1 + toRowC;
        int b = 0;
        for (; b <= rows - 2; b += 2)
        {
            T* r0 = c + (nint)b * d0, r1 = r0 + d0;
            // w{product}{row}: e_a[b] of each product, the weights of the two rows in y_c's update.
            T w00 = TOffDiagonal.On ? e0[b] : T.Zero, w01 = TOffDiagonal.On ? e0[b + 1] : T.Zero;
            T w10 = TOffDiagonal.On ? e1[b] : T.Zero, w11 = TOffDiagonal.On ? e1[b + 1] : T.Zero;
            TV s00 = TSimd.Splat(w00), s01 = TSimd.Splat(w01), s10 = TSimd.Splat(w10), s11 = TSimd.Splat(w11);
            // Each (product, row) dot in two accumulators, even and odd vectors, as LossRowsStreaming sums: a block's
            // products are the same bits as one product per pass.
            TV d00 = TSimd.Zero, d01 = TSimd.Zero, d10 = TSimd.Zero, d11 = TSimd.Zero;
            TV o00 = TSimd.Zero, o01 = TSimd.Zero, o10 = TSimd.Zero, o11 = TSimd.Zero;
            int i = 0;
            for (; i <= d0 - 2 * lanes; i += 2 * lanes)
            {
                Step<TOffDiagonal>(r0 + i, r1 + i, ec0 + i, ec1 + i, yc0 + i, yc1 + i, s00, s01, s10, s11, ref d00, ref d01, ref d10, ref d11);
                Step<TOffDiagonal>(r0 + i + lanes, r1 + i + lanes, ec0 + i + lanes, ec1 + i + lanes, yc0 + i + lanes, yc1 + i + lanes,
                    s00, s01, s10, s11, ref o00, ref o01, ref o10, ref o11);
            }
            if (i <= d0 - lanes)
            {
                Step<TOffDiagonal>(r0 + i, r1 + i, ec0 + i, ec1 + i, yc0 + i, yc1 + i, s00, s01, s10, s11, ref d00, ref d01, ref d10, ref d11);
                i += lanes;
            }
            T t00 = TSimd.Sum(TSimd.Add(d00, o00)), t01 = TSimd.Sum(TSimd.Add(d01, o01));
            T t10 = TSimd.Sum(TSimd.Add(d10, o10)), t11 = TSimd.Sum(TSimd.Add(d11, o11));
            // The tails as one product per pass does them (disjoint from the full vectors, so y_c sees the same order).
            y0[b] += t00 + RowTail<TOffDiagonal>(r0, ec0, yc0, w00, i, d0);
            y0[b + 1] += t01 + RowTail<TOffDiagonal>(r1, ec0, yc0, w01, i, d0);
            y1[b] += t10 + RowTail<TOffDiagonal>(r0, ec1, yc1, w10, i, d0);
            y1[b + 1] += t11 + RowTail<TOffDiagonal>(r1, ec1, yc1, w11, i, d0);
        }
        if (b < rows)
        {
            T* last = c + (nint)b * d0;
            LossRowsStreaming<TOffDiagonal>(last, 1, d0, ec0, e0 + b, y0 + b, TOffDiagonal.On ? yc0 : null);
            LossRowsStreaming<TOffDiagonal>(last, 1, d0, ec1, e1 + b, y1 + b, TOffDiagonal.On ? yc1 : null);
        }
    }

    /// <summary>One vector of two rows for two products in <see cref="LossRowsTwoProducts"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Step<TOffDiagonal>(T* r0, T* r1, T* ec0, T* ec1, T* yc0, T* yc1, TV s00, TV s01, TV s10, TV s11,
        ref TV d00, ref TV d01, ref TV d10, ref TV d11)
        where TOffDiagonal : struct, ISwitch
    {
        TV v0 = TSimd.Load(r0), v1 = TSimd.Load(r1), x0 = TSimd.Load(ec0), x1 = TSimd.Load(ec1);
        d00 = TSimd.MultiplyAdd(v0, x0, d00);
        d01 = TSimd.MultiplyAdd(v1, x0, d01);
        d10 = TSimd.MultiplyAdd(v0, x1, d10);
        d11 = TSimd.MultiplyAdd(v1, x1, d11);
        if (TOffDiagonal.On)
        {
            TSimd.Store(yc0, TSimd.MultiplyAdd(s01, v1, TSimd.MultiplyAdd(s00, v0, TSimd.Load(yc0))));
            TSimd.Store(yc1, TSimd.MultiplyAdd(s11, v1, TSimd.MultiplyAdd(s10, v0, TSimd.Load(yc1))));
        }
    }

    /// <summary>
    /// A row's last elements from <paramref name="i"/> (fewer than a full vector): 128-bit vectors, then at most 3
    /// scalars. Returns their part of &lt;row, e_c&gt; and adds eab times them to y_c (off the diagonal); with
    /// <typeparamref name="TS"/> adds their part of &lt;row, h&gt; to <paramref name="sDot"/>, with
    /// <typeparamref name="TAdjoint"/> w times them to acc.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T RowTail<TS, TAdjoint, TOffDiagonal>(T* row, T* h, T* acc, T w, ref T sDot, T* ec, T* yc, T eab, int i, int d0)
        where TS : struct, ISwitch
        where TAdjoint : struct, ISwitch
        where TOffDiagonal : struct, ISwitch
    {
        int narrow = Vector128<T>.Count;
        Vector128<T> dot = Vector128<T>.Zero, sNarrow = Vector128<T>.Zero, scale = Vector128.Create(eab), wNarrow = Vector128.Create(w);
        for (; i <= d0 - narrow; i += narrow)
        {
            var v = Vector128.Load(row + i);
            dot = Fma128(v, Vector128.Load(ec + i), dot);
            if (TOffDiagonal.On) Fma128(scale, v, Vector128.Load(yc + i)).Store(yc + i);
            if (TS.On) sNarrow = Fma128(v, Vector128.Load(h + i), sNarrow);
            if (TAdjoint.On) Fma128(wNarrow, v, Vector128.Load(acc + i)).Store(acc + i);
        }
        T sum = Vector128.Sum(dot);
        if (TS.On) sDot += Vector128.Sum(sNarrow);
        for (; i < d0; i++)
        {
            sum += row[i] * ec[i];
            if (TOffDiagonal.On) yc[i] += eab * row[i];
            if (TS.On) sDot += row[i] * h[i];
            if (TAdjoint.On) acc[i] += w * row[i];
        }
        return sum;
    }

    /// <summary>A row's last elements for the loss alone (see <see cref="RowTail{TS, TAdjoint, TOffDiagonal}"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T RowTail<TOffDiagonal>(T* row, T* ec, T* yc, T eab, int i, int d0)
        where TOffDiagonal : struct, ISwitch
    {
        T unused = T.Zero;
        return RowTail<SwitchOff, SwitchOff, TOffDiagonal>(row, null, null, T.Zero, ref unused, ec, yc, eab, i, d0);
    }

    /// <summary>
    /// One sweep over a chunk of rows of at most <see cref="ResidentRows.MaxVectors"/> full vectors (plus a tail) that serves
    /// the loss rows and, as switched on, an S dot product &lt;C, H&gt; (returned; else 0) and an S* update
    /// Acc += w C, row by row in storage order: e_c and the running y_c stay in registers for the whole chunk, so a
    /// row costs its own loads and FMAs only (y_c is stored once per chunk instead of read and written by every row,
    /// whose stores the next row's loads waited on), and each vector of K is loaded once for all the parts (see
    /// <see cref="GramOperator"/> for the measurement). <paramref name="h"/> and <paramref name="acc"/> point at the
    /// chunk's rows of H and Acc.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static T RowsResident<TS, TAdjoint, TOffDiagonal>(T* c, int rows, int d0, T* h, T* acc, T w, T* ec, T* ea, T* ya, T* yc)
        where TS : struct, ISwitch
        where TAdjoint : struct, ISwitch
        where TOffDiagonal : struct, ISwitch
    {
        int lanes = TSimd.Count, nv = d0 / lanes;
        TV x0 = nv > 0 ? TSimd.Load(ec) : TSimd.Zero, x1 = nv > 1 ? TSimd.Load(ec + lanes) : TSimd.Zero;
        TV x2 = nv > 2 ? TSimd.Load(ec + 2 * lanes) : TSimd.Zero, x3 = nv > 3 ? TSimd.Load(ec + 3 * lanes) : TSimd.Zero;
        TV x4 = nv > 4 ? TSimd.Load(ec + 4 * lanes) : TSimd.Zero, x5 = nv > 5 ? TSimd.Load(ec + 5 * lanes) : TSimd.Zero;
        TV x6 = nv > 6 ? TSimd.Load(ec + 6 * lanes) : TSimd.Zero, x7 = nv > 7 ? TSimd.Load(ec + 7 * lanes) : TSimd.Zero;
        TV y0 = TSimd.Zero, y1 = TSimd.Zero, y2 = TSimd.Zero, y3 = TSimd.Zero, y4 = TSimd.Zero, y5 = TSimd.Zero, y6 = TSimd.Zero, y7 = TSimd.Zero;
        TV sDot = TSimd.Zero, sDot2 = TSimd.Zero, wv = TSimd.Splat(w);
        T sTail = T.Zero;
        int tail = nv * lanes;
        for (int b = 0; b < rows; b++)
        {
            nint offset = (nint)b * d0;
            T* row = c + offset, hr = h + offset, ar = acc + offset;
            T eab = TOffDiagonal.On ? ea[b] : T.Zero;
            TV s = TSimd.Splat(eab), dot = TSimd.Zero, dot2 = TSimd.Zero;
            if (nv > 0) Part<TS, TAdjoint, TOffDiagonal>(row, hr, ar, 0, x0, ref y0, ref dot, ref sDot, s, wv);
            if (nv > 1) Part<TS, TAdjoint, TOffDiagonal>(row, hr, ar, lanes, x1, ref y1, ref dot2, ref sDot2, s, wv);
            if (nv > 2) Part<TS, TAdjoint, TOffDiagonal>(row, hr, ar, 2 * lanes, x2, ref y2, ref dot, ref sDot, s, wv);
            if (nv > 3) Part<TS, TAdjoint, TOffDiagonal>(row, hr, ar, 3 * lanes, x3, ref y3, ref dot2, ref sDot2, s, wv);
            if (nv > 4) Part<TS, TAdjoint, TOffDiagonal>(row, hr, ar, 4 * lanes, x4, ref y4, ref dot, ref sDot, s, wv);
            if (nv > 5) Part<TS, TAdjoint, TOffDiagonal>(row, hr, ar, 5 * lanes, x5, ref y5, ref dot2, ref sDot2, s, wv);
            if (nv > 6) Part<TS, TAdjoint, TOffDiagonal>(row, hr, ar, 6 * lanes, x6, ref y6, ref dot, ref sDot, s, wv);
            if (nv > 7) Part<TS, TAdjoint, TOffDiagonal>(row, hr, ar, 7 * lanes, x7, ref y7, ref dot2, ref sDot2, s, wv);
            ya[b] += TSimd.Sum(TSimd.Add(dot, dot2)) + RowTail<TS, TAdjoint, TOffDiagonal>(row, hr, ar, w, ref sTail, ec, yc, eab, tail, d0);
        }
        if (TOffDiagonal.On)
        {
            if (nv > 0) TSimd.Store(yc, TSimd.Add(TSimd.Load(yc), y0));
            if (nv > 1) TSimd.Store(yc + lanes, TSimd.Add(TSimd.Load(yc + lanes), y1));
            if (nv > 2) TSimd.Store(yc + 2 * lanes, TSimd.Add(TSimd.Load(yc + 2 * lanes), y2));
            if (nv > 3) TSimd.Store(yc + 3 * lanes, TSimd.Add(TSimd.Load(yc + 3 * lanes), y3));
            if (nv > 4) TSimd.Store(yc + 4 * lanes, TSimd.Add(TSimd.Load(yc + 4 * lanes), y4));
            if (nv > 5) TSimd.Store(yc + 5 * lanes, TSimd.Add(TSimd.Load(yc + 5 * lanes), y5));
            if (nv > 6) TSimd.Store(yc + 6 * lanes, TSimd.Add(TSimd.Load(yc + 6 * lanes), y6));
            if (nv > 7) TSimd.Store(yc + 7 * lanes, TSimd.Add(TSimd.Load(yc + 7 * lanes), y7));
        }
        return TS.On ? TSimd.Sum(TSimd.Add(sDot, sDot2)) + sTail : T.Zero;
    }

    /// <summary>One full vector of a row in <see cref="RowsResident"/>: the loss dot and y_c, the S dot, the S* update.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Part<TS, TAdjoint, TOffDiagonal>(T* row, T* h, T* acc, int offset, TV x, ref TV y, ref TV dot, ref TV sDot, TV s, TV wv)
        where TS : struct, ISwitch
        where TAdjoint : struct, ISwitch
        where TOffDiagonal : struct, ISwitch
    {
        TV v = TSimd.Load(row + offset);
        dot = TSimd.MultiplyAdd(v, x, dot);
        if (TOffDiagonal.On) y = TSimd.MultiplyAdd(s, v, y);
        if (TS.On) sDot = TSimd.MultiplyAdd(v, TSimd.Load(h + offset), sDot);
        if (TAdjoint.On) TSimd.Store(acc + offset, TSimd.MultiplyAdd(wv, v, TSimd.Load(acc + offset)));
    }

    /// <summary>
    /// <see cref="RowsResident"/> with the parts chosen at run time; not inlined (one call per chunk), so that its eight
    /// variants do not swell the pass's loop around the flat sweeps.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static T RowsResident(bool s, bool adjoint, bool offDiagonal, T* c, int rows, int d0, T* h, T* acc, T w, T* ec, T* ea, T* ya, T* yc) =>
        s ? ResidentAdjoint<SwitchOn>(adjoint, offDiagonal, c, rows, d0, h, acc, w, ec, ea, ya, yc)
          : ResidentAdjoint<SwitchOff>(adjoint, offDiagonal, c, rows, d0, h, acc, w, ec, ea, ya, yc);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T ResidentAdjoint<TS>(bool adjoint, bool offDiagonal, T* c, int rows, int d0, T* h, T* acc, T w, T* ec, T* ea, T* ya, T* yc)
        where TS : struct, ISwitch =>
        adjoint ? ResidentOffDiagonal<TS, SwitchOn>(offDiagonal, c, rows, d0, h, acc, w, ec, ea, ya, yc)
                : ResidentOffDiagonal<TS, SwitchOff>(offDiagonal, c, rows, d0, h, acc, w, ec, ea, ya, yc);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T ResidentOffDiagonal<TS, TAdjoint>(bool offDiagonal, T* c, int rows, int d0, T* h, T* acc, T w, T* ec, T* ea, T* ya, T* yc)
        where TS : struct, ISwitch
        where TAdjoint : struct, ISwitch =>
        offDiagonal ? RowsResident<TS, TAdjoint, SwitchOn>(c, rows, d0, h, acc, w, ec, ea, ya, yc)
                    : RowsResident<TS, TAdjoint, SwitchOff>(c, rows, d0, h, acc, w, ec, ea, ya, yc);

    /// <summary>The rows of M vec(E) from one block (see the class summary).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void LossRows<TOffDiagonal>(T* c, int rows, int d0, T* ec, T* ea, T* ya, T* yaLanes, T* yc)
        where TOffDiagonal : struct, ISwitch
    {
        int lanes = TSimd.Count, narrow = Vector128<T>.Count;
        int b = 0;
        // Four rows at a time: e_c and y_c are loaded once for the four, and y_c's update does not wait on the
        // previous row's store.
        for (; b <= rows - 4; b += 4)
        {
            T* r0 = c + (nint)b * d0, r1 = r0 + d0, r2 = r1 + d0, r3 = r2 + d0;
            T w0 = TOffDiagonal.On ? ea[b] : T.Zero, w1 = TOffDiagonal.On ? ea[b + 1] : T.Zero;
            T w2 = TOffDiagonal.On ? ea[b + 2] : T.Zero, w3 = TOffDiagonal.On ? ea[b + 3] : T.Zero;
            T* l = yaLanes + (nint)b * lanes;
            TV d0v = TSimd.Load(l), d1v = TSimd.Load(l + lanes), d2v = TSimd.Load(l + 2 * lanes), d3v = TSimd.Load(l + 3 * lanes);
            TV s0 = TSimd.Splat(w0), s1 = TSimd.Splat(w1), s2 = TSimd.Splat(w2), s3 = TSimd.Splat(w3);
            int i = 0;
            for (; i <= d0 - lanes; i += lanes)
            {
                TV x = TSimd.Load(ec + i);
                TV v0 = TSimd.Load(r0 + i), v1 = TSimd.Load(r1 + i), v2 = TSimd.Load(r2 + i), v3 = TSimd.Load(r3 + i);
                d0v = TSimd.MultiplyAdd(v0, x, d0v);
                d1v = TSimd.MultiplyAdd(v1, x, d1v);
                d2v = TSimd.MultiplyAdd(v2, x, d2v);
                d3v = TSimd.MultiplyAdd(v3, x, d3v);
                if (TOffDiagonal.On)
                {
                    TV y = TSimd.MultiplyAdd(s0, v0, TSimd.Load(yc + i));
                    y = TSimd.MultiplyAdd(s1, v1, y);
                    y = TSimd.MultiplyAdd(s2, v2, y);
                    TSimd.Store(yc + i, TSimd.MultiplyAdd(s3, v3, y));
                }
            }
            TSimd.Store(l, d0v);
            TSimd.Store(l + lanes, d1v);
            TSimd.Store(l + 2 * lanes, d2v);
            TSimd.Store(l + 3 * lanes, d3v);
            Vector128<T> n0 = Vector128<T>.Zero, n1 = Vector128<T>.Zero, n2 = Vector128<T>.Zero, n3 = Vector128<T>.Zero;
            for (; i <= d0 - narrow; i += narrow)
            {
                var x = Vector128.Load(ec + i);
                Vector128<T> v0 = Vector128.Load(r0 + i), v1 = Vector128.Load(r1 + i), v2 = Vector128.Load(r2 + i), v3 = Vector128.Load(r3 + i);
                n0 = Fma128(v0, x, n0);
                n1 = Fma128(v1, x, n1);
                n2 = Fma128(v2, x, n2);
                n3 = Fma128(v3, x, n3);
                if (TOffDiagonal.On)
                {
                    var y = Fma128(Vector128.Create(w0), v0, Vector128.Load(yc + i));
                    y = Fma128(Vector128.Create(w1), v1, y);
                    y = Fma128(Vector128.Create(w2), v2, y);
                    Fma128(Vector128.Create(w3), v3, y).Store(yc + i);
                }
            }
            T t0 = Vector128.Sum(n0), t1 = Vector128.Sum(n1), t2 = Vector128.Sum(n2), t3 = Vector128.Sum(n3);
            for (; i < d0; i++)
            {
                T x = ec[i];
                t0 += r0[i] * x;
                t1 += r1[i] * x;
                t2 += r2[i] * x;
                t3 += r3[i] * x;
                if (TOffDiagonal.On) yc[i] += w0 * r0[i] + w1 * r1[i] + w2 * r2[i] + w3 * r3[i];
            }
            ya[b] += t0;
            ya[b + 1] += t1;
            ya[b + 2] += t2;
            ya[b + 3] += t3;
        }
        if (b < rows) LossRowsStreaming<TOffDiagonal>(c + (nint)b * d0, rows - b, d0, ec, ea + b, ya + b, yc);
    }

    /// <summary><see cref="Sweep{TS, TAdjoint, TLoss, TOffDiagonal}"/> with the parts chosen at run time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Sweep(bool s, bool adjoint, bool loss, bool offDiagonal, T* c, int rows, int d0, T* h, T* acc, T w, T* ec, T* ea, T* ya, T* yaLanes, T* yc) =>
        s ? SweepAdjoint<SwitchOn>(adjoint, loss, offDiagonal, c, rows, d0, h, acc, w, ec, ea, ya, yaLanes, yc)
          : SweepAdjoint<SwitchOff>(adjoint, loss, offDiagonal, c, rows, d0, h, acc, w, ec, ea, ya, yaLanes, yc);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T SweepAdjoint<TS>(bool adjoint, bool loss, bool offDiagonal, T* c, int rows, int d0, T* h, T* acc, T w, T* ec, T* ea, T* ya, T* yaLanes, T* yc)
        where TS : struct, ISwitch =>
        adjoint ? SweepLoss<TS, SwitchOn>(loss, offDiagonal, c, rows, d0, h, acc, w, ec, ea, ya, yaLanes, yc)
                : SweepLoss<TS, SwitchOff>(loss, offDiagonal, c, rows, d0, h, acc, w, ec, ea, ya, yaLanes, yc);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T SweepLoss<TS, TAdjoint>(bool loss, bool offDiagonal, T* c, int rows, int d0, T* h, T* acc, T w, T* ec, T* ea, T* ya, T* yaLanes, T* yc)
        where TS : struct, ISwitch
        where TAdjoint : struct, ISwitch =>
        !loss ? Sweep<TS, TAdjoint, SwitchOff, SwitchOff>(c, rows, d0, h, acc, w, ec, ea, ya, yaLanes, yc)
        : offDiagonal ? Sweep<TS, TAdjoint, SwitchOn, SwitchOn>(c, rows, d0, h, acc, w, ec, ea, ya, yaLanes, yc)
        : Sweep<TS, TAdjoint, SwitchOn, SwitchOff>(c, rows, d0, h, acc, w, ec, ea, ya, yaLanes, yc);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<T> Fma128(Vector128<T> left, Vector128<T> right, Vector128<T> addend) =>
        Simd128<T>.MultiplyAdd(left, right, addend);
}
