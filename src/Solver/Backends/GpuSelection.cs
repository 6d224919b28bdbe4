using System.Globalization;
using Flatness.Kernels.Gpu;
using Flatness.Solver.Problems;

namespace Flatness.Solver.Backends;

/// <summary>
/// The GPU side of the selector: a coarse cost model of the ILGPU paths (flops, bytes, kernel launches, device
/// memory) and the rule by which "auto" moves to a CUDA or OpenCL device. Kept apart from the CPU model so either
/// can be refined alone.
/// </summary>
public static class GpuSelection
{
    public static readonly string[] Backends = ["ilgpu", "ilgpu-cuda", "ilgpu-opencl", "ilgpu-cpu"];

    /// <summary>Seconds per kernel launch (enqueue plus a short kernel), charged per launch per evaluation.</summary>
    public const double LaunchSeconds = 8e-6;

    public static bool IsGpu(string backend) => backend.StartsWith("ilgpu", StringComparison.Ordinal);

    /// <summary>The accelerator kind a backend name asks for ("ilgpu" is any, best first).</summary>
    public static GpuKind KindOf(string backend) => backend switch
    {
        "ilgpu-cuda" => GpuKind.Cuda,
        "ilgpu-opencl" => GpuKind.OpenCL,
        "ilgpu-cpu" => GpuKind.Cpu,
        _ => GpuKind.Auto,
    };

    /// <summary>
    /// Sustained rates assumed for the ILGPU kernels: about a third of a current data-centre GPU's peak on CUDA
    /// (20 TFLOP/s f32, 10 TFLOP/s f64, 1.5 TB/s), a quarter of that through OpenCL, and a slow simulator for the
    /// CPU accelerator. Memory budget: 80% of the device's memory.
    /// </summary>
    public static MachineModel Model(GpuDeviceInfo device, string precision)
    {
        double f32 = device.Kind switch { GpuKind.Cuda => 20e12, GpuKind.OpenCL => 5e12, _ => 1e9 };
        double bandwidth = device.Kind switch { GpuKind.Cuda => 1.5e12, GpuKind.OpenCL => 0.4e12, _ => 5e9 };
        double memory = device.Kind == GpuKind.Cpu ? 0.5 * GC.GetGCMemoryInfo().TotalAvailableMemoryBytes : 0.8 * device.MemoryBytes;
        return new MachineModel(precision == "f32" ? f32 : f32 / 2, bandwidth, memory);
    }

    /// <summary>Kernel launches per evaluation (loss, trace and both gradients) on a path.</summary>
    public static int Launches(string path, int depth) => path switch
    {
        "direct" => 12 + 16 * depth,
        "gram" => 14 + 10 * depth,
        _ => 12 + 12 * depth,
    };

    /// <summary>Per-evaluation and setup cost of an ILGPU path (no symmetry savings: K is held in full).</summary>
    public static PathCost Cost(string path, MeasurementKind kind, int count, IReadOnlyList<int> dims, int elementBytes)
    {
        int depth = dims.Count - 1, d0 = dims[0], dl = dims[^1];
        double n = count, a = n * dl * d0;
        double chain = 0;
        for (int j = 1; j <= depth; j++) chain += 2.0 * dims[j] * dims[j - 1] * (dl + d0) * 3 + 4.0 * dl * dl * dims[j] + 4.0 * dims[j - 1] * d0 * d0;
        switch (path)
        {
            case "direct":
            {
                double step = 4 * a + chain;
                for (int j = 1; j <= depth; j++)
                    step += 2 * a * dims[j - 1] + 2 * n * dl * dl * dims[j - 1] + 2 * a * dims[j] + 2 * n * d0 * d0 * dims[j];
                double scratch = Math.Min(n * dims.Max() * (dl + d0), 1L << 31);
                return new PathCost("direct", 0, step, (2 + 2.0 * depth) * a * elementBytes, (a + scratch) * elementBytes);
            }
            case "gram":
            {
                double k = (double)dl * d0 * dl * d0;
                double step = 4 * a + 4 * depth * k + chain;
                return new PathCost("gram", 2 * n * k, step, (2 * k + 2 * a) * elementBytes, (k + a) * elementBytes);
            }
            case "completion":
                return new PathCost("completion", 0, 10 * n + 4.0 * depth * dl * d0 + chain, (3 * n + dl * d0) * elementBytes, (3 * n + dl * d0) * elementBytes);
            default:
            {
                double step = 4 * n * (dl + d0) * dl + chain;
                for (int j = 1; j <= depth; j++) step += 6 * n * (dl * dims[j] + d0 * dims[j - 1]);
                return new PathCost("rank-one", 0, step, 6 * n * (dl + d0) * elementBytes, 4 * n * (dl + d0 + dims.Max()) * elementBytes);
            }
        }
    }

    private static double Seconds(PathCost cost, MachineModel machine, long evaluations, int depth) =>
        cost.Seconds(machine, evaluations) + evaluations * Launches(cost.Path, depth) * LaunchSeconds;

