using System.Numerics;
using Flatness.Kernels.Cpu;
using Flatness.Kernels.Gpu;
using Flatness.Solver.Backends;

namespace Flatness.Solver.Benchmarking;

/// <summary>
/// The ILGPU branch of <see cref="GemmBenchmark"/>: the tiled GEMM on square operands resident on the device, each
/// timed call synchronised, then 16 entries checked against float64 dot products (a wrong kernel fails loudly
/// instead of being timed).
/// </summary>
internal static class IlgpuGemmBenchmark
{
    /// <inheritdoc/>
    public static GemmBenchmarkResult Run(int size, Precision precision, int repeats, BackendKind backend)
    {
        var context = GpuContext.Shared(GpuBackend.KindOf(backend));
        return precision switch
        {
            Precision.F32 => Run<float>(context, size, repeats, 1e-5),
            _ => Run<double>(context, size, repeats, 1e-13),
        };
    }

    private static GemmBenchmarkResult Run<T>(GpuContext context, int size, int repeats, double tolerance)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var ops = context.Ops<T>();
        var random = new Random(20240601);
        long length = (long)size * size;
        if (length > Array.MaxLength) throw new ArgumentOutOfRangeException(nameof(size), $"GEMM benchmark size {size} is too large");
        T[] a = GemmBenchmark.RandomArray<T>(random, (int)length), b = GemmBenchmark.RandomArray<T>(random, (int)length);
        using var da = ops.Upload(a, "GEMM A");
        using var db = ops.Upload(b, "GEMM B");
        using var dc = ops.Allocate(length, "GEMM C");
        var ma = new DeviceMatrix<T>(da, size, size);
        var mb = new DeviceMatrix<T>(db, size, size);
        var mc = new DeviceMatrix<T>(dc, size, size);
        var timing = Timing.Measure(() =>
        {
            ops.Gemm(Op.None, Op.None, T.One, ma, mb, T.Zero, mc);
            context.Synchronize();
        }, repeats);

        var c = new T[length];
        dc.Download(c);
        double worst = 0;
        for (int s = 0; s < 16; s++)
        {
            int i = random.Next(size), j = random.Next(size);
            double want = 0, magnitude = 0;
            for (int k = 0; k < size; k++)
            {
                double term = double.CreateChecked(a[(long)i * size + k]) * double.CreateChecked(b[(long)k * size + j]);
                want += term;
                magnitude += Math.Abs(term);
            }
            worst = Math.Max(worst, Math.Abs(double.CreateChecked(c[(long)i * size + j]) - want) / Math.Max(magnitude, double.Epsilon));
        }
        var precision = typeof(T) == typeof(float) ? Precision.F32 : Precision.F64;
        if (!(worst <= tolerance))
            throw new InvalidOperationException($"ILGPU GEMM {size}x{size} {precision.Name()} on {context.Name} is wrong: relative error {worst:E2} > {tolerance:E0}");
        return new GemmBenchmarkResult(GpuBackend.BackendOf(context.Kind), precision, size, 0, repeats, timing.MedianSeconds, timing.MinSeconds,
            timing.MaxSeconds, GemmBenchmark.Flops(size, size, size) / timing.MedianSeconds * 1e-9,
            $"ILGPU tiled GEMM (8x8 register tiles) on {context.Name}; checked, relative error {worst:E1}");
    }
}
