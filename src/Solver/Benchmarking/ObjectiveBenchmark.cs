using System.Diagnostics;
using System.Numerics.Tensors;
using Flatness.Kernels.Tensors;
using Flatness.Solver.Backends;
using Flatness.Solver.Model;
using Flatness.Solver.Problems;

namespace Flatness.Solver.Benchmarking;

/// <summary>The timing of one objective-plus-gradient evaluation (loss, trace and both gradients).</summary>
/// <param name="Backend">evaluator backend that ran.</param>
/// <param name="Path">its path ("direct", "gram", ...).</param>
/// <param name="Precision">"f64" or "f32".</param>
/// <param name="Dim">d_0 = d_L = every hidden width.</param>
/// <param name="Depth">L.</param>
/// <param name="Count">n, the number of Gaussian measurements.</param>
/// <param name="Repeats">timed samples.</param>
/// <param name="SecondsPerEval">median seconds per evaluation after warm-up.</param>
/// <param name="SecondsMin">fastest sample.</param>
/// <param name="SecondsMax">slowest sample.</param>
/// <param name="SetupSeconds">seconds to build the evaluator (for the Gram path: building K), timed once.</param>
/// <param name="CpuSecondsPerEval">
/// processor time of the whole process per evaluation (all threads, over <paramref name="Repeats"/> further
/// evaluations): on a machine shared with other work it is not charged for time other processes held the cores,
/// so with one thread (DOTNET_PROCESSOR_COUNT=1) it is the cost of an evaluation under load. With several
/// threads it also counts the workers' brief spinning between parallel regions.
/// </param>
/// <param name="Reason">the selector's reason for the path.</param>
/// <param name="Loss">the loss at the point (so that a peer tool can check it computes the same thing).</param>
/// <param name="Trace">the exact Hessian trace at the point.</param>
/// <param name="BytesPerEval">bytes the path reads from memory per evaluation by the cost model (K for the Gram path, the measurements for the direct path).</param>
/// <param name="StreamSeconds">
/// the memory floor, measured in the same run: median seconds for every core to sum, together, an array of
/// <paramref name="BytesPerEval"/> bytes.
/// </param>
internal sealed record ObjectiveBenchmarkResult(BackendKind Backend, EvaluationPath Path, Precision Precision, int Dim, int Depth, int Count,
    int Repeats, double SecondsPerEval, double SecondsMin, double SecondsMax, double SetupSeconds, double CpuSecondsPerEval,
    string Reason, double Loss, double Trace, double BytesPerEval, double StreamSeconds)
{
    /// <summary>Achieved bytes per second: <see cref="BytesPerEval"/> over the median evaluation.</summary>
    public double BytesPerSecond => BytesPerEval / SecondsPerEval;
    /// <summary>The machine's read bandwidth for the same bytes (<see cref="StreamSeconds"/>).</summary>
    public double StreamBytesPerSecond => BytesPerEval / StreamSeconds;
    /// <summary>Median evaluation over the memory floor (1 = as fast as reading the bytes).</summary>
    public double RatioToFloor => SecondsPerEval / StreamSeconds;
}

/// <summary>
/// Times the objective of a seeded Gaussian sensing problem with d_0 = d_L = D and all hidden widths D: the
/// evaluator's setup once, then the median of repeated evaluations of loss, trace and both gradients.
/// </summary>
internal static class ObjectiveBenchmark
{
    private const int WarmupCalls = 40;
    private const double WarmupSeconds = 2.0;
    private const double MaxWarmupSeconds = 10.0;

