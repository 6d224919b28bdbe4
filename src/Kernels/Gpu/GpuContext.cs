using System.Numerics;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;

namespace Flatness.Kernels.Gpu;

/// <summary>Which ILGPU accelerator to use. <see cref="Auto"/> prefers CUDA, then OpenCL, then the CPU accelerator.</summary>
public enum GpuKind
{
    /// <summary>CUDA, else OpenCL, else ILGPU's CPU accelerator.</summary>
    Auto,
    /// <summary>An NVIDIA GPU through CUDA.</summary>
    Cuda,
    /// <summary>An OpenCL device.</summary>
    OpenCL,
    /// <summary>ILGPU's CPU accelerator (an emulator for tests; slow).</summary>
    Cpu,
}

/// <summary>
/// A GPU that cannot be used: no such accelerator, the driver failed to start, a kernel failed to compile or a buffer
/// failed to allocate. Callers that can fall back to the CPU catch exactly this type.
/// </summary>
public sealed class GpuUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>What one ILGPU device reports about itself (for inventories and logs).</summary>
public sealed record GpuDeviceInfo(
    GpuKind Kind,
    string Name,
    long MemoryBytes,
    int WarpSize,
    int MaxThreadsPerGroup,
    long MaxSharedMemoryPerGroup,
    int Multiprocessors,
    string? ComputeCapability);

/// <summary>
/// One long-lived ILGPU context and accelerator. Kernels are compiled on first use and cached here for the life of
/// the context (<see cref="Ops{T}"/>), so create one per process (<see cref="Shared"/>) and keep it.
/// </summary>
public sealed class GpuContext : IDisposable
{
    private readonly Context _context;
    private readonly Dictionary<Type, object> _ops = new();
    private readonly object _gate = new();
    private bool _disposed;

    private GpuContext(Context context, Accelerator accelerator, GpuKind kind)
    {
        _context = context;
        Accelerator = accelerator;
        Kind = kind;
        Info = Describe(accelerator.Device);
    }

    internal Accelerator Accelerator { get; }
    /// <summary>The kind actually chosen (never <see cref="GpuKind.Auto"/>).</summary>
    public GpuKind Kind { get; }
    /// <summary>What the device offers (memory, group limits, ...).</summary>
    public GpuDeviceInfo Info { get; }
    /// <summary>The device's name as the driver reports it.</summary>
    public string Name => Accelerator.Name;
    private static readonly object SharedGate = new();
    private static readonly Dictionary<GpuKind, GpuContext> SharedContexts = new();

    /// <summary>
    /// The process-wide context of the requested kind, created on first call and kept (kernels stay compiled).
    /// Throws <see cref="GpuUnavailableException"/> when no such accelerator can be started.
    /// </summary>
    public static GpuContext Shared(GpuKind kind = GpuKind.Auto)
    {
        lock (SharedGate)
        {
            if (SharedContexts.TryGetValue(kind, out var existing) && !existing._disposed) return existing;
            var created = Create(kind);
            SharedContexts[kind] = created;
            if (kind == GpuKind.Auto) SharedContexts.TryAdd(created.Kind, created);
            return created;
        }
    }

    /// <summary>A new context owning its accelerator; dispose it when done.</summary>
    public static GpuContext Create(GpuKind kind = GpuKind.Auto) => Create(kind, CpuThreadsPerGroup);

    /// <summary>
    /// A context on the ILGPU CPU accelerator whose groups hold up to <paramref name="threadsPerGroup"/> threads
    /// (a power of two, 2..256), run in ILGPU's sequential mode. Meant for tests of group cooperation (barriers,
    /// shared memory); the default CPU context keeps groups minimal because every simulated barrier costs a
    /// thread switch.
    /// </summary>
    public static GpuContext CreateCpu(int threadsPerGroup)
    {
        if (threadsPerGroup < 2 || threadsPerGroup > 256 || !BitOperations.IsPow2(threadsPerGroup))
            throw new ArgumentOutOfRangeException(nameof(threadsPerGroup), $"threads per group must be a power of two in [2, 256], got {threadsPerGroup}");
        return Create(GpuKind.Cpu, threadsPerGroup);
    }

    /// <summary>Threads per group of the default CPU accelerator.</summary>
    private const int CpuThreadsPerGroup = 2;

