using System.Globalization;
using System.Numerics;
using Flatness.Kernels.Cpu;
using Flatness.Solver.Benchmarking;

namespace Flatness.Bench;

/// <summary>
/// <c>gram-build-table [D:n ...]</c>: building K (<see cref="GramOperator.Build{TSource, T}"/>, the upper block
/// triangle of X^T X / n for n Gaussian D x D measurements) against the equivalent OpenBLAS SYRK (upper triangle of
/// X^T X, X of n rows and D^2 columns), same thread count, wall clock, samples interleaved; GFLOP/s counted as
/// n D^4 for both (the flops of the triangle).
/// </summary>
internal static class GramBuildTable
{
    public static int Run(string[] args)
    {
        var shapes = args.Length > 0
            ? args.Select(a => a.Split(':')).Select(p => (int.Parse(p[0], CultureInfo.InvariantCulture), int.Parse(p[1], CultureInfo.InvariantCulture))).ToArray()
            : [(20, 2000), (50, 2000), (100, 8000)];
        int threads = Environment.ProcessorCount;
        Console.WriteLine($"cpu: {GemmTable.CpuModel()}; OPENBLAS_CORETYPE: {Environment.GetEnvironmentVariable("OPENBLAS_CORETYPE") ?? "(unset)"}; {OpenBlas.Status}{(OpenBlas.IsAvailable ? $" ({OpenBlas.Config})" : "")}");
        Console.WriteLine($"threads: {threads} (both); median of 5 interleaved samples");
        Console.WriteLine();
        Console.WriteLine("| D | n | precision | ours s | OpenBLAS SYRK s | ours GFLOP/s | SYRK GFLOP/s | ratio (SYRK time / ours) |");
        Console.WriteLine("|---|---|---|---:|---:|---:|---:|---:|");
        if (OpenBlas.IsAvailable) OpenBlas.SetThreads(threads);
        foreach (var (d, n) in shapes)
        {
            Console.WriteLine(Row<double>(d, n, "f64"));
            Console.WriteLine(Row<float>(d, n, "f32"));
        }
        return 0;
    }

    private static string Row<T>(int d, int n, string precision) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var random = new Random(3);
        var x = GemmBenchmark.RandomArray<T>(random, n * d * d);
        var layout = new GramLayout(d, d);
        var k = new T[layout.Length];
        int columns = d * d;
        var full = new T[(long)columns * columns];
        T scale = T.One / T.CreateTruncating(n);
        Action ours = () => GramOperator.Build<T, T>(layout, n, x, k);
        Action theirs = () => OpenBlas.SyrkTransposed(columns, n, scale, x, columns, T.Zero, full, columns);
        double flops = (double)n * columns * columns;
        if (!OpenBlas.IsAvailable)
        {
            var alone = Timing.Measure(ours, 5);
            return string.Create(CultureInfo.InvariantCulture, $"| {d} | {n} | {precision} | {alone.MedianSeconds:F4} | skipped | {flops / alone.MedianSeconds * 1e-9:F1} | | |");
        }
        var r = Timing.MeasureInterleaved([ours, theirs], 5, 0.2, 0.05, Timing.DefaultSettleSeconds);
        return string.Create(CultureInfo.InvariantCulture,
            $"| {d} | {n} | {precision} | {r[0].MedianSeconds:F4} | {r[1].MedianSeconds:F4} | {flops / r[0].MedianSeconds * 1e-9:F1} | {flops / r[1].MedianSeconds * 1e-9:F1} | {r[1].MedianSeconds / r[0].MedianSeconds:F2} |");
    }
}
