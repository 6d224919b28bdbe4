using System.Runtime.CompilerServices;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Flatness.Kernels.Cpu;

/// <summary>
/// Storage of the measurement Gram operator K[(a,c),(b,e)] = (1/n) sum_i A_i[a,b] A_i[c,e] (docs/MATH.md section 3).
/// Row (a, c) of K, read as a d_0 x d_0 matrix C_ac[b, e], is also block (a, c) of M = (1/n) X^T X, X the n x (d_L d_0)
/// matrix of rows vec(A_i); C_ca = C_ac^T, so only the blocks a &lt;= c are kept, numbered in the order
/// (0,0), (0,1), .., (0,d_L-1), (1,1), .., (d_L-1,d_L-1): d_L (d_L + 1) / 2 blocks of d_0^2 values.
/// The storage is chunk-major: the rows of every block are cut into chunks of <see cref="ChunkRows"/> rows, and
/// chunk q of all blocks, in block order, comes before chunk q + 1. A pass over one chunk of every block then reads
/// K contiguously while the matching rows of its right-hand sides stay in L1.
/// </summary>
public readonly record struct GramLayout
{
    /// <summary>The layout for d_L x d_0 measurements.</summary>
    /// <exception cref="ArgumentOutOfRangeException">a non-positive dimension, or more values than the largest array.</exception>
    /// <param name="outputDim">d_L.</param>
    /// <param name="inputDim">d_0.</param>
    /// <param name="chunkRows">rows of each block per chunk; 0 picks about <see cref="ChunkElements"/> values per chunk.</param>
    public GramLayout(int outputDim, int inputDim, int chunkRows = 0)
    {
        if (outputDim < 1 || inputDim < 1)
            throw new ArgumentOutOfRangeException(nameof(outputDim), $"measurement shape {outputDim}x{inputDim} must be positive");
        long length = (long)outputDim * (outputDim + 1) / 2 * inputDim * inputDim;
        if (length > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(outputDim),
                $"the Gram operator of {outputDim}x{inputDim} measurements has {length} values, more than the largest array ({Array.MaxLength})");
        if (chunkRows < 0 || chunkRows > inputDim)
            throw new ArgumentOutOfRangeException(nameof(chunkRows), $"chunk rows {chunkRows} must be in [0, d_0 = {inputDim}]");
        OutputDim = outputDim;
        InputDim = inputDim;
        ChunkRows = chunkRows > 0 ? chunkRows : Math.Clamp(ChunkElements / inputDim, 1, inputDim);
    }

    /// <summary>
    /// Values per chunk of a block the automatic layout aims at: with two right-hand sides the chunks of a pass then
    /// fill about 12 KB of L1 in float64.
    /// </summary>
    public const int ChunkElements = 512;

    /// <summary>d_L.</summary>
    public int OutputDim { get; }
    /// <summary>d_0.</summary>
    public int InputDim { get; }
    /// <summary>Blocks kept: d_L (d_L + 1) / 2.</summary>
    public int BlockCount => OutputDim * (OutputDim + 1) / 2;
    /// <summary>Values per block: d_0^2.</summary>
    public int BlockLength => InputDim * InputDim;
    /// <summary>Values in all: BlockCount * BlockLength.</summary>
    public int Length => BlockCount * BlockLength;
    /// <summary>Index of block (a, c), a &lt;= c.</summary>
    public int Block(int a, int c) => a * OutputDim - a * (a - 1) / 2 + (c - a);
    /// <summary>Rows of each block per chunk (the last chunk may have fewer).</summary>
    public int ChunkRows { get; }
    /// <summary>Chunks per block: ceil(d_0 / <see cref="ChunkRows"/>).</summary>
    public int ChunkCount => (InputDim + ChunkRows - 1) / ChunkRows;
    /// <summary>Rows of every block in chunk <paramref name="chunk"/>.</summary>
    public int RowsIn(int chunk) => Math.Min(ChunkRows, InputDim - chunk * ChunkRows);
    /// <summary>Position of the first value of chunk <paramref name="chunk"/> of block <paramref name="block"/>.</summary>
    public int Offset(int chunk, int block) => chunk * ChunkRows * InputDim * BlockCount + block * RowsIn(chunk) * InputDim;
    /// <summary>Position of K[(a,c),(b,e)] = C_ac[b, e], a &lt;= c.</summary>
    public int Index(int a, int c, int b, int e) =>
        Offset(b / ChunkRows, Block(a, c)) + (b % ChunkRows) * InputDim + e;
}

