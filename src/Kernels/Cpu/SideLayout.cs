using System.Runtime.CompilerServices;
using System.Numerics;

namespace Flatness.Kernels.Cpu;

/// <summary>
/// Dense measurements A_1..A_n (each d_L x d_0) stored side by side, in chunks of up to <see cref="ChunkSize"/>
/// measurements. Chunk c, holding A_{i0}..A_{i1-1} (m = i1 - i0), starts at i0 d_L d_0 and is the
/// d_L x (m d_0) row-major matrix [A_{i0} .. A_{i1-1}]: element (a, i, b) sits at a m d_0 + (i - i0) d_0 + b.
/// The same chunk read as an (d_L m) x d_0 matrix has the rows A_i[a, :] ordered by (a, i).
/// Both readings make the sandwich operators single large GEMMs per chunk (see <see cref="DenseSandwich"/>);
/// chunking bounds the workspace and keeps a chunk's intermediates in cache.
/// </summary>
public readonly record struct SideLayout
{
    /// <summary>The layout of n = <paramref name="count"/> measurements of d_L x d_0 in chunks of at most <paramref name="chunkSize"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">a non-positive size, or more values than the largest array.</exception>
    public SideLayout(int count, int outputDim, int inputDim, int chunkSize)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), $"measurement count n = {count} must be positive");
        if (outputDim < 1 || inputDim < 1)
            throw new ArgumentOutOfRangeException(nameof(outputDim), $"measurement shape {outputDim}x{inputDim} must be positive");
        if (chunkSize < 1) throw new ArgumentOutOfRangeException(nameof(chunkSize), $"chunk size {chunkSize} must be positive");
        if ((long)count * outputDim * inputDim > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(count),
                $"n d_L d_0 = {count}*{outputDim}*{inputDim} exceeds the largest array ({Array.MaxLength} elements)");
        Count = count;
        OutputDim = outputDim;
        InputDim = inputDim;
        ChunkSize = Math.Min(chunkSize, count);
    }

    /// <summary>n.</summary>
    public int Count { get; }
    /// <summary>d_L.</summary>
    public int OutputDim { get; }
    /// <summary>d_0.</summary>
    public int InputDim { get; }
    /// <summary>Measurements per chunk (the last may hold fewer).</summary>
    public int ChunkSize { get; }

    /// <summary>Number of chunks.</summary>
    public int ChunkCount => (Count + ChunkSize - 1) / ChunkSize;
    /// <summary>Index of the first measurement of <paramref name="chunk"/>.</summary>
    public int ChunkStart(int chunk) => chunk * ChunkSize;
    /// <summary>Measurements in <paramref name="chunk"/>.</summary>
    public int ChunkLength(int chunk) => Math.Min(ChunkSize, Count - chunk * ChunkSize);
    /// <summary>Index of the chunk's first element in the side-by-side buffer.</summary>
    public int ChunkOffset(int chunk) => ChunkStart(chunk) * OutputDim * InputDim;
    /// <summary>Elements of the whole side-by-side copy: n d_L d_0.</summary>
    public int Length => Count * OutputDim * InputDim;

    /// <summary>
    /// A layout whose chunks hold about <paramref name="targetChunkBytes"/> of measurements at
    /// <paramref name="elementBytes"/> bytes per element (at least one measurement per chunk).
    /// </summary>
    public static SideLayout ForChunkBytes(int count, int outputDim, int inputDim, long targetChunkBytes, int elementBytes)
    {
        long perMeasurement = (long)outputDim * inputDim * elementBytes;
        int chunk = (int)Math.Clamp(targetChunkBytes / Math.Max(1, perMeasurement), 1, Math.Max(1, count));
        return new SideLayout(count, outputDim, inputDim, chunk);
    }

    /// <summary>
    /// Copies stacked measurements (n, d_L, d_0) in C order, as <see cref="Count"/> row-major matrices one after
    /// another, into this layout, converting the precision.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Pack<TSource, T>(ReadOnlySpan<TSource> stacked, Span<T> side)
        where TSource : unmanaged, IFloatingPointIeee754<TSource>
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (stacked.Length != Length)
            throw new ArgumentException($"stacked measurements have {stacked.Length} values, expected n d_L d_0 = {Length}", nameof(stacked));
        if (side.Length != Length)
            throw new ArgumentException($"side-by-side buffer has {side.Length} values, expected n d_L d_0 = {Length}", nameof(side));
        int dL = OutputDim, d0 = InputDim;
        for (int chunk = 0; chunk < ChunkCount; chunk++)
        {
            int i0 = ChunkStart(chunk), m = ChunkLength(chunk), offset = ChunkOffset(chunk);
            for (int i = 0; i < m; i++)
                for (int a = 0; a < dL; a++)
                {
                    var source = stacked.Slice(((i0 + i) * dL + a) * d0, d0);
                    var target = side.Slice(offset + (a * m + i) * d0, d0);
                    for (int b = 0; b < d0; b++) target[b] = T.CreateTruncating(source[b]);
                }
        }
    }
}
