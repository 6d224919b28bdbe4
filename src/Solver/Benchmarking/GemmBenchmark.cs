using System.Numerics;
using Flatness.Kernels.Cpu;
using Flatness.Solver.Backends;

namespace Flatness.Solver.Benchmarking;

/// <summary>The timing of one square GEMM, C = A B with A, B, C all size x size.</summary>
/// <param name="Backend">where it ran (cpu, or the ILGPU device kind).</param>
/// <param name="Precision">element type.</param>
/// <param name="Size">n of the n x n operands.</param>
/// <param name="Threads">most threads the product could use.</param>
/// <param name="Repeats">timed samples.</param>
/// <param name="SecondsMedian">median seconds per product.</param>
/// <param name="SecondsMin">fastest sample, seconds per product.</param>
/// <param name="SecondsMax">slowest sample, seconds per product.</param>
/// <param name="Gflops">2 n^3 / SecondsMedian, in 10^9 floating-point operations per second.</param>
/// <param name="Kernel">what ran (for "cpu": the vector width of the micro-kernel).</param>
internal sealed record GemmBenchmarkResult(BackendKind Backend, Precision Precision, int Size, int Threads, int Repeats,
    double SecondsMedian, double SecondsMin, double SecondsMax, double Gflops, string Kernel);

/// <summary>Times the GEMM kernel of a backend on square products (median of repeated runs after warm-up).</summary>
internal static class GemmBenchmark
{
    /// <summary>Times <paramref name="backend"/>'s GEMM: <see cref="BackendKind.Cpu"/> or an ILGPU backend.</summary>
    public static GemmBenchmarkResult Run(int size, Precision precision, int threads, int repeats, BackendKind backend = BackendKind.Cpu)
    {
        if (size < 1)
            throw new ArgumentOutOfRangeException(nameof(size), $"GEMM benchmark size must be at least 1, got {size}");
        if (threads < 1)
            throw new ArgumentOutOfRangeException(nameof(threads), $"thread count must be at least 1, got {threads}");
        if (repeats < 1)
            throw new ArgumentOutOfRangeException(nameof(repeats), $"repeats must be at least 1, got {repeats}");
        if (backend.IsIlgpu()) return IlgpuGemmBenchmark.Run(size, precision, repeats, backend);
        if (backend != BackendKind.Cpu)
            throw new ArgumentException($"the GEMM benchmark runs on cpu or an ILGPU backend, not '{backend.Name()}'", nameof(backend));
        return precision == Precision.F32 ? RunCpu<float>(size, precision, threads, repeats) : RunCpu<double>(size, precision, threads, repeats);
    }

    private static GemmBenchmarkResult RunCpu<T>(int size, Precision precision, int threads, int repeats)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var random = new Random(20240601);
        T[] a = RandomArray<T>(random, size * size), b = RandomArray<T>(random, size * size), c = new T[size * size];
        using var limit = CpuThreads.Limit(threads); // this call only: other work in the process keeps its threads
        int used = CpuThreads.Available;                // never above Gemm.MaxThreads (the processor count by default)
        var timing = Timing.Measure(
            () => Gemm.Compute(Op.None, Op.None, size, size, size, T.One, a, size, b, size, T.Zero, c, size),
            repeats);
        return new GemmBenchmarkResult(BackendKind.Cpu, precision, size, used, repeats, timing.MedianSeconds,
            timing.MinSeconds, timing.MaxSeconds, Flops(size, size, size) / timing.MedianSeconds * 1e-9,
            $"{Gemm.Isa}, {Gemm.Blocking<T>().MR}x{Gemm.Blocking<T>().NR} micro-kernel");
    }

    /// <summary>Floating-point operations of an m x k by k x n product (one multiply and one add per term).</summary>
    public static double Flops(int m, int n, int k) => 2.0 * m * n * k;

    /// <summary>Uniform values in [-1, 1).</summary>
    public static T[] RandomArray<T>(Random random, int length) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var values = new T[length];
        for (int i = 0; i < length; i++) values[i] = T.CreateTruncating(2 * random.NextDouble() - 1);
        return values;
    }
}