/// <summary>
/// The Gram path (docs/MATH.md section 3): K is built once from the measurements, in O(n d_L^2 d_0^2); afterwards
/// S, S* and the loss cost O(d_L^2 d_0^2) per evaluation, independent of n.
/// <para>
/// Build: for each output row a, one GEMM C_{a,a..d_L-1} = (1/n) X[:, a-th d_0 columns]^T X[:, from the a-th d_0 columns]
/// gives block row a of the upper block triangle of M = (1/n) X^T X: n d_0^2 d_L (d_L + 1) flops in all, half of the full X^T X.
/// </para>
/// <para>
/// Apply: one pass over the blocks serves every layer and the loss at once (the computation is bound by reading K,
/// so each block is read from memory once and used from cache for all right-hand sides):
/// S(H)[a,c] = &lt;C_ac, H&gt; (H symmetric, so S[c,a] is the same number);
/// S*(G) = Acc + Acc^T with Acc = sum_{a&lt;=c} w_ac C_ac, w_ac = G[a,c] for a &lt; c and G[a,a]/2 on the diagonal (G symmetric);
/// (M vec E)_a = sum_{c&gt;=a} C_ac E_c + sum_{c&lt;a} C_ca^T E_c, E_c the rows of E, for the loss
/// (1/n)||X vec E - b||^2 = vec(E)^T M vec(E) - 2 vec(E)^T (X^T b / n) + b^T b / n and its gradient 2 (M vec E - X^T b / n).
/// The blocks are split among worker threads, each with private accumulators for S* and M vec E. K is read once
/// from memory, chunk by chunk (<see cref="GramLayout"/>); each chunk is then swept from L1 by
/// <see cref="GramBlockKernel{T, TV, TSimd}"/>, one sweep per pair of S and S* right-hand sides, the first with the
/// loss rows, compiled fully optimised from the first call.
/// </para>
/// </summary>
public static class GramOperator
{
    /// <summary>Blocks handled per worker before another worker pays off.</summary>
    private const int MinElementsPerWorker = 1 << 16;

    /// <summary>Flops of <see cref="Build{TSource,T}"/> for n measurements.</summary>
    public static double BuildFlops(GramLayout layout, int count) =>
        (double)count * layout.InputDim * layout.InputDim * layout.OutputDim * (layout.OutputDim + 1);

    /// <summary>Flops of one <see cref="Apply{T}"/> with nh S and ng S* right-hand sides, with or without the loss product.</summary>
    public static double ApplyFlops(GramLayout layout, int nh, int ng, bool loss) =>
        2.0 * layout.Length * (nh + ng + (loss ? 2 : 0));

