using System.CommandLine;
using Flatness.Solver.Problems;
using Flatness.Kernels.Gpu;
using Flatness.Solver.Backends;
using Spectre.Console;

namespace Flatness.Cli;

/// <summary>`flatness devices`: the CPU and every ILGPU accelerator found, and what `auto` picks for typical problems.</summary>
internal static class DevicesCommand
{
    public static Command Create()
    {
        var jsonOption = new Option<bool>("--json") { Description = "Print one JSON object instead of tables" };
        var precisionOption = ChoiceOptions.Precision("Precision for the auto choices: f64 or f32");
        var command = new Command("devices", "List the CPU and ILGPU accelerators, and what 'auto' would choose for typical problems")
        {
            jsonOption, precisionOption,
        };
        command.SetAction(parse => Cli.Guard(() =>
        {
            var report = DeviceInventory.Take(parse.GetValue(precisionOption));
            if (parse.GetValue(jsonOption)) WriteJson(report);
            else WriteTables(report);
            return Cli.Ok;
        }));
        return command;
    }

    private static string Kind(GpuKind kind) => kind switch
    {
        GpuKind.Cuda => "cuda",
        GpuKind.OpenCL => "opencl",
        _ => "cpu-accelerator",
    };

    private static string Memory(long bytes) =>
        bytes >= long.MaxValue / 2 ? "host" : $"{bytes / (1024.0 * 1024 * 1024):F1} GiB";

    private static void WriteTables(DeviceReport report)
    {
        var console = Output.Terminal();
        var cpu = report.Cpu;
        console.Write(new Table().Title("CPU").AddColumns("architecture", "cores", "Vector512", "Vector256", "Vector<T> bits", "float32 lanes", "float64 lanes")
            .AddRow(cpu.Architecture, cpu.Cores.ToString(), cpu.Vector512 ? "accelerated" : "no", cpu.Vector256 ? "accelerated" : "no",
                cpu.VectorWidthBits.ToString(), cpu.VectorCountFloat32.ToString(), cpu.VectorCountFloat64.ToString()));

        var accelerators = new Table().Title("ILGPU accelerators")
            .AddColumns("type", "name", "memory", "compute capability", "warp", "max threads/group", "shared/group", "multiprocessors");
        foreach (var d in report.Accelerators)
            accelerators.AddRow(Kind(d.Kind), Markup.Escape(d.Name), Memory(d.MemoryBytes), d.ComputeCapability ?? "-", d.WarpSize.ToString(),
                d.MaxThreadsPerGroup.ToString(), d.MaxSharedMemoryPerGroup >= int.MaxValue ? "host" : $"{d.MaxSharedMemoryPerGroup / 1024} KiB",
                d.Multiprocessors.ToString());
        console.Write(accelerators);
        if (report.AcceleratorError is { } error) console.MarkupLine($"[yellow]ILGPU:[/] {Markup.Escape(error)}");
        if (!report.Accelerators.Any(d => d.Kind is GpuKind.Cuda or GpuKind.OpenCL))
            console.WriteLine("No CUDA or OpenCL device: 'auto' stays on the CPU; '--backend ilgpu-cpu' runs the GPU kernels on the CPU accelerator.");

        var auto = new Table().Title($"What 'auto' picks ({report.Auto.FirstOrDefault()?.Shape.Precision.Name()})").AddColumns("problem", "backend", "path", "why");
        foreach (var a in report.Auto)
            auto.AddRow(a.Label, a.Choice?.Backend.Name() ?? "none", a.Choice?.Path.Name() ?? "-", Markup.Escape(a.Reason));
        console.Write(auto);
    }

    private static void WriteJson(DeviceReport report) => Output.Json(w =>
    {
        var cpu = report.Cpu;
        w.WriteStartObject("cpu");
        w.WriteString("architecture", cpu.Architecture);
        w.WriteString("os", cpu.OperatingSystem);
        w.WriteNumber("cores", cpu.Cores);
        w.WriteBoolean("vector512", cpu.Vector512);
        w.WriteBoolean("vector256", cpu.Vector256);
        w.WriteNumber("vector_bits", cpu.VectorWidthBits);
        w.WriteNumber("vector_count_f32", cpu.VectorCountFloat32);
        w.WriteNumber("vector_count_f64", cpu.VectorCountFloat64);
        w.WriteEndObject();
        w.WriteStartArray("accelerators");
        foreach (var d in report.Accelerators)
        {
            w.WriteStartObject();
            w.WriteString("type", Kind(d.Kind));
            w.WriteString("name", d.Name);
            w.WriteNumber("memory_bytes", d.MemoryBytes);
            if (d.ComputeCapability is { } cc) w.WriteString("compute_capability", cc);
            else w.WriteNull("compute_capability");
            w.WriteNumber("warp_size", d.WarpSize);
            w.WriteNumber("max_threads_per_group", d.MaxThreadsPerGroup);
            w.WriteNumber("max_shared_memory_per_group", d.MaxSharedMemoryPerGroup);
            w.WriteNumber("multiprocessors", d.Multiprocessors);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        if (report.AcceleratorError is { } error) w.WriteString("accelerator_error", error);
        w.WriteStartArray("auto");
        foreach (var a in report.Auto)
        {
            w.WriteStartObject();
            w.WriteString("problem", a.Label);
            w.WriteString("measurement", a.Shape.Kind.Name());
            w.WriteNumber("n", a.Shape.Count);
            w.WriteStartArray("dims");
            foreach (int d in a.Shape.Dims) w.WriteNumberValue(d);
            w.WriteEndArray();
            w.WriteString("precision", a.Shape.Precision.Name());
            if (a.Choice is { } choice)
            {
                w.WriteString("backend", choice.Backend.Name());
                w.WriteString("path", choice.Path.Name());
            }
            else
            {
                w.WriteNull("backend");
                w.WriteNull("path");
            }
            w.WriteString("reason", a.Reason);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    });
}
