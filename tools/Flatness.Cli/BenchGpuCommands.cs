using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Flatness.Kernels.Cpu;
using Flatness.Kernels.Gpu;
using Flatness.Solver.Backends;
using Flatness.Solver.Model;
using Flatness.Solver.Problems;

namespace Flatness.Cli;

/// <summary>
/// Hidden `bench gpu-check`, `bench gpu-gemm` and `bench gpu-objective`: the checks and timings bench/gpu/run.sh
/// runs on a GPU machine. Timings are medians after warm-up (kernel compilation excluded), with the device
/// synchronised before the clock is read.
/// </summary>
internal static class BenchGpuCommands
{
    public static IEnumerable<Command> Create() => [Check(), GemmCommand(), Objective()];

    private static Option<string> BackendOption() => new("--backend")
    {
        Description = "ILGPU accelerator: ilgpu (best found), ilgpu-cuda, ilgpu-opencl or ilgpu-cpu",
        DefaultValueFactory = _ => "ilgpu",
    };

    private static Option<bool> JsonOption() => new("--json") { Description = "Print one JSON object instead of a markdown table" };

    private static GpuContext Context(string backend)
    {
        if (!GpuSelection.IsGpu(backend) || Array.IndexOf(GpuSelection.Backends, backend) < 0)
            throw new ArgumentException($"unknown GPU backend '{backend}' (expected {string.Join(", ", GpuSelection.Backends)})");
        return GpuContext.Shared(GpuSelection.KindOf(backend));
    }

    private static string F(double x, string format = "G4") => x.ToString(format, CultureInfo.InvariantCulture);

    private static double Median(List<double> xs)
    {
        xs.Sort();
        return xs.Count % 2 == 1 ? xs[xs.Count / 2] : 0.5 * (xs[xs.Count / 2 - 1] + xs[xs.Count / 2]);
    }

    // ------------------------------------------------------------------ gpu-check

    private static Command Check()
    {
        var backend = BackendOption();
        var json = JsonOption();
        var d = new Option<int>("--d") { Description = "d_0 = d_L = hidden width", DefaultValueFactory = _ => 12 };
        var n = new Option<int>("--n") { Description = "Number of measurements", DefaultValueFactory = _ => 300 };
        var command = new Command("gpu-check", "Check ILGPU evaluators against the CPU (f64) on every measurement type, path, depth and precision")
        {
            backend, json, d, n,
        };
        command.Hidden = true;
        command.SetAction(parse => Cli.Guard(() => RunCheck(parse.GetValue(backend)!, parse.GetValue(d), parse.GetValue(n), parse.GetValue(json))));
        return command;
    }

