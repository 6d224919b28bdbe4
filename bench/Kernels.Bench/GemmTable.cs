using System.Globalization;
using System.Numerics;
using System.Runtime.InteropServices;
using Flatness.Kernels.Cpu;
using Flatness.Solver.Benchmarking;

namespace Flatness.Bench;

/// <summary>
/// <c>gemm-table</c>: our GEMM against OpenBLAS in one process, sampled in alternation (median of repeated runs
/// after warm-up, same thread count), printed as a markdown table of GFLOP/s and their ratio.
/// Options: --sizes 64,128,... (square), --shapes 50x50x100000,... (m x k x n), --precision f32,f64,
/// --threads T, --repeats R, --sample-ms S (least duration of one sample),
/// --settle-ms P (idle time before each sample, default 200: OpenBLAS threads spin ~0.1 s after a call),
/// --clock wall|cpu (cpu: the calling thread's CPU time, for single-threaded tuning on a loaded machine), and for tuning --set KC=384,MC=120,... (our GemmBlocking).
/// </summary>
internal static class GemmTable
{
    private static readonly int[] DefaultSizes = [64, 128, 256, 512, 1024, 2048];
    private static readonly (int M, int K, int N)[] DefaultShapes = [(50, 50, 100000), (100, 100, 20000)];

    public static int Run(string[] args)
    {
        var sizes = DefaultSizes.ToList();
        var shapes = DefaultShapes.ToList();
        string[] precisions = ["f32", "f64"];
        int threads = Environment.ProcessorCount, repeats = 9;
        var overrides = new List<(string Name, long Value)>();
        double sampleSeconds = 0.05;
        bool cpuClock = false;
        double settleSeconds = Timing.DefaultSettleSeconds;
        for (int i = 0; i < args.Length; i++)
        {
            string value = i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--sizes":
                    sizes = value == "none" ? [] : value.Split(',').Select(int.Parse).ToList();
                    if (value != "none" && !args.Contains("--shapes")) shapes = [];
                    break;
                case "--shapes":
                    shapes = value == "none" ? [] : value.Split(',').Select(ParseShape).ToList();
                    if (value != "none" && !args.Contains("--sizes")) sizes = [];
                    break;
                case "--precision": precisions = value.Split(','); break;
                case "--threads": threads = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--repeats": repeats = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--sample-ms": sampleSeconds = double.Parse(value, CultureInfo.InvariantCulture) / 1000; break;
                case "--settle-ms": settleSeconds = double.Parse(value, CultureInfo.InvariantCulture) / 1000; break;
                case "--clock":
                    cpuClock = value switch { "cpu" => true, "wall" => false, _ => throw new ArgumentException("--clock is wall or cpu") };
                    break;
                case "--set":
                    foreach (string pair in value.Split(','))
                    {
                        string[] kv = pair.Split('=');
                        if (kv.Length != 2) throw new ArgumentException($"--set takes Name=Value pairs, got '{pair}'");
                        overrides.Add((kv[0], long.Parse(kv[1], CultureInfo.InvariantCulture)));
                    }
                    break;
                default: throw new ArgumentException($"unknown option {args[i]}");
            }
            i++;
        }

        Console.WriteLine($"date: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        Console.WriteLine($"cpu: {CpuModel()}, {Environment.ProcessorCount} logical cores; .NET {Environment.Version}; {RuntimeInformation.OSDescription}");
        Console.WriteLine($"OPENBLAS_CORETYPE: {Environment.GetEnvironmentVariable("OPENBLAS_CORETYPE") ?? "(unset)"}");
        Console.WriteLine($"{OpenBlas.Status}{(OpenBlas.IsAvailable ? $" ({OpenBlas.Config})" : "")}");
        Console.WriteLine($"ours: {Gemm.Isa}, f32 {Gemm.Blocking<float>()}, f64 {Gemm.Blocking<double>()}");
        if (overrides.Count > 0) Console.WriteLine($"overrides: {string.Join(", ", overrides)}");
        Console.WriteLine(cpuClock
            ? $"threads: 1 (both), repeats: {repeats}, median of the calling thread's CPU seconds per call, samples "
                + $"interleaved (>= {sampleSeconds * 1000:F0} ms each)"
            : $"threads: {threads} (both), repeats: {repeats}, median wall seconds per call, samples interleaved "
                + $"(>= {sampleSeconds * 1000:F0} ms each, {settleSeconds * 1000:F0} ms idle before each so that the other library's threads stop spinning)");
        Console.WriteLine();
        Console.WriteLine("| size | precision | ours GFLOP/s | OpenBLAS GFLOP/s | ratio | best-sample ratio |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|");
        if (OpenBlas.IsAvailable) OpenBlas.SetThreads(threads);
        foreach (var (m, k, n) in sizes.Select(s => (s, s, s)).Concat(shapes))
        {
            foreach (string precision in precisions)
            {
                string row = precision switch
                {
                    "f32" => Row<float>(m, k, n, threads, repeats, sampleSeconds, settleSeconds, cpuClock, overrides),
                    "f64" => Row<double>(m, k, n, threads, repeats, sampleSeconds, settleSeconds, cpuClock, overrides),
                    _ => throw new ArgumentException($"precision '{precision}' is not f32 or f64"),
                };
                Console.WriteLine(row);
            }
        }
        return 0;
    }