    /// <summary>
    /// Path and precision on an ILGPU backend: structured measurements take their own operators unless a dense
    /// path is asked for; dense ones take Gram or direct, whichever the model says is faster and fits the device.
    /// </summary>
    public static Choice Choose(MeasurementKind kind, int count, IReadOnlyList<int> dims, string backend, string path,
        string precision, long evaluations, GpuDeviceInfo? device = null)
    {
        device ??= DeviceInventory.BestAccelerator(KindOf(backend));
        var machine = device is null ? new MachineModel(precision == "f32" ? 20e12 : 10e12, 1.5e12, 16e9) : Model(device, precision);
        string on = device is null ? "no such device found here, model of a generic GPU" : device.Name;
        int bytes = precision == "f32" ? 4 : 8;
        int depth = dims.Count - 1;
        string structured = kind switch { MeasurementKind.Completion => "completion", MeasurementKind.RankOne => "rank-one", _ => "" };
        if (path is "completion" or "rank-one" && path != structured)
            throw new ArgumentException($"path '{path}' needs {path} measurements, the problem's are {kind.ToString().ToLowerInvariant()}", nameof(path));
        if (path == "auto" && structured != "")
            return new Choice(backend, structured, precision, $"{structured}: structured measurements use their own operators on {on}");
        if (path is "completion" or "rank-one")
            return new Choice(backend, path, precision, $"{path}: as requested, on {on}");

        var direct = Cost("direct", kind, count, dims, bytes);
        var gram = Cost("gram", kind, count, dims, bytes);
        double tDirect = Seconds(direct, machine, evaluations, depth), tGram = Seconds(gram, machine, evaluations, depth);
        string numbers = string.Create(CultureInfo.InvariantCulture,
            $"on {on}: over {evaluations} evaluations about {tGram:G3} s (gram, K {gram.MemoryBytes / 1e9:G3} GB) vs {tDirect:G3} s (direct, {direct.MemoryBytes / 1e9:G3} GB)");
        if (path != "auto") return new Choice(backend, path, precision, $"{path}: as requested; {numbers}");
        bool gramFits = gram.MemoryBytes <= machine.MemoryBudgetBytes;
        bool directFits = direct.MemoryBytes <= machine.MemoryBudgetBytes;
        string pick = gramFits && (!directFits || tGram < tDirect) ? "gram" : "direct";
        return new Choice(backend, pick, precision, $"{pick} ({(pick == "gram" ? "cheaper" : gramFits ? "cheaper" : "K does not fit")}); {numbers}");
    }

    /// <summary>
    /// What "auto" does with a CPU choice: keeps it unless a CUDA or OpenCL device is present and the GPU model
    /// says it finishes the expected evaluations sooner (the CPU accelerator is never picked automatically).
    /// </summary>
    public static Choice PreferGpu(MeasurementKind kind, int count, IReadOnlyList<int> dims, Choice cpu, long evaluations,
        GpuDeviceInfo? device = null)
    {
        device ??= DeviceInventory.BestAccelerator(GpuKind.Auto);
        if (device is null || device.Kind == GpuKind.Cpu) return cpu;
        int depth = dims.Count - 1;
        int bytes = cpu.Precision == "f32" ? 4 : 8;
        var cpuMachine = MachineModel.Cpu(cpu.Precision);
        double tCpu = cpu.Path switch
        {
            "direct" => EvaluatorSelector.DirectCost(count, dims, bytes).Seconds(cpuMachine, evaluations),
            "gram" => EvaluatorSelector.GramCost(count, dims, bytes).Seconds(cpuMachine, evaluations),
            _ => Cost(cpu.Path, kind, count, dims, bytes).Seconds(cpuMachine, evaluations),
        };
        string backend = device.Kind == GpuKind.Cuda ? "ilgpu-cuda" : "ilgpu-opencl";
        var gpu = Choose(kind, count, dims, backend, "auto", cpu.Precision, evaluations, device);
        var machine = Model(device, cpu.Precision);
        double tGpu = Seconds(Cost(gpu.Path, kind, count, dims, bytes), machine, evaluations, depth);
        if (Cost(gpu.Path, kind, count, dims, bytes).MemoryBytes > machine.MemoryBudgetBytes || tGpu >= tCpu) return cpu;
        return gpu with
        {
            Reason = string.Create(CultureInfo.InvariantCulture, $"{gpu.Path} on {device.Name} (about {tGpu:G3} s vs {tCpu:G3} s on the CPU {cpu.Path} path); {gpu.Reason}"),
        };
    }

    /// <summary>The GPU choice when no CPU path fits in memory: a CUDA or OpenCL device whose memory holds the
    /// cheapest fitting path, or null.</summary>
    public static Choice? WhenCpuDoesNotFit(MeasurementKind kind, int count, IReadOnlyList<int> dims, string path, string precision,
        long evaluations, string cpuProblem, GpuDeviceInfo? device = null)
    {
        device ??= DeviceInventory.BestAccelerator(GpuKind.Auto);
        if (device is null || device.Kind == GpuKind.Cpu) return null;
        string backend = device.Kind == GpuKind.Cuda ? "ilgpu-cuda" : "ilgpu-opencl";
        var gpu = Choose(kind, count, dims, backend, path, precision, evaluations, device);
        int bytes = precision == "f32" ? 4 : 8;
        if (Cost(gpu.Path, kind, count, dims, bytes).MemoryBytes > Model(device, precision).MemoryBudgetBytes) return null;
        return gpu with { Reason = $"{gpu.Path} on {device.Name}: the CPU cannot hold it ({cpuProblem}); {gpu.Reason}" };
    }
}
