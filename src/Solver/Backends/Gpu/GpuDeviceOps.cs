using System.Numerics;
using Flatness.Kernels.Cpu;
using Flatness.Kernels.Gpu;
using Flatness.Kernels.Tensors;
using Flatness.Solver.Backends.Core;

namespace Flatness.Solver.Backends.Gpu;

/// <summary>
/// The GPU adapter of the evaluation core: matrices are views of resident ILGPU buffers, products the ILGPU GEMM,
/// scalars slots of one device array read once per evaluation. Every buffer it hands out is freed with it.
/// </summary>
internal sealed class GpuDeviceOps<T> : IDeviceOps<T, DeviceMatrix<T>> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly List<IDisposable> _owned = [];
    private T[] _staging = [];
    private T[] _scalarStaging;

    public GpuDeviceOps(GpuContext context, int scalarSlots)
    {
        Context = context;
        Ops = context.Ops<T>();
        Scalars = Own(Ops.Allocate(scalarSlots, "scalars: loss and per-layer traces"));
        _scalarStaging = new T[scalarSlots];
    }

    public GpuContext Context { get; }
    /// <summary>The kernels, for the path operators.</summary>
    public GpuOps<T> Ops { get; }
    /// <summary>Slot 0 the loss, slot j the trace of layer j.</summary>
    public DeviceArray<T> Scalars { get; }

    public BackendKind Backend => GpuBackend.BackendOf(Context.Kind);

    /// <summary>Keeps <paramref name="buffer"/> until this adapter is disposed.</summary>
    public TBuffer Own<TBuffer>(TBuffer buffer) where TBuffer : IDisposable
    {
        _owned.Add(buffer);
        return buffer;
    }

    /// <summary>A device array of <paramref name="length"/> elements, owned here.</summary>
    public DeviceArray<T> AllocateArray(long length, string name) => Own(Ops.Allocate(Math.Max(1, length), name));

    /// <summary>Host data converted to T and uploaded, owned here.</summary>
    public DeviceArray<T> Upload(ReadOnlySpan<double> data, string name)
    {
        var converted = new T[data.Length];
        for (int i = 0; i < data.Length; i++) converted[i] = T.CreateTruncating(data[i]);
        return Own(Ops.Upload(converted, name));
    }

    /// <summary>Indices uploaded, owned here.</summary>
    public DeviceArray<int> UploadIndices(ReadOnlySpan<int> data, string name) => Own(Ops.UploadIndices(data, name));

    public DeviceMatrix<T> Allocate(int rows, int cols, string name)
    {
        var buffer = AllocateArray((long)rows * cols, name);
        buffer.Clear();
        return new DeviceMatrix<T>(buffer, 0, rows, cols, cols);
    }

    public DeviceMatrix<T>[] AllocateStack(IReadOnlyList<(int Rows, int Cols)> shapes, string name)
    {
        long total = shapes.Sum(s => (long)s.Rows * s.Cols);
        var buffer = AllocateArray(total, name);
        buffer.Clear();
        var views = new DeviceMatrix<T>[shapes.Count];
        long offset = 0;
        for (int i = 0; i < shapes.Count; i++)
        {
            views[i] = new DeviceMatrix<T>(buffer, offset, shapes[i].Rows, shapes[i].Cols, shapes[i].Cols);
            offset += (long)shapes[i].Rows * shapes[i].Cols;
        }
        return views;
    }

    public void SetIdentity(DeviceMatrix<T> m)
    {
        var host = new T[m.Rows * m.Cols];
        for (int i = 0; i < Math.Min(m.Rows, m.Cols); i++) host[i * m.Cols + i] = T.One;
        m.Buffer.Upload(host, m.Offset);
    }

    public void UploadStack(IReadOnlyList<Matrix<double>> sources, DeviceMatrix<T>[] targets)
    {
        long total = targets.Sum(t => (long)t.Rows * t.Cols);
        if (_staging.Length != total) _staging = new T[total];
        long offset = 0;
        for (int i = 0; i < targets.Length; i++)
        {
            var source = sources[i].Data;
            for (int t = 0; t < source.Length; t++) _staging[offset + t] = T.CreateTruncating(source[t]);
            offset += source.Length;
        }
        targets[0].Buffer.Upload(_staging, targets[0].Offset);
    }

    public Matrix<double>[] DownloadStack(DeviceMatrix<T>[] sources)
    {
        var host = sources[0].Buffer.ToArray();
        var result = new Matrix<double>[sources.Length];
        for (int i = 0; i < sources.Length; i++)
        {
            var m = new Matrix<double>(sources[i].Rows, sources[i].Cols);
            long offset = sources[i].Offset;
            for (int t = 0; t < m.Data.Length; t++) m.Data[t] = double.CreateTruncating(host[offset + t]);
            result[i] = m;
        }
        return result;
    }

    public void Gemm(Op opA, Op opB, T alpha, DeviceMatrix<T> a, DeviceMatrix<T> b, T beta, DeviceMatrix<T> c) =>
        Ops.Gemm(opA, opB, alpha, a, b, beta, c);

    public void Copy(DeviceMatrix<T> source, DeviceMatrix<T> target) => Ops.Copy(source, target);

    public void Clear(DeviceMatrix<T> m)
    {
        if (m.Offset == 0 && (long)m.Rows * m.Cols == m.Buffer.Length) m.Buffer.Clear();
        else m.Buffer.Upload(new T[m.Rows * m.Cols], m.Offset);
    }

    public void Dot(DeviceMatrix<T> x, DeviceMatrix<T> y, double alpha, int slot) =>
        Ops.Dot(x.Buffer, x.Offset, y.Buffer, y.Offset, (long)x.Rows * x.Cols, T.CreateTruncating(alpha), Scalars, slot);

    public void ReadScalars(Span<double> scalars)
    {
        Scalars.Download(_scalarStaging);
        for (int i = 0; i < scalars.Length; i++) scalars[i] = double.CreateTruncating(_scalarStaging[i]);
    }

    public void Dispose()
    {
        foreach (var buffer in _owned) buffer.Dispose();
        _owned.Clear();
    }
}
