using System.Numerics;
using Flatness.Kernels.Cpu;
using ILGPU;
using ILGPU.Runtime;

namespace Flatness.Kernels.Gpu;

/// <summary>
/// The device kernels for one element type on one accelerator: compiled once (in the constructor), then launched
/// on the accelerator's default stream, so consecutive calls run in order without host synchronisation.
/// Shapes are checked here, at the public boundary; kernels trust them. Not thread-safe: the split-K workspace and
/// the reduction partials are shared, so one thread drives a context at a time.
/// </summary>
public sealed class GpuOps<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly GpuContext _context;
    private readonly Accelerator _acc;
    // Each kernel is compiled on its first launch and kept (compilation is the expensive part).
    private readonly Kernel<Action<KernelConfig, SpecializedValue<int>, GemmArgs<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>>> _gemm;
    private readonly Kernel<Action<Index1D, GemmArgs<T>, ArrayView<T>, ArrayView<T>>> _reduceSplits;
    private readonly Kernel<Action<Index1D, T, ArrayView<T>, T, ArrayView<T>, ArrayView<T>>> _axpby;
    private readonly Kernel<Action<KernelConfig, ArrayView<T>, long, ArrayView<T>, long, int, long, T, ArrayView<T>, int>> _dotStage;
    private readonly Kernel<Action<Index1D, StridedMatrix, ArrayView<T>, StridedMatrix, ArrayView<T>, T, ArrayView<T>, long>> _rowDots;
    private readonly Kernel<Action<Index1D, StridedMatrix, ArrayView<T>, ArrayView<T>, long>> _colNorms;
    private readonly Kernel<Action<Index1D, StridedMatrix, ArrayView<T>, ArrayView<T>, long, T, StridedMatrix, ArrayView<T>>> _scaleRows;
    private readonly Kernel<Action<Index1D, StridedMatrix, ArrayView<T>, ArrayView<T>, long, T, StridedMatrix, ArrayView<T>>> _scaleCols;
    private readonly Kernel<Action<Index1D, StridedMatrix, ArrayView<T>, StridedMatrix, ArrayView<T>>> _copy;
    private readonly Kernel<Action<Index1D, ArrayView<T>, long, int, ArrayView<int>, ArrayView<int>, T, ArrayView<T>>> _gather;
    private readonly Kernel<Action<Index1D, ArrayView<int>, ArrayView<int>, ArrayView<T>, T, ArrayView<T>>> _cellSums;
    private readonly Kernel<Action<Index1D, ArrayView<T>, int, int, int, ArrayView<T>>> _permuteGram;
    private readonly int _reduceGroup;
    private DeviceArray<T>? _workspace;
    private DeviceArray<T>? _partials;

    internal GpuOps(GpuContext context)
    {
        _context = context;
        _acc = context.Accelerator;
        string where = $"{typeof(T).Name} kernel for {context.Name}";
        _gemm = new(where, () => _acc.LoadStreamKernel<SpecializedValue<int>, GemmArgs<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>>(GemmKernel<T>.Tiled));
        _reduceSplits = new(where, () => _acc.LoadAutoGroupedStreamKernel<Index1D, GemmArgs<T>, ArrayView<T>, ArrayView<T>>(GemmKernel<T>.ReduceSplits));
        _axpby = new(where, () => _acc.LoadAutoGroupedStreamKernel<Index1D, T, ArrayView<T>, T, ArrayView<T>, ArrayView<T>>(VectorKernels<T>.Axpby));
        _dotStage = new(where, () => _acc.LoadStreamKernel<ArrayView<T>, long, ArrayView<T>, long, int, long, T, ArrayView<T>, int>(VectorKernels<T>.DotStage));
        _rowDots = new(where, () => _acc.LoadAutoGroupedStreamKernel<Index1D, StridedMatrix, ArrayView<T>, StridedMatrix, ArrayView<T>, T, ArrayView<T>, long>(VectorKernels<T>.RowDots));
        _colNorms = new(where, () => _acc.LoadAutoGroupedStreamKernel<Index1D, StridedMatrix, ArrayView<T>, ArrayView<T>, long>(VectorKernels<T>.ColNormsSquared));
        _scaleRows = new(where, () => _acc.LoadAutoGroupedStreamKernel<Index1D, StridedMatrix, ArrayView<T>, ArrayView<T>, long, T, StridedMatrix, ArrayView<T>>(VectorKernels<T>.ScaleRows));
        _scaleCols = new(where, () => _acc.LoadAutoGroupedStreamKernel<Index1D, StridedMatrix, ArrayView<T>, ArrayView<T>, long, T, StridedMatrix, ArrayView<T>>(VectorKernels<T>.ScaleCols));
        _copy = new(where, () => _acc.LoadAutoGroupedStreamKernel<Index1D, StridedMatrix, ArrayView<T>, StridedMatrix, ArrayView<T>>(VectorKernels<T>.Copy));
        _gather = new(where, () => _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, long, int, ArrayView<int>, ArrayView<int>, T, ArrayView<T>>(VectorKernels<T>.Gather));
        _cellSums = new(where, () => _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<int>, ArrayView<int>, ArrayView<T>, T, ArrayView<T>>(VectorKernels<T>.CellSums));
        _permuteGram = new(where, () => _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, int, int, int, ArrayView<T>>(VectorKernels<T>.PermuteGram));
        _reduceGroup = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Min(VectorKernels<T>.MaxReduceGroup, _acc.MaxNumThreadsPerGroup) + 1) / 2;
        MaxTileThreadsPerSide = GemmKernel<T>.MaxTd;
    }

    /// <summary>The device these operations run on.</summary>
    public GpuContext Context => _context;

    /// <summary>
    /// Upper bound on the GEMM group edge (threads per side: 4, 8 or 16; the tile edge is 8 times that). The
    /// accelerator's group limit and the matrix size may pick less. A tuning knob; every value gives the same numbers.
    /// </summary>
    public int MaxTileThreadsPerSide
    {
        get => _maxTd;
        set
        {
            if (value < 1 || value > GemmKernel<T>.MaxTd || !BitOperations.IsPow2(value))
                throw new ArgumentOutOfRangeException(nameof(value), $"threads per side must be a power of two in [1, {GemmKernel<T>.MaxTd}], got {value}");
            _maxTd = value;
        }
    }
    private int _maxTd;

    /// <summary>Threads per group of the reductions (a power of two).</summary>
    internal int ReduceGroup => _reduceGroup;

    /// <summary>A zeroed device array of <paramref name="length"/> elements, named for messages.</summary>
    /// <exception cref="GpuUnavailableException">the device could not allocate it.</exception>
    public DeviceArray<T> Allocate(long length, string name) => new(_context, length, name);

    /// <summary>A new device array holding a copy of <paramref name="data"/>.</summary>
    /// <exception cref="GpuUnavailableException">the device could not allocate it.</exception>
    public DeviceArray<T> Upload(ReadOnlySpan<T> data, string name)
    {
        var array = new DeviceArray<T>(_context, data.Length, name);
        array.Upload(data);
        return array;
    }

    /// <summary>A new device array holding a copy of the indices <paramref name="data"/>.</summary>
    /// <exception cref="GpuUnavailableException">the device could not allocate it.</exception>
    public DeviceArray<int> UploadIndices(ReadOnlySpan<int> data, string name)
    {
        var array = new DeviceArray<int>(_context, data.Length, name);
        array.Upload(data);
        return array;
    }

    // ---------------------------------------------------------------- GEMM

    /// <summary>C = alpha op(A) op(B) + beta C (row-major views; beta = 0 never reads C).</summary>
    public void Gemm(Op opA, Op opB, T alpha, DeviceMatrix<T> a, DeviceMatrix<T> b, T beta, DeviceMatrix<T> c) =>
        BatchedGemm(opA, opB, 1, alpha, a, 0, b, 0, beta, c, 0);

    /// <summary>C_i = alpha op(A_i) op(B_i) + beta C_i for i &lt; count, where X_i is the view X moved by i * stride
    /// elements (stride 0 shares one operand across the batch). One launch.</summary>
    public void BatchedGemm(Op opA, Op opB, int count, T alpha, DeviceMatrix<T> a, long aStride, DeviceMatrix<T> b, long bStride,
        T beta, DeviceMatrix<T> c, long cStride)
    {
        var p = Describe(opA, opB, a, b, c, "BatchedGemm");
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), $"BatchedGemm needs count >= 1, got {count}");
        CheckBatch(a, aStride, count, "A"); CheckBatch(b, bStride, count, "B"); CheckBatch(c, cStride, count, "C");
        p.Batch = count;
        p.ABatch = aStride; p.BBatch = bStride; p.CBatch = cStride;
        p.SegCount = 1;
        Launch(p, alpha, beta, a.Buffer, b.Buffer, c.Buffer);
    }

    /// <summary>C = alpha sum_{i &lt; count} op(A_i) op(B_i) + beta C, where X_i is the view X moved by i * stride
    /// elements: a GEMM whose inner dimension runs over stacked blocks (one launch plus a split reduction).</summary>
    public void SumOfProducts(Op opA, Op opB, int count, T alpha, DeviceMatrix<T> a, long aStride, DeviceMatrix<T> b, long bStride,
        T beta, DeviceMatrix<T> c)
    {
        var p = Describe(opA, opB, a, b, c, "SumOfProducts");
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), $"SumOfProducts needs count >= 1, got {count}");
        CheckBatch(a, aStride, count, "A"); CheckBatch(b, bStride, count, "B");
        p.Batch = 1;
        p.SegCount = count;
        p.ASeg = aStride; p.BSeg = bStride;
        Launch(p, alpha, beta, a.Buffer, b.Buffer, c.Buffer);
    }

    private static GemmArgs<T> Describe(Op opA, Op opB, DeviceMatrix<T> a, DeviceMatrix<T> b, DeviceMatrix<T> c, string what)
    {
        a.Check($"{what} A"); b.Check($"{what} B"); c.Check($"{what} C");
        int m = opA == Op.None ? a.Rows : a.Cols;
        int ka = opA == Op.None ? a.Cols : a.Rows;
        int kb = opB == Op.None ? b.Rows : b.Cols;
        int n = opB == Op.None ? b.Cols : b.Rows;
        if (ka != kb)
            throw new ArgumentException($"{what}: inner dimensions differ: op(A) is {m}x{ka}, op(B) is {kb}x{n}");
        if (c.Rows != m || c.Cols != n)
            throw new ArgumentException($"{what}: C is {c.Rows}x{c.Cols} but op(A) op(B) is {m}x{n}");
        var p = new GemmArgs<T> { M = m, N = n, SegLen = ka };
        if (opA == Op.None) { p.ARow = a.Stride; p.AK = 1; p.AKFast = 1; }
        else { p.ARow = 1; p.AK = a.Stride; p.AKFast = 0; }
        if (opB == Op.None) { p.BK = b.Stride; p.BCol = 1; p.BKFast = 0; }
        else { p.BK = 1; p.BCol = b.Stride; p.BKFast = 1; }
        p.AOff = a.Offset; p.BOff = b.Offset; p.COff = c.Offset; p.CRow = c.Stride;
        return p;
    }

    private static void CheckBatch(DeviceMatrix<T> x, long stride, int count, string name)
    {
        if (stride < 0) throw new ArgumentOutOfRangeException(nameof(stride), $"{name} batch stride {stride} is negative");
        if (x.Rows > 0 && x.Cols > 0 && x.Offset + (count - 1) * stride + (x.Rows - 1) * x.Stride + x.Cols > x.Buffer.Length)
            throw new ArgumentException($"{count} blocks of {name} ({x.Rows}x{x.Cols}, stride {stride}) run past device array '{x.Buffer.Name}' of length {x.Buffer.Length}");
    }

    /// <summary>Threads per side of a GEMM group: the largest the accelerator and the knob allow, halved while the
    /// tile (8 td) would exceed the smaller output side; GPUs keep at least 4 (16 threads per group).</summary>
    private int ChooseTd(int m, int n)
    {
        int td = Math.Min(MaxTileThreadsPerSide, GemmKernel<T>.MaxTd);
        while (td > 1 && td * td > _acc.MaxNumThreadsPerGroup) td /= 2;
        int floor = Math.Min(td, _context.Kind == GpuKind.Cpu ? 1 : 4);
        while (td > floor && Math.Min(m, n) < 8 * td) td /= 2;
        return td;
    }

    private void Launch(GemmArgs<T> p, T alpha, T beta, DeviceArray<T> a, DeviceArray<T> b, DeviceArray<T> c)
    {
        if (p.M == 0 || p.N == 0) return;
        p.Td = ChooseTd(p.M, p.N);
        int tile = 8 * p.Td;
        p.TilesM = (p.M + tile - 1) / tile;
        p.TilesN = (p.N + tile - 1) / tile;
        p.KTiles = (p.SegLen + GemmKernel<T>.Bk - 1) / GemmKernel<T>.Bk;
        p.Alpha = alpha;
        p.Beta = beta;

        // Split the inner dimension when the output alone cannot fill the device.
        long groups = (long)p.TilesM * p.TilesN * p.Batch;
        long kTiles = (long)p.SegCount * p.KTiles;
        int target = 4 * Math.Max(1, _acc.NumMultiprocessors);
        long splits = 1;
        if (groups < target && kTiles >= 16)
        {
            splits = Math.Min((target + groups - 1) / groups, kTiles / 8);
            long cap = (1L << 26) / Math.Max(1L, (long)p.M * p.N * p.Batch);
            splits = Math.Clamp(Math.Min(splits, cap), 1, 1024);
        }
        p.Splits = (int)splits;
        long launchGroups = groups * splits;
        if (launchGroups > int.MaxValue)
            throw new ArgumentException($"GEMM {p.M}x{p.N} in {p.Batch} batches needs {launchGroups} groups, more than one launch allows");

        var w = a.View;
        if (splits > 1)
        {
            long need = (long)p.Batch * splits * p.M * p.N;
            if (_workspace is null || _workspace.Length < need)
            {
                _workspace?.Dispose();
                _workspace = Allocate(need, "GEMM split workspace");
            }
            w = _workspace.View;
        }
        _gemm.Get()(new KernelConfig((int)launchGroups, p.Td * p.Td), SpecializedValue.New(p.Td), p, a.View, b.View, c.View, w);
        if (splits > 1)
            _reduceSplits.Get()((int)((long)p.Batch * p.M * p.N), p, c.View, w);
    }

    // ---------------------------------------------------------------- reductions

    /// <summary>output[slot] = alpha sum_t x[xo+t] y[yo+t], t &lt; n (deterministic two-stage reduction, stays on the device).</summary>
    public void Dot(DeviceArray<T> x, long xo, DeviceArray<T> y, long yo, long n, T alpha, DeviceArray<T> output, int slot) =>
        Reduce(x, xo, y, yo, 1, n, alpha, output, slot);

    /// <summary>output[slot] = alpha sum_t x[xo+t], t &lt; n.</summary>
    public void Sum(DeviceArray<T> x, long xo, long n, T alpha, DeviceArray<T> output, int slot) =>
        Reduce(x, xo, x, xo, 0, n, alpha, output, slot);

    private void Reduce(DeviceArray<T> x, long xo, DeviceArray<T> y, long yo, int useY, long n, T alpha, DeviceArray<T> output, int slot)
    {
        if (n < 0 || xo < 0 || xo + n > x.Length || (useY != 0 && (yo < 0 || yo + n > y.Length)))
            throw new ArgumentOutOfRangeException(nameof(n), $"reduction of {n} elements runs past '{x.Name}' or '{y.Name}'");
        if ((uint)slot >= output.Length)
            throw new ArgumentOutOfRangeException(nameof(slot), $"slot {slot} is outside '{output.Name}' of length {output.Length}");
        int size = _reduceGroup;
        int groups = (int)Math.Clamp((n + size - 1) / size, 1, size);
        if (_partials is null) _partials = Allocate(VectorKernels<T>.MaxReduceGroup, "reduction partials");
        _dotStage.Get()(new KernelConfig(groups, size), x.View, xo, y.View, yo, useY, n, T.One, _partials.View, 0);
        _dotStage.Get()(new KernelConfig(1, size), _partials.View, 0, _partials.View, 0, 0, groups, alpha, output.View, slot);
    }

    /// <summary>output[o + i] = alpha sum_c X[i,c] Y[i,c] for every row i.</summary>
    public void RowDots(DeviceMatrix<T> x, DeviceMatrix<T> y, T alpha, DeviceArray<T> output, long o)
    {
        x.Check("RowDots X"); y.Check("RowDots Y");
        if (x.Rows != y.Rows || x.Cols != y.Cols)
            throw new ArgumentException($"RowDots: X is {x.Rows}x{x.Cols} but Y is {y.Rows}x{y.Cols}");
        CheckVector(output, o, x.Rows, "RowDots output");
        if (x.Rows > 0) _rowDots.Get()(x.Rows, x.Strided, x.Buffer.View, y.Strided, y.Buffer.View, alpha, output.View, o);
    }

    /// <summary>output[o + c] = sum_r X[r,c]^2 for every column c.</summary>
    public void ColNormsSquared(DeviceMatrix<T> x, DeviceArray<T> output, long o)
    {
        x.Check("ColNormsSquared X");
        CheckVector(output, o, x.Cols, "ColNormsSquared output");
        if (x.Cols > 0) _colNorms.Get()(x.Cols, x.Strided, x.Buffer.View, output.View, o);
    }

    // ---------------------------------------------------------------- element-wise

    /// <summary>z = alpha x + beta y over whole arrays of equal length (z may alias x or y).</summary>
    public void Axpby(T alpha, DeviceArray<T> x, T beta, DeviceArray<T> y, DeviceArray<T> z, long n)
    {
        if (n > x.Length || n > y.Length || n > z.Length || n > int.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(n), $"Axpby of {n} elements runs past '{x.Name}', '{y.Name}' or '{z.Name}'");
        if (n > 0) _axpby.Get()((int)n, alpha, x.View, beta, y.View, z.View);
    }

    /// <summary>Y[r,c] = alpha s[so + r] X[r,c] (Y may alias X).</summary>
    public void ScaleRows(DeviceMatrix<T> x, DeviceArray<T> s, long so, T alpha, DeviceMatrix<T> y)
    {
        CheckSame(x, y, "ScaleRows");
        CheckVector(s, so, x.Rows, "ScaleRows scale");
        if (x.Rows > 0 && x.Cols > 0) _scaleRows.Get()(Elements(x), x.Strided, x.Buffer.View, s.View, so, alpha, y.Strided, y.Buffer.View);
    }

    /// <summary>Y[r,c] = alpha s[so + c] X[r,c] (Y may alias X).</summary>
    public void ScaleCols(DeviceMatrix<T> x, DeviceArray<T> s, long so, T alpha, DeviceMatrix<T> y)
    {
        CheckSame(x, y, "ScaleCols");
        CheckVector(s, so, x.Cols, "ScaleCols scale");
        if (x.Rows > 0 && x.Cols > 0) _scaleCols.Get()(Elements(x), x.Strided, x.Buffer.View, s.View, so, alpha, y.Strided, y.Buffer.View);
    }

    /// <summary>Y = X.</summary>
    public void Copy(DeviceMatrix<T> x, DeviceMatrix<T> y)
    {
        CheckSame(x, y, "Copy");
        if (x.Rows > 0 && x.Cols > 0) _copy.Get()(Elements(x), x.Strided, x.Buffer.View, y.Strided, y.Buffer.View);
    }

    // ---------------------------------------------------------------- structured measurements

    /// <summary>f[i] = scale E[row_i, col_i] for every observed entry (matrix completion forward).</summary>
    public void Gather(DeviceMatrix<T> e, DeviceArray<int> rows, DeviceArray<int> cols, T scale, DeviceArray<T> f)
    {
        e.Check("Gather E");
        if (e.Stride != e.Cols) throw new ArgumentException("Gather: E must be dense (stride = columns)");
        if (rows.Length != cols.Length || f.Length < rows.Length)
            throw new ArgumentException($"Gather: {rows.Length} rows, {cols.Length} columns and {f.Length} outputs do not match");
        if (rows.Length > 0) _gather.Get()((int)rows.Length, e.Buffer.View, e.Offset, e.Cols, rows.View, cols.View, scale, f.View);
    }

    /// <summary>z[t] = alpha sum of w over the measurements grouped in cell t (CSR: start has cells + 1 entries).</summary>
    public void CellSums(DeviceArray<int> start, DeviceArray<int> order, DeviceArray<T> w, T alpha, DeviceArray<T> z)
    {
        long cells = start.Length - 1;
        if (cells < 0 || z.Length < cells)
            throw new ArgumentException($"CellSums: {start.Length} offsets do not fit output '{z.Name}' of length {z.Length}");
        if (cells > 0) _cellSums.Get()((int)cells, start.View, order.View, w.View, alpha, z.View);
    }

    /// <summary>
    /// The Gram operator K[(a,c),(b,e)] = (1/n) sum_i A_i[a,b] A_i[c,e] (d_L^2 x d_0^2, row-major) of n stacked dense
    /// measurements x (n x d_L d_0). Built in row blocks of (1/n) X^T X to bound the temporary memory; a cancellable
    /// <paramref name="cancellation"/> is checked before each block (an <see cref="OperationCanceledException"/>).
    /// </summary>
    public void BuildGram(DeviceArray<T> x, int n, int dl, int d0, DeviceArray<T> k, long maxBlockElements = 1L << 27,
        CancellationToken cancellation = default)
    {
        long width = (long)dl * d0;
        if (x.Length < n * width) throw new ArgumentException($"BuildGram: '{x.Name}' holds {x.Length} values, fewer than n*d_L*d_0 = {n * width}");
        if (k.Length < width * width) throw new ArgumentException($"BuildGram: '{k.Name}' holds {k.Length} values, fewer than (d_L d_0)^2 = {width * width}");
        int rowsPerA = d0;
        int aPerBlock = (int)Math.Clamp(maxBlockElements / (rowsPerA * width), 1, dl);
        using var block = Allocate(aPerBlock * rowsPerA * width, "Gram row block");
        var xm = new DeviceMatrix<T>(x, 0, n, (int)width, width);
        T invN = T.One / T.CreateChecked(n);
        for (int a0 = 0; a0 < dl; a0 += aPerBlock)
        {
            if (cancellation.CanBeCanceled)
            {
                _acc.Synchronize(); // launches are asynchronous: wait for the last block before asking again
                cancellation.ThrowIfCancellationRequested();
            }
            int count = Math.Min(aPerBlock, dl - a0);
            int rows = count * rowsPerA;
            var cols = xm.Slice(0, a0 * d0, n, rows);
            Gemm(Op.Transpose, Op.None, invN, cols, xm, T.Zero, new DeviceMatrix<T>(block, 0, rows, (int)width, width));
            _permuteGram.Get()((int)(rows * width), block.View, a0, dl, d0, k.View);
        }
    }

    private static int Elements(DeviceMatrix<T> x)
    {
        long count = (long)x.Rows * x.Cols;
        if (count > int.MaxValue) throw new ArgumentException($"{x.Rows}x{x.Cols} is too large for one element-wise launch");
        return (int)count;
    }

    private static void CheckSame(DeviceMatrix<T> x, DeviceMatrix<T> y, string what)
    {
        x.Check($"{what} X"); y.Check($"{what} Y");
        if (x.Rows != y.Rows || x.Cols != y.Cols)
            throw new ArgumentException($"{what}: X is {x.Rows}x{x.Cols} but Y is {y.Rows}x{y.Cols}");
    }

    private static void CheckVector(DeviceArray<T> v, long offset, long count, string what)
    {
        if (offset < 0 || offset + count > v.Length)
            throw new ArgumentOutOfRangeException(nameof(offset), $"{what}: [{offset}, {offset + count}) is outside '{v.Name}' of length {v.Length}");
    }
}

/// <summary>A kernel compiled on first use; compilation failures become <see cref="GpuUnavailableException"/>.</summary>
internal sealed class Kernel<TDelegate>(string where, Func<TDelegate> load) where TDelegate : Delegate
{
    private TDelegate? _loaded;

    public TDelegate Get()
    {
        if (_loaded is not null) return _loaded;
        try
        {
            _loaded = load();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new GpuUnavailableException($"{where} failed to compile: {e.Message}", e);
        }
        return _loaded;
    }
}
