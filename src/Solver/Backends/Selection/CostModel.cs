using System.Globalization;
using Flatness.Kernels.Gpu;
using Flatness.Solver.Problems;

namespace Flatness.Solver.Backends;

/// <summary>The shape of an evaluation problem as the cost model sees it (no data).</summary>
internal sealed record ProblemShape(MeasurementKind Kind, int Count, IReadOnlyList<int> Dims, Precision Precision)
{
    /// <summary>L.</summary>
    public int Depth => Dims.Count - 1;
    /// <summary>d_0.</summary>
    public int InputDim => Dims[0];
    /// <summary>d_L.</summary>
    public int OutputDim => Dims[^1];
    /// <summary>Bytes of one element in the asked precision.</summary>
    public int ElementBytes => Precision.ElementBytes();
    /// <summary>n d_L d_0, the element count of the dense A_i stacked.</summary>
    public double DenseElements => (double)Count * OutputDim * InputDim;

    /// <summary>
    /// Flops of what every path shares (the evaluation core): prefix and suffix products, the products with the
    /// sandwiches X_j = 4 S(H_j) P_j and Y_j = 4 Q_j S*(G_j), the chain-rule sweeps and the loss gradient; O(L d^3).
    /// </summary>
    public double CoreFlops
    {
        get
        {
            double flops = 0;
            for (int j = 1; j <= Depth; j++)
                flops += 2.0 * Dims[j] * Dims[j - 1] * (2 * InputDim + 2 * OutputDim)
                    + 2.0 * OutputDim * OutputDim * Dims[j] + 2.0 * Dims[j - 1] * InputDim * InputDim;
            return flops;
        }
    }

    /// <summary>
    /// Bytes the evaluation core holds whatever the path: per layer W_j and its two gradients, Q_j and Y_j, P_j and X_j,
    /// ZQ_j; the identities Q_1, P_L and Z.
    /// </summary>
    public double CoreBytes
    {
        get
        {
            double elements = (double)InputDim * InputDim + (double)OutputDim * OutputDim + (double)OutputDim * InputDim;
            for (int j = 1; j <= Depth; j++)
                elements += 3.0 * Dims[j] * Dims[j - 1] + 2.0 * Dims[j - 1] * InputDim + 2.0 * OutputDim * Dims[j] + (double)OutputDim * Dims[j - 1];
            return elements * ElementBytes;
        }
    }

    /// <summary>Launches of the core per evaluation (GPU): chains, X/Y, sweeps and gradients.</summary>
    public int CoreLaunches => 10 * Depth + 4;
}

/// <summary>
/// The cost of one path on one device for a problem: flops to set up (once) and per evaluation (loss, trace and both
/// gradients), bytes read per evaluation, kernel launches per evaluation, and bytes held resident.
/// <see cref="Infeasible"/> when a buffer would exceed one array.
/// </summary>
public sealed record PathCost(double SetupFlops, double StepFlops, double StepBytes, double MemoryBytes, int Launches = 0)
{
    /// <summary>A path that cannot hold the problem in one array; <paramref name="memoryBytes"/> is what it would need.</summary>
    public static PathCost Infeasible(double memoryBytes) =>
        new(double.PositiveInfinity, double.PositiveInfinity, double.PositiveInfinity, memoryBytes) { Feasible = false };

    /// <summary>Whether the path can hold the problem at all.</summary>
    public bool Feasible { get; init; } = true;
}

/// <summary>
/// A coarse device: sustained GEMM flop rate in the precision asked for, memory bandwidth, seconds per kernel launch
/// (zero on the CPU), and the memory a path may hold.
/// </summary>
internal sealed record DeviceModel(BackendKind Backend, string Name, double FlopsPerSecond, double BytesPerSecond, double LaunchSeconds,
    double MemoryBudgetBytes)
{
    /// <summary>Seconds for the setup of <paramref name="cost"/>.</summary>
    public double SetupSeconds(PathCost cost) => cost.SetupFlops / FlopsPerSecond;

    /// <summary>Seconds per evaluation: bound by arithmetic or by memory traffic, whichever is slower, plus the launches.</summary>
    public double StepSeconds(PathCost cost) =>
        Math.Max(cost.StepFlops / FlopsPerSecond, cost.StepBytes / BytesPerSecond) + cost.Launches * LaunchSeconds;

    /// <summary>
    /// This process's CPU: about 16 GFLOP/s per core in float64 (a third of an AVX2 FMA core's peak; twice in float32),
    /// 10 GB/s of memory bandwidth, and half the memory the runtime reports available.
    /// </summary>
    public static DeviceModel Cpu(Precision precision) => new(BackendKind.Cpu, "cpu",
        Environment.ProcessorCount * (precision == Precision.F32 ? 32e9 : 16e9), 10e9, 0,
        0.5 * GC.GetGCMemoryInfo().TotalAvailableMemoryBytes);

    /// <summary>
    /// An ILGPU device: about a third of a current data-centre GPU's peak on CUDA (20 TFLOP/s f32, 10 f64, 1.5 TB/s,
    /// 8 us per launch), a quarter of that through OpenCL, a slow simulator for the CPU accelerator; 80% of its memory.
    /// </summary>
    public static DeviceModel Gpu(GpuDeviceInfo device, Precision precision)
    {
        double f32 = device.Kind switch { GpuKind.Cuda => 20e12, GpuKind.OpenCL => 5e12, _ => 1e9 };
        double bandwidth = device.Kind switch { GpuKind.Cuda => 1.5e12, GpuKind.OpenCL => 0.4e12, _ => 5e9 };
        double memory = device.Kind == GpuKind.Cpu ? 0.5 * GC.GetGCMemoryInfo().TotalAvailableMemoryBytes : 0.8 * device.MemoryBytes;
        return new DeviceModel(GpuBackend.BackendOf(device.Kind), device.Name, precision == Precision.F32 ? f32 : f32 / 2, bandwidth, 8e-6, memory);
    }

    internal static string Bytes(double bytes) =>
        bytes >= 1e9 ? Invariant(bytes / 1e9, "GB") : bytes >= 1e6 ? Invariant(bytes / 1e6, "MB") : Invariant(bytes / 1e3, "kB");

    internal static string Seconds(double seconds) =>
        seconds >= 1 ? Invariant(seconds, "s") : seconds >= 1e-3 ? Invariant(seconds * 1e3, "ms") : Invariant(seconds * 1e6, "us");

    private static string Invariant(double value, string unit) => value.ToString("G3", CultureInfo.InvariantCulture) + " " + unit;
}