    private static int RunCheck(string backend, int d, int n, bool json)
    {
        if (d < 1 || n < 1) throw new ArgumentException($"--d and --n must be positive, got {d} and {n}");
        var context = Context(backend);
        var rows = new List<(string Kind, string Path, int Depth, string Precision, EvaluationDifference Diff, bool Ok)>();
        var problems = new (string Name, SensingProblem Problem)[]
        {
            ("dense", Generators.Gaussian(d, d, 2, n, seed: 1)),
            ("completion", Generators.Completion(d, d, 2, n, seed: 2)),
            ("rank-one", Generators.RankOne(d, d, 2, n, seed: 3)),
        };
        foreach (var (name, problem) in problems)
        {
            string[] paths = name == "dense" ? ["direct", "gram"] : [name, "direct"];
            foreach (int depth in new[] { 1, 2, 3, 4 })
            {
                var dims = Initializers.Dims(d, d, depth);
                var layers = Initializers.Gaussian(dims, 1.0, seed: 10 + depth).Layers;
                using var cpu = Evaluators.Create(problem, dims, "cpu", name == "dense" ? "direct" : "auto", "f64");
                var want = cpu.Evaluate(layers, Quantities.All);
                foreach (var path in paths)
                    foreach (var precision in new[] { "f64", "f32" })
                    {
                        using var gpu = GpuBackend.Create(problem, GpuBackend.ParsePath(path, problem.Measurements), precision, context: context);
                        var diff = EvaluationDifference.Between(want, gpu.Evaluate(layers, Quantities.All));
                        rows.Add((name, path, depth, precision, diff, diff.Max <= (precision == "f64" ? 1e-10 : 1e-4)));
                    }
            }
        }
        bool allOk = rows.All(r => r.Ok);
        if (json)
        {
            Output.Json(w =>
            {
                w.WriteString("device", context.Name);
                w.WriteString("backend", context.BackendName);
                w.WriteBoolean("ok", allOk);
                w.WriteStartArray("checks");
                foreach (var r in rows)
                {
                    w.WriteStartObject();
                    w.WriteString("measurement", r.Kind); w.WriteString("path", r.Path); w.WriteNumber("depth", r.Depth);
                    w.WriteString("precision", r.Precision);
                    w.Number("loss", r.Diff.Loss); w.Number("trace", r.Diff.Trace);
                    w.Number("loss_gradient", r.Diff.LossGradient); w.Number("trace_gradient", r.Diff.TraceGradient);
                    w.WriteBoolean("ok", r.Ok);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            });
        }
        else
        {
            Console.WriteLine($"ILGPU vs CPU (f64) on {context.Name} ({context.BackendName}), d={d}, n={n}: max relative errors");
            Console.WriteLine();
            Console.WriteLine("| measurement | path | L | precision | loss | trace | loss grad | trace grad | ok |");
            Console.WriteLine("|---|---|---|---|---|---|---|---|---|");
            foreach (var r in rows)
                Console.WriteLine($"| {r.Kind} | {r.Path} | {r.Depth} | {r.Precision} | {F(r.Diff.Loss, "E1")} | {F(r.Diff.Trace, "E1")} | {F(r.Diff.LossGradient, "E1")} | {F(r.Diff.TraceGradient, "E1")} | {(r.Ok ? "yes" : "NO")} |");
            Console.WriteLine();
            Console.WriteLine($"worst f64 {F(rows.Where(r => r.Precision == "f64").Max(r => r.Diff.Max), "E2")}, worst f32 {F(rows.Where(r => r.Precision == "f32").Max(r => r.Diff.Max), "E2")}: {(allOk ? "PASS" : "FAIL")}");
        }
        return allOk ? Cli.Ok : 1;
    }

    // ------------------------------------------------------------------ gpu-gemm

    private static Command GemmCommand()
    {
        var backend = BackendOption();
        var json = JsonOption();
        var sizes = new Option<string>("--sizes") { Description = "Comma-separated square sizes", DefaultValueFactory = _ => "512,1024,2048,4096,8192" };
        var precisions = new Option<string>("--precision") { Description = "f32, f64 or f32,f64", DefaultValueFactory = _ => "f32,f64" };
        var repeats = new Option<int>("--repeats") { Description = "Timed repetitions per size (median reported)", DefaultValueFactory = _ => 5 };
        var command = new Command("gpu-gemm", "Time the ILGPU tiled GEMM C = A B on square matrices (GFLOP/s = 2 n^3 / time)")
        {
            backend, json, sizes, precisions, repeats,
        };
        command.Hidden = true;
        command.SetAction(parse => Cli.Guard(() =>
        {
            var ns = parse.GetValue(sizes)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(s => int.TryParse(s, CultureInfo.InvariantCulture, out int v) && v > 0 ? v : throw new ArgumentException($"--sizes: '{s}' is not a positive integer")).ToArray();
            var ps = parse.GetValue(precisions)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            int r = parse.GetValue(repeats);
            if (r < 1) throw new ArgumentException($"--repeats must be positive, got {r}");
            var context = Context(parse.GetValue(backend)!);
            var rows = new List<(int N, string Precision, double Seconds, double Error)>();
            foreach (var p in ps)
                foreach (int size in ns)
                    rows.Add(p switch
                    {
                        "f32" => IlgpuGemmBench.Time<float>(context, size, r),
                        "f64" => IlgpuGemmBench.Time<double>(context, size, r),
                        _ => throw new ArgumentException($"--precision: unknown precision '{p}' (expected f32 or f64)"),
                    });
            if (parse.GetValue(json))
                Output.Json(w =>
                {
                    w.WriteString("device", context.Name);
                    w.WriteStartArray("gemm");
                    foreach (var row in rows)
                    {
                        w.WriteStartObject();
                        w.WriteNumber("n", row.N); w.WriteString("precision", row.Precision);
                        w.WriteNumber("seconds", row.Seconds); w.WriteNumber("gflops", 2.0 * row.N * row.N * row.N / row.Seconds / 1e9);
                        w.Number("spot_check_relative_error", row.Error);
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                });
            else
            {
                Console.WriteLine($"ILGPU GEMM on {context.Name}");
                Console.WriteLine();
                Console.WriteLine("| n | precision | ms | GFLOP/s | spot-check error |");
                Console.WriteLine("|---|---|---|---|---|");
                foreach (var row in rows)
                    Console.WriteLine($"| {row.N} | {row.Precision} | {F(row.Seconds * 1e3)} | {F(2.0 * row.N * row.N * row.N / row.Seconds / 1e9)} | {F(row.Error, "E1")} |");
            }
            return Cli.Ok;
        }));
        return command;
    }

    // ------------------------------------------------------------------ gpu-objective

    private static Command Objective()
    {
        var backend = BackendOption();
        var json = JsonOption();
        var d = new Option<int>("--d") { Description = "d_0 = d_L = hidden width", DefaultValueFactory = _ => 50 };
        var depth = new Option<int>("--depth") { Description = "Number of layers L", DefaultValueFactory = _ => 3 };
        var n = new Option<int>("--n") { Description = "Number of dense Gaussian measurements", DefaultValueFactory = _ => 2000 };
        var repeats = new Option<int>("--repeats") { Description = "Timed GPU steps (median reported)", DefaultValueFactory = _ => 5 };
        var cpuRepeats = new Option<int>("--cpu-repeats") { Description = "Timed CPU steps (median reported; 0 skips the CPU)", DefaultValueFactory = _ => 2 };
        var paths = new Option<string>("--paths") { Description = "Paths to time: direct, gram or direct,gram", DefaultValueFactory = _ => "direct,gram" };
        var precisions = new Option<string>("--precision") { Description = "f32, f64 or f32,f64", DefaultValueFactory = _ => "f32,f64" };
        var command = new Command("gpu-objective", "Time one objective step (loss, trace, both gradients) on ILGPU against the CPU evaluator, same path and precision")
        {
            backend, json, d, depth, n, repeats, cpuRepeats, paths, precisions,
        };
        command.Hidden = true;
        command.SetAction(parse => Cli.Guard(() => RunObjective(parse.GetValue(backend)!, parse.GetValue(d), parse.GetValue(depth), parse.GetValue(n),
            parse.GetValue(repeats), parse.GetValue(cpuRepeats), parse.GetValue(paths)!, parse.GetValue(precisions)!, parse.GetValue(json))));
        return command;
    }

    /// <summary>Median seconds of a full step after one warm-up step (kernels compile, buffers are allocated), and the
    /// last answer. Every step brings its results back to the host, so the device is synchronised.</summary>
    private static (double Seconds, Evaluation Answer) TimeSteps(IEvaluator evaluator, IReadOnlyList<Kernels.Tensors.Matrix<double>> layers, int repeats)
    {
        var answer = evaluator.Evaluate(layers, Quantities.All);
        var times = new List<double>();
        for (int r = 0; r < repeats; r++)
        {
            var clock = Stopwatch.StartNew();
            answer = evaluator.Evaluate(layers, Quantities.All);
            times.Add(clock.Elapsed.TotalSeconds);
        }
        return (Median(times), answer);
    }

    private static int RunObjective(string backend, int d, int depth, int n, int repeats, int cpuRepeats, string pathList, string precisionList, bool json)
    {
        if (d < 1 || depth < 1 || n < 1 || repeats < 1 || cpuRepeats < 0)
            throw new ArgumentException($"--d, --depth, --n, --repeats must be positive and --cpu-repeats >= 0 (got {d}, {depth}, {n}, {repeats}, {cpuRepeats})");
        var context = Context(backend);
        var problem = Generators.Gaussian(d, d, Math.Max(1, d / 10), n, seed: 1);
        var dims = Initializers.Dims(d, d, depth);
        var layers = Initializers.Gaussian(dims, 1.0, seed: 2).Layers;
        var rows = new List<(string Path, string Precision, double Gpu, double Cpu, double Error)>();
        foreach (var path in pathList.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            foreach (var precision in precisionList.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                double gpuSeconds, cpuSeconds = double.NaN, error = double.NaN;
                Evaluation gpuAnswer;
                using (var gpu = GpuBackend.Create(problem, GpuBackend.ParsePath(path, problem.Measurements), precision, context: context))
                    (gpuSeconds, gpuAnswer) = TimeSteps(gpu, layers, repeats);
                if (cpuRepeats > 0)
                {
                    using var cpu = Evaluators.Create(problem, dims, "cpu", path, precision);
                    (cpuSeconds, var cpuAnswer) = TimeSteps(cpu, layers, cpuRepeats);
                    error = EvaluationDifference.Between(cpuAnswer, gpuAnswer).Max;
                }
                rows.Add((path, precision, gpuSeconds, cpuSeconds, error));
            }
        string size = $"D={d} L={depth} N={n}";
        if (json)
            Output.Json(w =>
            {
                w.WriteString("device", context.Name);
                w.WriteString("size", size);
                w.WriteStartArray("steps");
                foreach (var r in rows)
                {
                    w.WriteStartObject();
                    w.WriteString("path", r.Path); w.WriteString("precision", r.Precision);
                    w.WriteNumber("gpu_seconds", r.Gpu); w.Number("cpu_seconds", r.Cpu); w.Number("speedup", r.Cpu / r.Gpu);
                    w.Number("max_relative_difference", r.Error);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            });
        else
        {
            Console.WriteLine($"Objective step (loss, trace, both gradients) at {size}: ILGPU on {context.Name} vs CPU ({Environment.ProcessorCount} cores)");
            Console.WriteLine();
            Console.WriteLine("| size | path | precision | GPU ms | CPU ms | speedup | max rel. difference |");
            Console.WriteLine("|---|---|---|---|---|---|---|");
            foreach (var r in rows)
                Console.WriteLine($"| {size} | {r.Path} | {r.Precision} | {F(r.Gpu * 1e3)} | {F(r.Cpu * 1e3)} | {F(r.Cpu / r.Gpu, "F1")} | {F(r.Error, "E1")} |");
        }
        return Cli.Ok;
    }
}

/// <summary>The ILGPU branch of the GEMM benchmark (square C = A B), callable from `bench gemm --backend ilgpu`.</summary>
internal static class IlgpuGemmBench
{
    /// <summary>Median seconds of <paramref name="repeats"/> launches after one warm-up, and the error of 16 entries
    /// against float64 dot products, relative to sum_k |a_ik b_kj| (the scale of rounding in a dot product).</summary>
    public static (int N, string Precision, double Seconds, double Error) Time<T>(GpuContext context, int n, int repeats)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var ops = context.Ops<T>();
        var rng = new Random(n);
        var a = new T[(long)n * n];
        var b = new T[(long)n * n];
        for (long i = 0; i < a.LongLength; i++) { a[i] = T.CreateTruncating(rng.NextDouble() - 0.5); b[i] = T.CreateTruncating(rng.NextDouble() - 0.5); }
        using var da = ops.Upload(a, "GEMM A");
        using var db = ops.Upload(b, "GEMM B");
        using var dc = ops.Allocate((long)n * n, "GEMM C");
        var ma = new DeviceMatrix<T>(da, n, n);
        var mb = new DeviceMatrix<T>(db, n, n);
        var mc = new DeviceMatrix<T>(dc, n, n);
        ops.Gemm(Op.None, Op.None, T.One, ma, mb, T.Zero, mc);
        context.Synchronize();
        var times = new List<double>();
        for (int r = 0; r < repeats; r++)
        {
            var clock = Stopwatch.StartNew();
            ops.Gemm(Op.None, Op.None, T.One, ma, mb, T.Zero, mc);
            context.Synchronize();
            times.Add(clock.Elapsed.TotalSeconds);
        }
        times.Sort();
        var c = new T[(long)n * n];
        dc.Download(c);
        double worst = 0;
        for (int s = 0; s < 16; s++)
        {
            int i = rng.Next(n), j = rng.Next(n);
            double want = 0, magnitude = 0;
            for (int k = 0; k < n; k++)
            {
                double term = double.CreateChecked(a[(long)i * n + k]) * double.CreateChecked(b[(long)k * n + j]);
                want += term;
                magnitude += Math.Abs(term);
            }
            worst = Math.Max(worst, Math.Abs(double.CreateChecked(c[(long)i * n + j]) - want) / Math.Max(magnitude, 1e-300));
        }
        return (n, typeof(T) == typeof(float) ? "f32" : "f64", times[times.Count / 2], worst);
    }
}
