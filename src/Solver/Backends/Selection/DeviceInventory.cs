using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Flatness.Kernels.Gpu;
using Flatness.Solver.Problems;

namespace Flatness.Solver.Backends;

/// <summary>The host CPU as the CPU kernels see it.</summary>
internal sealed record HostCpu(
    string Architecture,
    string OperatingSystem,
    int Cores,
    bool Vector512,
    bool Vector256,
    int VectorWidthBits,
    int VectorCountFloat32,
    int VectorCountFloat64);

/// <summary>One typical problem shape and what "auto" picks for it.</summary>
internal sealed record AutoExample(string Label, ProblemShape Shape, Choice? Choice, string Reason);

/// <summary>Everything <c>flatness devices</c> reports.</summary>
internal sealed record DeviceReport(HostCpu Cpu, IReadOnlyList<GpuDeviceInfo> Accelerators, string? AcceleratorError, IReadOnlyList<AutoExample> Auto);

/// <summary>Which devices this machine has (enumerated once per process) and what the selector makes of them.</summary>
internal static class DeviceInventory
{
    private static readonly Lazy<(IReadOnlyList<GpuDeviceInfo> Devices, string? Error)> Probe = new(() =>
    {
        if (Environment.GetEnvironmentVariable("FLATNESS_DISABLE_GPU") is "1" or "true")
            return ([], "disabled by FLATNESS_DISABLE_GPU");
        try
        {
            return (GpuContext.Inventory(), null);
        }
        catch (GpuUnavailableException e)
        {
            return ([], e.Message);
        }
    });

    /// <summary>This machine's processor as the cost model sees it.</summary>
    public static HostCpu Cpu() => new(
        RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant(),
        RuntimeInformation.OSDescription,
        Environment.ProcessorCount,
        Vector512.IsHardwareAccelerated,
        Vector256.IsHardwareAccelerated,
        Vector<byte>.Count * 8,
        Vector<float>.Count,
        Vector<double>.Count);

    /// <summary>ILGPU devices (CUDA, OpenCL, the CPU accelerator); empty with an error when ILGPU cannot enumerate.</summary>
    public static IReadOnlyList<GpuDeviceInfo> Accelerators => Probe.Value.Devices;

    /// <summary>The device ILGPU would use for <paramref name="kind"/>: CUDA, then OpenCL, then the CPU accelerator.</summary>
    public static GpuDeviceInfo? BestAccelerator(GpuKind kind)
    {
        static int Rank(GpuKind k) => k switch { GpuKind.Cuda => 3, GpuKind.OpenCL => 2, _ => 1 };
        return Accelerators
            .Where(d => kind == GpuKind.Auto || d.Kind == kind)
            .OrderByDescending(d => Rank(d.Kind))
            .ThenByDescending(d => d.MemoryBytes)
            .FirstOrDefault();
    }

    /// <summary>Typical shapes, from a small test problem to the largest benchmark.</summary>
    public static IReadOnlyList<(string Label, MeasurementKind Kind, int Count, int[] Dims)> TypicalProblems { get; } =
    [
        ("dense d=20 L=2 n=400", MeasurementKind.Dense, 400, [20, 20, 20]),
        ("dense d=50 L=3 n=2000", MeasurementKind.Dense, 2000, [50, 50, 50, 50]),
        ("dense d=256 L=4 n=20000", MeasurementKind.Dense, 20000, [256, 256, 256, 256, 256]),
        ("completion d=200 L=3 n=20000", MeasurementKind.Completion, 20000, [200, 200, 200, 200]),
        ("rank-one d=100 L=3 n=20000", MeasurementKind.RankOne, 20000, [100, 100, 100, 100]),
    ];

    /// <summary>The devices present and what the selector would pick on a few reference shapes.</summary>
    public static DeviceReport Take(Precision precision = Precision.F64)
    {
        var auto = TypicalProblems.Select(p => AutoChoice(p.Label, new ProblemShape(p.Kind, p.Count, p.Dims, precision))).ToArray();
        return new DeviceReport(Cpu(), Accelerators, Probe.Value.Error, auto);
    }

    private static AutoExample AutoChoice(string label, ProblemShape shape)
    {
        var choice = EvaluatorSelector.TryChoose(shape, new EvaluatorOptions { Precision = shape.Precision }, out string unfit);
        return new AutoExample(label, shape, choice, choice?.Reason ?? unfit);
    }
}