    private static string Row<T>(int m, int k, int n, int threads, int repeats, double sampleSeconds,
        double settleSeconds, bool cpuClock,
        List<(string Name, long Value)> overrides)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var random = new Random(7);
        T[] a = GemmBenchmark.RandomArray<T>(random, m * k), b = GemmBenchmark.RandomArray<T>(random, k * n);
        T[] ours = new T[m * n], theirs = new T[m * n];
        var blocking = Gemm.Blocking<T>() with { };
        foreach (var (name, value) in overrides)
        {
            var property = typeof(GemmBlocking).GetProperty(name)
                ?? throw new ArgumentException($"GemmBlocking has no property '{name}'");
            property.SetValue(blocking, Convert.ChangeType(value, property.PropertyType, CultureInfo.InvariantCulture));
        }
        Action runOurs = () => Gemm.Compute(Op.None, Op.None, m, n, k, T.One, a, k, b, n, T.Zero, ours, n,
            Gemm.Isa, blocking, threads);
        Action runTheirs = () => OpenBlas.Gemm(Op.None, Op.None, m, n, k, T.One, a, k, b, n, T.Zero, theirs, n);
        string label = m == n && n == k ? $"{m}" : $"{m}x{k} · {k}x{n}";
        string precision = typeof(T) == typeof(float) ? "f32" : "f64";
        double flops = GemmBenchmark.Flops(m, n, k);
        if (!OpenBlas.IsAvailable)
        {
            var alone = Timing.Measure(runOurs, repeats, 0.3, sampleSeconds);
            return $"| {label} | {precision} | {flops / alone.MedianSeconds * 1e-9:F1} | skipped | | |";
        }
        if (cpuClock)
        {
            if (threads != 1) throw new ArgumentException("--clock cpu times one thread: use --threads 1");
            var cpu = ThreadClock.MeasureInterleaved([runOurs, runTheirs], repeats, sampleSeconds);
            return $"| {label} | {precision} | {flops / cpu[0].Median * 1e-9:F1} | {flops / cpu[1].Median * 1e-9:F1} | "
                + $"{cpu[1].Median / cpu[0].Median:F2} | {cpu[1].Min / cpu[0].Min:F2} |";
        }
        var results = Timing.MeasureInterleaved([runOurs, runTheirs], repeats, 0.3, sampleSeconds, settleSeconds);
        double worst = 0;
        for (int i = 0; i < ours.Length; i++)
            worst = Math.Max(worst, double.CreateTruncating(T.Abs(ours[i] - theirs[i])));
        if (worst > Math.Sqrt(k) * (typeof(T) == typeof(float) ? 1e-5 : 1e-13))
            Console.Error.WriteLine($"warning: {label} {precision}: ours and OpenBLAS differ by up to {worst:G3}");
        double gOurs = flops / results[0].MedianSeconds * 1e-9, gTheirs = flops / results[1].MedianSeconds * 1e-9;
        double best = results[1].MinSeconds / results[0].MinSeconds;
        return $"| {label} | {precision} | {gOurs:F1} | {gTheirs:F1} | {gOurs / gTheirs:F2} | {best:F2} |";
    }

    private static (int, int, int) ParseShape(string text)
    {
        string[] parts = text.Split('x');
        if (parts.Length != 3) throw new ArgumentException($"shape '{text}' is not m x k x n (e.g. 50x50x100000)");
        return (int.Parse(parts[0], CultureInfo.InvariantCulture), int.Parse(parts[1], CultureInfo.InvariantCulture),
            int.Parse(parts[2], CultureInfo.InvariantCulture));
    }

    internal static string CpuModel()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/cpuinfo"))
                if (line.StartsWith("model name", StringComparison.Ordinal))
                    return line[(line.IndexOf(':') + 1)..].Trim();
        }
        catch (IOException)
        {
        }
        return RuntimeInformation.ProcessArchitecture.ToString();
    }
}