    /// <summary>Builds K from stacked measurements (n, d_L, d_0) (rows vec(A_i) of X), converting the precision.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Build<TSource, T>(GramLayout layout, int count, ReadOnlySpan<TSource> stacked, Span<T> k,
        CancellationToken cancellation = default)
        where TSource : unmanaged, IFloatingPointIeee754<TSource>
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int dL = layout.OutputDim, d0 = layout.InputDim, row = dL * d0;
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), $"measurement count n = {count} must be positive");
        if (stacked.Length != (long)count * row)
            throw new ArgumentException($"stacked measurements have {stacked.Length} values, expected n d_L d_0 = {(long)count * row}", nameof(stacked));
        if (k.Length != layout.Length)
            throw new ArgumentException($"K has {k.Length} values, expected {layout.Length}", nameof(k));

        ReadOnlySpan<T> x;
        if (typeof(TSource) == typeof(T))
        {
            x = MemoryMarshal.Cast<TSource, T>(stacked);
        }
        else
        {
            var converted = new T[stacked.Length];
            for (int i = 0; i < converted.Length; i++) converted[i] = T.CreateTruncating(stacked[i]);
            x = converted;
        }

        T scale = T.One / T.CreateTruncating(count);
        // Block rows a0 .. a0 + g - 1 together: one GEMM (m = g d_0) for their blocks right of the g x g diagonal
        // square, which packs that slice of X once for all g block rows, and one small GEMM per block row for its
        // part of the square's upper block triangle (as a SYRK cuts its triangle), so nothing below the diagonal is
        // computed. With one block row per GEMM (m = d_0) packing X took as long as multiplying at d_0 = 50.
        int group = Math.Clamp(BuildRows / d0, 1, dL);
        var rows = new T[group * d0 * row];
        for (int a0 = 0; a0 < dL; a0 += group)
        {
            cancellation.ThrowIfCancellationRequested();
            int g = Math.Min(group, dL - a0), width = (dL - a0) * d0;
            for (int a = a0; a < a0 + g; a++)
            {
                var xa = x[(a * d0)..];
                Gemm.Compute(Op.Transpose, Op.None, d0, (a0 + g - a) * d0, count, scale, xa, row, xa, row, T.Zero,
                    rows.AsSpan((a - a0) * d0 * width + (a - a0) * d0), width);
            }
            if (a0 + g < dL)
                Gemm.Compute(Op.Transpose, Op.None, g * d0, (dL - a0 - g) * d0, count, scale, x[(a0 * d0)..], row,
                    x[((a0 + g) * d0)..], row, T.Zero, rows.AsSpan(g * d0), width);
            for (int a = a0; a < a0 + g; a++)
                for (int c = a; c < dL; c++)
                    for (int b = 0; b < d0; b++)
                        rows.AsSpan(((a - a0) * d0 + b) * width + (c - a0) * d0, d0).CopyTo(k.Slice(layout.Index(a, c, b, 0), d0));
        }
    }

    /// <summary>Rows of the upper block triangle of X^T X that <see cref="Build{TSource, T}"/> computes per GEMM.</summary>
    private const int BuildRows = 288;

    /// <summary>Worker threads worth using for one <see cref="Apply{T}"/> on this layout.</summary>
    public static int Workers(GramLayout layout) =>
        Math.Clamp(layout.Length / MinElementsPerWorker, 1, Math.Min(Environment.ProcessorCount, layout.BlockCount));

    /// <summary>
    /// Workspace elements <see cref="Apply{T}"/> needs for ng S* right-hand sides, <paramref name="products"/> loss
    /// products M vec E and the given worker count.
    /// </summary>
    public static int WorkspaceLength(GramLayout layout, int ng, int workers, int products = 1) => workers * PerWorker(layout, ng, products);

    /// <summary>
    /// One worker's accumulators: ng S* sums, the M vec E of each product, and M vec E's rows as vectors of up to
    /// <see cref="RowLanes"/> lanes, summed across lanes once at the end of the pass rather than once per row of every block.
    /// </summary>
    private static int PerWorker(GramLayout layout, int ng, int products) =>
        ng * layout.BlockLength + layout.OutputDim * layout.InputDim * (Math.Max(1, products) + RowLanes) + RowLanes;

    /// <summary>Lanes of the widest vector the pass uses (512 bits of float32).</summary>
    private const int RowLanes = 16;

    /// <summary>
    /// One pass over K: <paramref name="sOut"/>[l] = S(H_l) for the nh symmetric matrices stacked in <paramref name="hs"/>
    /// (d_0 x d_0 each; results d_L x d_L), <paramref name="sAdjointOut"/>[l] = S*(G_l) for the ng symmetric matrices stacked in
    /// <paramref name="gs"/> (d_L x d_L each; results d_0 x d_0), and, when <paramref name="e"/> is not empty,
    /// <paramref name="me"/> = M vec(E) (E and the result d_L x d_0). Without S and S* right-hand sides,
    /// <paramref name="e"/> may stack several E (the products of a block of Hessian-vector products): each chunk of K is
    /// then read from memory once for all of them.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Apply<T>(GramLayout layout, ReadOnlyMemory<T> k,
        ReadOnlyMemory<T> hs, Memory<T> sOut, ReadOnlyMemory<T> gs, Memory<T> sAdjointOut,
        ReadOnlyMemory<T> e, Memory<T> me, Memory<T> workspace, int workers)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int dL = layout.OutputDim, d0 = layout.InputDim;
        if (k.Length != layout.Length) throw new ArgumentException($"K has {k.Length} values, expected {layout.Length}", nameof(k));
        if (hs.Length % (d0 * d0) != 0 || sOut.Length != hs.Length / (d0 * d0) * dL * dL)
            throw new ArgumentException($"S inputs ({hs.Length} values) and outputs ({sOut.Length}) are not matching stacks of {d0}x{d0} and {dL}x{dL} matrices", nameof(sOut));
        if (gs.Length % (dL * dL) != 0 || sAdjointOut.Length != gs.Length / (dL * dL) * d0 * d0)
            throw new ArgumentException($"S* inputs ({gs.Length} values) and outputs ({sAdjointOut.Length}) are not matching stacks of {dL}x{dL} and {d0}x{d0} matrices", nameof(sAdjointOut));
        bool loss = !e.IsEmpty;
        int products = e.Length / (dL * d0);
        if (loss && (e.Length % (dL * d0) != 0 || me.Length != e.Length))
            throw new ArgumentException($"E has {e.Length} and M vec E {me.Length} values, expected the same multiple of {dL * d0}", nameof(e));
        if (products > 1 && (!hs.IsEmpty || !gs.IsEmpty))
            throw new ArgumentException($"{products} loss products in one pass go without S and S* right-hand sides", nameof(e));
        if (workers < 1 || workers > layout.BlockCount)
            throw new ArgumentOutOfRangeException(nameof(workers), $"worker count {workers} must be in [1, {layout.BlockCount}]");
        int ng = gs.Length / (dL * dL);
        int perWorker = PerWorker(layout, ng, products);
        if (workspace.Length < workers * perWorker)
            throw new ArgumentException($"workspace has {workspace.Length} elements, the pass needs {workers * perWorker}", nameof(workspace));

        workers = Math.Min(workers, CpuThreads.Available); // the workspace holds at least this many
        var pass = new Pass<T>(layout, k, hs, sOut, gs, e, workspace, perWorker);
        if (workers == 1) pass.Execute(0, 1);
        else WorkerPool.Shared.Run(pass, workers);

        // Reduce the private accumulators of the workers.
        var ws = workspace.Span;
        var sa = sAdjointOut.Span;
        int blockLength = layout.BlockLength;
        for (int l = 0; l < ng; l++)
        {
            var acc = sa.Slice(l * blockLength, blockLength);
            ws.Slice(l * blockLength, blockLength).CopyTo(acc);
            for (int w = 1; w < workers; w++)
                TensorPrimitives.Add(acc, ws.Slice(w * perWorker + l * blockLength, blockLength), acc);
            // S* = Acc + Acc^T.
            for (int b = 0; b < d0; b++)
            {
                acc[b * d0 + b] += acc[b * d0 + b];
                for (int c = b + 1; c < d0; c++)
                {
                    T v = acc[b * d0 + c] + acc[c * d0 + b];
                    acc[b * d0 + c] = v;
                    acc[c * d0 + b] = v;
                }
            }
        }
        if (loss)
        {
            var y = me.Span;
            ws.Slice(ng * blockLength, y.Length).CopyTo(y);
            for (int w = 1; w < workers; w++)
                TensorPrimitives.Add(y, ws.Slice(w * perWorker + ng * blockLength, y.Length), y);
        }
    }

    /// <summary>
    /// The vector width of a pass of loss products alone: the widest with at least 4 full vectors in a row of d_0
    /// values, when those fit the registers (<see cref="ResidentRows.MaxVectors"/>), so that e_c and y_c stay there
    /// (<see cref="GramBlockKernel{T, TV, TSimd}.RowsResident"/>); else the widest there is. With S or S* right-hand
    /// sides the flat sweeps are faster at full width. Measured with <c>gram-table</c>: bench/results/gram-pass.md.
    /// </summary>
    private static GemmIsa LossOnlyWidth<T>(GemmIsa widest, int inputDim) where T : unmanaged
    {
        int rowBytes = inputDim * Unsafe.SizeOf<T>();
        for (var isa = widest; isa >= GemmIsa.Vector128; isa--)
        {
            int vectors = rowBytes / VectorBytes(isa);
            if (vectors >= 4) return vectors <= ResidentRows.MaxVectors ? isa : widest;
        }
        return widest;
    }

    private static int VectorBytes(GemmIsa isa) => isa switch { GemmIsa.Vector512 => 64, GemmIsa.Vector256 => 32, _ => 16 };

    /// <summary>The state of one pass; <see cref="Execute"/> runs one worker's share of the blocks.</summary>
    private sealed class Pass<T>(GramLayout layout, ReadOnlyMemory<T> k, ReadOnlyMemory<T> hs, Memory<T> sOut,
        ReadOnlyMemory<T> gs, ReadOnlyMemory<T> e, Memory<T> workspace, int perWorker) : IParallelJob
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        public void Execute(int worker, int workers)
        {
            switch (hs.IsEmpty && gs.IsEmpty ? LossOnlyWidth<T>(Gemm.Isa, layout.InputDim) : Gemm.Isa)
            {
                case GemmIsa.Vector512: Run<Vector512<T>, Simd512<T>>(worker, workers); break;
                case GemmIsa.Vector256: Run<Vector256<T>, Simd256<T>>(worker, workers); break;
                default: Run<Vector128<T>, Simd128<T>>(worker, workers); break;
            }
        }

        /// <summary>
        /// This worker's blocks, chunk by chunk (see <see cref="GramLayout"/>): for chunk q the worker reads its
        /// blocks' q-th chunks, contiguous in K, while rows of the H_l, of its Acc_l and of E for that chunk stay in
        /// L1; each chunk is swept once per right-hand side pair from L1. (With whole blocks in turn every H_l and
        /// Acc_l, d_0^2 values each, streamed from L2 once per block: several times the bytes of K.)
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private unsafe void Run<TV, TSimd>(int worker, int workers)
            where TV : unmanaged
            where TSimd : struct, ISimd<T, TV>
        {
            int dL = layout.OutputDim, d0 = layout.InputDim, blockLength = layout.BlockLength;
            int nh = hs.Length / blockLength, ng = gs.Length / (dL * dL);
            bool loss = !e.IsEmpty;
            int products = e.Length / (dL * d0), size = dL * d0;
            var own = workspace.Span.Slice(worker * perWorker, perWorker);
            int lanes = TSimd.Count;
            own[..(ng * blockLength + products * size)].Clear();
            var sSpan = sOut.Span;
            var gSpan = gs.Span;
            T half = T.One / (T.One + T.One);

            int first = (int)((long)layout.BlockCount * worker / workers);
            int last = (int)((long)layout.BlockCount * (worker + 1) / workers);
            int firstA = 0;
            while (layout.Block(firstA, dL - 1) < first) firstA++;
            int firstC = first - layout.Block(firstA, firstA) + firstA;
            // Sweep s serves S right-hand side s, S* right-hand side s and (the first) the loss rows.
            int sweeps = Math.Max(nh, ng);

            fixed (T* kp = k.Span, hp = hs.Span, ep = e.Span, wp = own)
            {
                T* y = wp + (nint)ng * blockLength;
                // The loss product alone (every Hessian-vector product) streams each chunk row by row. Rows of 4 to 8
                // full vectors keep e_c and y_c in registers: alone (measured at d_0 = 50 and 64: 1.35-1.6x faster per
                // pass) and, with S or S* right-hand sides, in the first sweep beside them (1 S + 1 S* + the loss at
                // d_0 = 50, float64: 1.55-1.61x the read floor before, 1.20-1.42x after, bench/results/gram-pass.md);
                // shorter rows gain nothing or lose, longer ones do not fit the registers. Otherwise the sweeps add the
                // loss rows into lane sums, which start on a 64-byte boundary (vector stores that straddle cache lines
                // are slow).
                bool lossOnly = nh == 0 && ng == 0;
                int fullVectors = d0 / lanes;
                bool inRegisters = fullVectors >= 4 && fullVectors <= ResidentRows.MaxVectors;
                bool resident = lossOnly && inRegisters;
                bool fused = loss && !lossOnly && inRegisters && ResidentRows.WithSides;
                bool laneSums = loss && !lossOnly && !fused;
                T* yLanes = (T*)(((nint)(y + (nint)products * size) + 63) & ~(nint)63);
                if (laneSums) new Span<T>(yLanes, dL * d0 * lanes).Clear();
                for (int q = 0; q < layout.ChunkCount; q++)
                {
                    int b0 = q * layout.ChunkRows, rows = layout.RowsIn(q), length = rows * d0;
                    nint rowOffset = (nint)b0 * d0;
                    T* chunk = kp + layout.Offset(q, first);
                    int a = firstA, c = firstC;
                    for (int p = first; p < last; p++, chunk += length)
                    {
                        if (lossOnly)
                        {
                            // Every product from the same chunk: the first read brings it into L1 for the others. Without
                            // room in the registers for e_c and y_c, products go two at a time.
                            nint r = 0, toRowC = (nint)(c - a) * d0 - b0;
                            if (!resident)
                                for (; r + size < products * size; r += 2 * size)
                                {
                                    nint rowA = r + (nint)a * d0 + b0;
                                    if (a != c)
                                        GramBlockKernel<T, TV, TSimd>.LossRowsTwoProducts<SwitchOn>(chunk, rows, d0, ep + rowA, ep + rowA + size,
                                            y + rowA, y + rowA + size, toRowC);
                                    else
                                        GramBlockKernel<T, TV, TSimd>.LossRowsTwoProducts<SwitchOff>(chunk, rows, d0, ep + rowA, ep + rowA + size,
                                            y + rowA, y + rowA + size, toRowC);
                                }
                            for (; r < products * size; r += size)
                            {
                                T* er = ep + r, yr = y + r;
                                if (resident)
                                    GramBlockKernel<T, TV, TSimd>.RowsResident(false, false, a != c, chunk, rows, d0, null, null, T.Zero,
                                        er + (nint)c * d0, er + (nint)a * d0 + b0, yr + (nint)a * d0 + b0, a != c ? yr + (nint)c * d0 : null);
                                else if (a != c)
                                    GramBlockKernel<T, TV, TSimd>.LossRowsStreaming<SwitchOn>(chunk, rows, d0, er + (nint)c * d0, er + (nint)a * d0 + b0,
                                        yr + (nint)a * d0 + b0, yr + (nint)c * d0);
                                else
                                    GramBlockKernel<T, TV, TSimd>.LossRowsStreaming<SwitchOff>(chunk, rows, d0, er + (nint)c * d0, er + (nint)a * d0 + b0,
                                        yr + (nint)a * d0 + b0, null);
                            }
                        }
                        else
                        {
                            // A chunk is a few KB, too short for the hardware prefetcher to ramp up: ask for the one two ahead.
                            if (Sse.IsSupported && p + 2 < last)
                            {
                                byte* ahead = (byte*)(chunk + 2 * length);
                                for (int offset = 0; offset < length * sizeof(T); offset += 64) Sse.Prefetch0(ahead + offset);
                            }
                            for (int s = 0; s < sweeps; s++)
                            {
                                bool withS = s < nh, withAdjoint = s < ng;
                                T w = withAdjoint ? gSpan[s * dL * dL + a * dL + c] : T.Zero;
                                if (a == c) w *= half;
                                T* h = hp + (nint)s * blockLength + rowOffset, acc = wp + (nint)s * blockLength + rowOffset;
                                T* ec = ep + (nint)c * d0, ea = ep + (nint)a * d0 + b0, ya = y + (nint)a * d0 + b0, yc = y + (nint)c * d0;
                                T v = fused && s == 0
                                    ? GramBlockKernel<T, TV, TSimd>.RowsResident(withS, withAdjoint, a != c, chunk, rows, d0, h, acc, w, ec, ea, ya, a != c ? yc : null)
                                    : GramBlockKernel<T, TV, TSimd>.Sweep(withS, withAdjoint, laneSums && s == 0, a != c, chunk, rows, d0, h, acc, w, ec, ea, ya,
                                        yLanes + ((nint)a * d0 + b0) * lanes, yc);
                                if (withS)
                                {
                                    ref T entry = ref sSpan[s * dL * dL + a * dL + c];
                                    entry = q == 0 ? v : entry + v;
                                }
                            }
                        }
                        if (++c == dL) { a++; c = a; }
                    }
                }
                if (laneSums)
                    for (int r = 0; r < dL * d0; r++) y[r] += TSimd.Sum(TSimd.Load(yLanes + (nint)r * lanes));
                // S(H)[c, a] = S(H)[a, c] (H symmetric), once every chunk is in.
                for (int l = 0; l < nh; l++)
                {
                    int a = firstA, c = firstC;
                    for (int p = first; p < last; p++)
                    {
                        sSpan[l * dL * dL + c * dL + a] = sSpan[l * dL * dL + a * dL + c];
                        if (++c == dL) { a++; c = a; }
                    }
                }
            }
        }
    }
}
