using System.Numerics;
using ILGPU;

namespace Flatness.Kernels.Gpu;

/// <summary>A strided row-major matrix inside a device buffer, as kernels see it.</summary>
internal struct StridedMatrix
{
    public long Offset, Stride;
    public int Rows, Cols;
}

/// <summary>
/// Element-wise, reduction and structured-measurement kernels. Each is a plain static method, loaded once per
/// accelerator and element type by <see cref="GpuOps{T}"/>.
/// </summary>
internal static class VectorKernels<T> where T : unmanaged, INumber<T>
{
    /// <summary>Largest group used by <see cref="DotStage"/> (shared scratch per group).</summary>
    public const int MaxReduceGroup = 256;

    /// <summary>z[i] = alpha x[i] + beta y[i].</summary>
    public static void Axpby(Index1D i, T alpha, ArrayView<T> x, T beta, ArrayView<T> y, ArrayView<T> z) =>
        z[i] = alpha * x[i] + beta * y[i];

    /// <summary>One stage of a deterministic two-stage dot product: group g sums x[xo+t] y[yo+t] (y = 1 when
    /// useY is 0) over a grid-stride range and writes alpha times its total to output[outIndex + g].</summary>
    public static void DotStage(ArrayView<T> x, long xo, ArrayView<T> y, long yo, int useY, long n, T alpha,
        ArrayView<T> output, int outIndex)
    {
        var scratch = SharedMemory.Allocate<T>(MaxReduceGroup);
        int tid = Group.IdxX;
        int size = Group.DimX;
        long step = (long)size * Grid.DimX;
        T sum = T.Zero;
        for (long t = (long)Grid.IdxX * size + tid; t < n; t += step)
            sum += useY != 0 ? x[xo + t] * y[yo + t] : x[xo + t];
        scratch[tid] = sum;
        Group.Barrier();
        for (int s = size / 2; s > 0; s /= 2)
        {
            if (tid < s) scratch[tid] += scratch[tid + s];
            Group.Barrier();
        }
        if (tid == 0) output[outIndex + Grid.IdxX] = alpha * scratch[0];
    }

    /// <summary>out[o + i] = alpha sum_c X[i,c] Y[i,c] (row-wise dot products; with X = Y squared row norms).</summary>
    public static void RowDots(Index1D i, StridedMatrix xm, ArrayView<T> x, StridedMatrix ym, ArrayView<T> y, T alpha,
        ArrayView<T> output, long o)
    {
        T sum = T.Zero;
        long xr = xm.Offset + i * xm.Stride;
        long yr = ym.Offset + i * ym.Stride;
        for (int c = 0; c < xm.Cols; c++) sum += x[xr + c] * y[yr + c];
        output[o + i] = alpha * sum;
    }

    /// <summary>out[o + c] = sum_r X[r,c]^2 (squared column norms), one thread per column.</summary>
    public static void ColNormsSquared(Index1D c, StridedMatrix xm, ArrayView<T> x, ArrayView<T> output, long o)
    {
        T sum = T.Zero;
        for (int r = 0; r < xm.Rows; r++)
        {
            T v = x[xm.Offset + r * xm.Stride + c];
            sum += v * v;
        }
        output[o + c] = sum;
    }

    /// <summary>Y[r,c] = alpha s[so + r] X[r,c] (row scaling by a vector), one thread per element.</summary>
    public static void ScaleRows(Index1D e, StridedMatrix xm, ArrayView<T> x, ArrayView<T> s, long so, T alpha,
        StridedMatrix ym, ArrayView<T> y)
    {
        int r = e / xm.Cols;
        int c = e - r * xm.Cols;
        y[ym.Offset + r * ym.Stride + c] = alpha * s[so + r] * x[xm.Offset + r * xm.Stride + c];
    }

    /// <summary>Y[r,c] = alpha s[so + c] X[r,c] (column scaling by a vector), one thread per element.</summary>
    public static void ScaleCols(Index1D e, StridedMatrix xm, ArrayView<T> x, ArrayView<T> s, long so, T alpha,
        StridedMatrix ym, ArrayView<T> y)
    {
        int r = e / xm.Cols;
        int c = e - r * xm.Cols;
        y[ym.Offset + r * ym.Stride + c] = alpha * s[so + c] * x[xm.Offset + r * xm.Stride + c];
    }

    /// <summary>Y = X for strided matrices, one thread per element.</summary>
    public static void Copy(Index1D e, StridedMatrix xm, ArrayView<T> x, StridedMatrix ym, ArrayView<T> y)
    {
        int r = e / xm.Cols;
        int c = e - r * xm.Cols;
        y[ym.Offset + r * ym.Stride + c] = x[xm.Offset + r * xm.Stride + c];
    }

    /// <summary>Matrix completion forward: f[i] = scale E[row_i, col_i] (E is dense with <paramref name="cols"/> columns, from offset eo).</summary>
    public static void Gather(Index1D i, ArrayView<T> e, long eo, int cols, ArrayView<int> rowIndex, ArrayView<int> colIndex,
        T scale, ArrayView<T> f) =>
        f[i] = scale * e[eo + rowIndex[i] * cols + colIndex[i]];

    /// <summary>Matrix completion adjoint, deterministic: cell t of Z (row-major) sums alpha w[order[p]] over the
    /// measurements p in [start[t], start[t+1]) that observe it (a CSR grouping built once on the host).</summary>
    public static void CellSums(Index1D t, ArrayView<int> start, ArrayView<int> order, ArrayView<T> w, T alpha, ArrayView<T> z)
    {
        T sum = T.Zero;
        for (int p = start[t]; p < start[t + 1]; p++) sum += w[order[p]];
        z[t] = alpha * sum;
    }

    /// <summary>
    /// Rearranges a block of rows of M = (1/n) X^T X (rows (a, b) for a in [a0, a0 + rows/d0), columns (c, e)) into
    /// the Gram operator K[(a,c),(b,e)] (d_L^2 x d_0^2, row-major). One thread per element of the block.
    /// </summary>
    public static void PermuteGram(Index1D idx, ArrayView<T> block, int a0, int dl, int d0, ArrayView<T> k)
    {
        int width = dl * d0;
        int localRow = idx / width;
        int col = idx - localRow * width;
        int a = a0 + localRow / d0;
        int b = localRow - (localRow / d0) * d0;
        int c = col / d0;
        int e = col - c * d0;
        long d02 = (long)d0 * d0;
        k[((long)a * dl + c) * d02 + (long)b * d0 + e] = block[idx];
    }
}
