using System.Numerics;
using ILGPU;
using ILGPU.Runtime;

namespace Flatness.Kernels.Gpu;

/// <summary>A buffer resident on an accelerator. Allocation failures surface as <see cref="GpuUnavailableException"/>.</summary>
public sealed class DeviceArray<T> : IDisposable where T : unmanaged
{
    private readonly MemoryBuffer1D<T, Stride1D.Dense> _buffer;

    internal DeviceArray(GpuContext context, long length, string name)
    {
        if (length < 0) throw new ArgumentOutOfRangeException(nameof(length), $"device array '{name}' has negative length {length}");
        Name = name;
        Length = length;
        try
        {
            _buffer = context.Accelerator.Allocate1D<T>(Math.Max(length, 1));
        }
        catch (Exception e) when (e is not ArgumentException)
        {
            throw new GpuUnavailableException(
                $"could not allocate '{name}' ({length} x {typeof(T).Name}, {length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>() / 1e6:F1} MB) on {context.Name}: {e.Message}", e);
        }
    }

    /// <summary>The name given at allocation (used in messages).</summary>
    public string Name { get; }
    /// <summary>Number of elements.</summary>
    public long Length { get; }
    internal ArrayView<T> View => _buffer.View;

    /// <summary>Copies host data into [offset, offset + data.Length).</summary>
    public void Upload(ReadOnlySpan<T> data, long offset = 0)
    {
        CheckRange(offset, data.Length);
        if (data.Length == 0) return;
        View.SubView(offset, data.Length).CopyFromCPU(data);
    }

    /// <summary>Copies [offset, offset + destination.Length) to the host (waits for queued work first).</summary>
    public void Download(Span<T> destination, long offset = 0)
    {
        CheckRange(offset, destination.Length);
        if (destination.Length == 0) return;
        View.SubView(offset, destination.Length).CopyToCPU(destination);
    }

    /// <summary>The whole array, downloaded to a new host array.</summary>
    public T[] ToArray()
    {
        var result = new T[Length];
        Download(result);
        return result;
    }

    /// <summary>Sets every element to zero (queued on the device).</summary>
    public void Clear() => _buffer.View.MemSetToZero();

    private void CheckRange(long offset, long count)
    {
        if (offset < 0 || count < 0 || offset + count > Length)
            throw new ArgumentOutOfRangeException(nameof(offset), $"range [{offset}, {offset + count}) is outside device array '{Name}' of length {Length}");
    }

    /// <summary>Frees the device memory.</summary>
    public void Dispose() => _buffer.Dispose();
}

/// <summary>
/// A strided row-major matrix inside a <see cref="DeviceArray{T}"/>: element (r, c) at Offset + r * Stride + c.
/// </summary>
public readonly record struct DeviceMatrix<T>(DeviceArray<T> Buffer, long Offset, int Rows, int Cols, long Stride)
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>The rows x cols matrix at the start of <paramref name="buffer"/>, stride cols.</summary>
    public DeviceMatrix(DeviceArray<T> buffer, int rows, int cols) : this(buffer, 0, rows, cols, cols) { }

    /// <summary>The block of <paramref name="rows"/> x <paramref name="cols"/> starting at (row, col).</summary>
    public DeviceMatrix<T> Slice(int row, int col, int rows, int cols) =>
        new(Buffer, Offset + row * Stride + col, rows, cols, Stride);

    internal StridedMatrix Strided => new() { Offset = Offset, Stride = Stride, Rows = Rows, Cols = Cols };

    internal void Check(string what)
    {
        if (Rows < 0 || Cols < 0 || Stride < Cols)
            throw new ArgumentException($"{what}: bad matrix view {Rows}x{Cols} with stride {Stride} in '{Buffer.Name}'");
        if (Rows > 0 && Cols > 0 && (Offset < 0 || Offset + (Rows - 1) * Stride + Cols > Buffer.Length))
            throw new ArgumentException($"{what}: view {Rows}x{Cols} (offset {Offset}, stride {Stride}) runs past device array '{Buffer.Name}' of length {Buffer.Length}");
    }
}