    /// <summary>The benchmark's problem and point: Gaussian sensing of a rank-min(D, 5) matrix, Gaussian layers.</summary>
    public static (SensingProblem Problem, Matrix<double>[] Layers) Point(int dim, int depth, int count, int seed = 0)
    {
        if (dim < 1) throw new ArgumentOutOfRangeException(nameof(dim), dim, "--d must be at least 1");
        if (depth < 1) throw new ArgumentOutOfRangeException(nameof(depth), depth, "--depth must be at least 1");
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), count, "--n must be at least 1");
        var problem = Generators.Generate(new ProblemSpec(ProblemKind.Gaussian, dim, dim, Rank: Math.Min(dim, 5), Count: count, Seed: seed));
        var dims = Initializers.Dims(dim, dim, depth);
        return (problem, Initializers.Gaussian(dims, 1.0, seed + 1).Layers);
    }

    /// <summary>
    /// Median seconds to sum an array of <paramref name="bytes"/> bytes (float64), by one thread or by all cores in
    /// equal slices, whichever is faster: the time reading that many bytes takes on this machine now.
    /// </summary>
    public static double StreamSeconds(double bytes, int repeats = 7)
    {
        var values = new double[Math.Max(1, (long)(bytes / sizeof(double)))];
        Array.Fill(values, 1.0); // written pages: a never-written array reads the shared zero page
        int slices = Math.Max(1, Math.Min(Environment.ProcessorCount, values.Length / 4096));
        var sums = new double[slices];
        void Parallel() => System.Threading.Tasks.Parallel.For(0, slices, s =>
        {
            long from = values.LongLength * s / slices, to = values.LongLength * (s + 1) / slices;
            sums[s] = TensorPrimitives.Sum<double>(values.AsSpan((int)from, (int)(to - from)));
        });
        void Serial() => sums[0] = TensorPrimitives.Sum<double>(values);
        var timings = Timing.MeasureInterleaved([Serial, Parallel], repeats);
        return Math.Min(timings[0].MedianSeconds, timings[1].MedianSeconds);
    }

    /// <inheritdoc/>
    public static ObjectiveBenchmarkResult Run(int dim, int depth, int count, Precision precision = Precision.F64,
        BackendKind backend = BackendKind.Auto, EvaluationPath? path = null, int repeats = 7, int seed = 0, Action<string>? warn = null)
    {
        if (repeats < 1) throw new ArgumentOutOfRangeException(nameof(repeats), repeats, "--repeats must be at least 1");
        var (problem, layers) = Point(dim, depth, count, seed);
        var dims = Initializers.Dims(dim, dim, depth);
        var choice = EvaluatorSelector.Choose(problem, dims, new EvaluatorOptions { Backend = backend, Path = path, Precision = precision });

        var watch = Stopwatch.StartNew();
        using var evaluator = Evaluators.Create(problem, dims, choice, warn);
        double setup = watch.Elapsed.TotalSeconds;
        // Warm up until the runtime has recompiled the hot methods at full optimisation: tiered compilation promotes
        // a method after about 30 calls, in the background, once no new code has been compiled for a while (seconds
        // on a loaded machine). Slow evaluations stop the warm-up after a bounded time instead.
        var warmup = Stopwatch.StartNew();
        for (int call = 0; (call < WarmupCalls || warmup.Elapsed.TotalSeconds < WarmupSeconds) && warmup.Elapsed.TotalSeconds < MaxWarmupSeconds; call++)
            evaluator.Evaluate(layers, Quantities.All);
        var timing = Timing.Measure(() => evaluator.Evaluate(layers, Quantities.All), repeats);

        var process = Process.GetCurrentProcess();
        process.Refresh();
        var cpuStart = process.TotalProcessorTime;
        for (int call = 0; call < repeats; call++) evaluator.Evaluate(layers, Quantities.All);
        process.Refresh();
        double cpu = (process.TotalProcessorTime - cpuStart).TotalSeconds / repeats;
        var at = evaluator.Evaluate(layers, Quantities.Loss | Quantities.Trace);
        double bytes = choice.Chosen.Cost.StepBytes;
        return new ObjectiveBenchmarkResult(evaluator.Backend, evaluator.Path, evaluator.Precision, dim, depth, count, repeats,
            timing.MedianSeconds, timing.MinSeconds, timing.MaxSeconds, setup, cpu, choice.Reason, at.Loss, at.Trace,
            bytes, StreamSeconds(bytes, repeats));
    }
}