    private static GpuContext Create(GpuKind kind, int cpuThreads)
    {
        Context? context = null;
        try
        {
            context = Context.Create(builder => Devices(builder, cpuThreads).EnableAlgorithms().Optimize(OptimizationLevel.O2));
            var device = Choose(context, kind)
                ?? throw new GpuUnavailableException($"no {KindName(kind)} accelerator found (ILGPU sees: {string.Join(", ", context.Devices.Select(d => $"{d.AcceleratorType} {d.Name}"))})");
            var accelerator = device is CPUDevice cpu
                ? cpu.CreateCPUAccelerator(context, CPUAcceleratorMode.Sequential)
                : device.CreateAccelerator(context);
            var chosen = device.AcceleratorType switch
            {
                AcceleratorType.Cuda => GpuKind.Cuda,
                AcceleratorType.OpenCL => GpuKind.OpenCL,
                _ => GpuKind.Cpu,
            };
            return new GpuContext(context, accelerator, chosen);
        }
        catch (GpuUnavailableException)
        {
            context?.Dispose();
            throw;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            context?.Dispose();
            throw new GpuUnavailableException($"the {KindName(kind)} accelerator failed to start: {e.Message}", e);
        }
    }

    /// <summary>CUDA and OpenCL devices, and a CPU accelerator with groups of <paramref name="cpuThreads"/> threads.</summary>
    private static Context.Builder Devices(Context.Builder builder, int cpuThreads)
    {
        int warp = Math.Min(cpuThreads, 32);
        return builder.Cuda().OpenCL().CPU(new CPUDevice(warp, cpuThreads / warp, 1));
    }

    private static string KindName(GpuKind kind) => kind switch
    {
        GpuKind.Auto => "ILGPU",
        GpuKind.Cuda => "CUDA",
        GpuKind.OpenCL => "OpenCL",
        _ => "CPU",
    };

    private static Device? Choose(Context context, GpuKind kind)
    {
        static int Rank(Device d) => d.AcceleratorType switch
        {
            AcceleratorType.Cuda => 3,
            AcceleratorType.OpenCL => 2,
            AcceleratorType.CPU => 1,
            _ => 0,
        };
        var wanted = kind switch
        {
            GpuKind.Cuda => AcceleratorType.Cuda,
            GpuKind.OpenCL => AcceleratorType.OpenCL,
            GpuKind.Cpu => AcceleratorType.CPU,
            _ => (AcceleratorType?)null,
        };
        return context.Devices
            .Where(d => wanted is null ? Rank(d) > 0 : d.AcceleratorType == wanted)
            .OrderByDescending(Rank)
            .ThenByDescending(d => d.MemorySize)
            .FirstOrDefault();
    }

    /// <summary>Every device ILGPU can see on this machine (CUDA, OpenCL, CPU), without starting any of them.</summary>
    public static IReadOnlyList<GpuDeviceInfo> Inventory()
    {
        try
        {
            using var context = Context.Create(builder => Devices(builder, CpuThreadsPerGroup));
            return context.Devices.Select(Describe).ToArray();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new GpuUnavailableException($"ILGPU could not enumerate devices: {e.Message}", e);
        }
    }

    private static GpuDeviceInfo Describe(Device d)
    {
        var kind = d.AcceleratorType switch
        {
            AcceleratorType.Cuda => GpuKind.Cuda,
            AcceleratorType.OpenCL => GpuKind.OpenCL,
            _ => GpuKind.Cpu,
        };
        string? capability = d switch
        {
            CudaDevice cuda => $"{cuda.Architecture?.Major}.{cuda.Architecture?.Minor}",
            CLDevice cl => cl.CVersion.ToString(),
            _ => null,
        };
        return new GpuDeviceInfo(kind, d.Name, d.MemorySize, d.WarpSize, d.MaxNumThreadsPerGroup,
            d.MaxSharedMemoryPerGroup, d.NumMultiprocessors, capability);
    }

    /// <summary>The kernels for element type <typeparamref name="T"/>, compiled on first use and cached.</summary>
    public GpuOps<T> Ops<T>() where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        lock (_gate)
        {
            if (!_ops.TryGetValue(typeof(T), out var ops))
            {
                ops = new GpuOps<T>(this);
                _ops[typeof(T)] = ops;
            }
            return (GpuOps<T>)ops;
        }
    }

    /// <summary>Waits for all queued work on the accelerator.</summary>
    public void Synchronize() => Accelerator.Synchronize();

    /// <summary>Releases the accelerator and the ILGPU context.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        lock (SharedGate)
        {
            foreach (var key in SharedContexts.Where(p => ReferenceEquals(p.Value, this)).Select(p => p.Key).ToArray())
                SharedContexts.Remove(key);
        }
        Accelerator.Dispose();
        _context.Dispose();
    }
}
