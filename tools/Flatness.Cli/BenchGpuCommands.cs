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
/// Hidden `bench gpu-check` and `bench gpu-objective`: the checks and timings bench/gpu/run.sh runs on a GPU
/// machine (its GEMM timings come from `bench gemm --backend ilgpu`). Timings are medians after warm-up (kernel compilation excluded), with the device
/// synchronised before the clock is read.
/// </summary>
internal static class BenchGpuCommands
{
    public static IEnumerable<Command> Create() => [Check(), Objective()];

    private static Option<BackendKind> BackendOption() =>
        ChoiceOptions.Backend(BackendKind.Ilgpu, "ILGPU accelerator: ilgpu (best found), ilgpu-cuda, ilgpu-opencl or ilgpu-cpu");

    private static Option<bool> JsonOption() => new("--json") { Description = "Print one JSON object instead of a markdown table" };

    private static GpuContext Context(BackendKind backend)
    {
        if (!backend.IsIlgpu())
            throw new ArgumentException($"'{backend.Name()}' is not a GPU backend (expected ilgpu, ilgpu-cuda, ilgpu-opencl or ilgpu-cpu)");
        return GpuContext.Shared(GpuBackend.KindOf(backend));
    }

    private static IEvaluator Gpu(GpuContext context, SensingProblem problem, IReadOnlyList<int> dims, EvaluationPath path, Precision precision) =>
        GpuBackend.Create(problem, dims, path, precision, context.Kind, context);

    /// <summary>A comma-separated list of names, parsed before any work.</summary>
    private static T[] List<T>(string text, Func<string, T> parse) =>
        text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(parse).ToArray();

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
        command.SetAction(parse => Cli.Guard(() => RunCheck(parse.GetValue(backend), parse.GetValue(d), parse.GetValue(n), parse.GetValue(json))));
        return command;
    }

    private static int RunCheck(BackendKind backend, int d, int n, bool json)
    {
        if (d < 1 || n < 1) throw new ArgumentException($"--d and --n must be positive, got {d} and {n}");
        var context = Context(backend);
        var rows = new List<(string Kind, string Path, int Depth, string Precision, EvaluationDifference Diff, bool Ok)>();
        var problems = new[] { Generators.Gaussian(d, d, 2, n, seed: 1), Generators.Completion(d, d, 2, n, seed: 2), Generators.RankOne(d, d, 2, n, seed: 3) };
        foreach (var problem in problems)
        {
            var kind = problem.Measurements.Kind;
            string name = kind.Name();
            EvaluationPath[] paths = kind == MeasurementKind.Dense ? [EvaluationPath.Direct, EvaluationPath.Gram]
                : [kind == MeasurementKind.Completion ? EvaluationPath.Completion : EvaluationPath.RankOne, EvaluationPath.Direct];
            foreach (int depth in new[] { 1, 2, 3, 4 })
            {
                var dims = Initializers.Dims(d, d, depth);
                var layers = Initializers.Gaussian(dims, 1.0, seed: 10 + depth).Layers;
                using var cpu = Evaluators.Create(problem, dims,
                    new EvaluatorOptions { Backend = BackendKind.Cpu, Path = kind == MeasurementKind.Dense ? EvaluationPath.Direct : null });
                var want = cpu.Evaluate(layers, Quantities.All);
                foreach (var path in paths)
                    foreach (var precision in new[] { Precision.F64, Precision.F32 })
                    {
                        using var gpu = Gpu(context, problem, dims, path, precision);
                        var diff = EvaluationDifference.Between(want, gpu.Evaluate(layers, Quantities.All));
                        rows.Add((name, path.Name(), depth, precision.Name(), diff, diff.Max <= (precision == Precision.F64 ? 1e-10 : 1e-4)));
                    }
            }
        }
        bool allOk = rows.All(r => r.Ok);
        if (json)
        {
            Output.Json(w =>
            {
                w.WriteString("device", context.Name);
                w.WriteString("backend", GpuBackend.BackendOf(context.Kind).Name());
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
            Console.WriteLine($"ILGPU vs CPU (f64) on {context.Name} ({GpuBackend.BackendOf(context.Kind).Name()}), d={d}, n={n}: max relative errors");
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
        command.SetAction(parse => Cli.Guard(() => RunObjective(parse.GetValue(backend), parse.GetValue(d), parse.GetValue(depth), parse.GetValue(n),
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

    private static int RunObjective(BackendKind backend, int d, int depth, int n, int repeats, int cpuRepeats, string pathList, string precisionList, bool json)
    {
        if (d < 1 || depth < 1 || n < 1 || repeats < 1 || cpuRepeats < 0)
            throw new ArgumentException($"--d, --depth, --n, --repeats must be positive and --cpu-repeats >= 0 (got {d}, {depth}, {n}, {repeats}, {cpuRepeats})");
        var context = Context(backend);
        var problem = Generators.Gaussian(d, d, Math.Max(1, d / 10), n, seed: 1);
        var dims = Initializers.Dims(d, d, depth);
        var layers = Initializers.Gaussian(dims, 1.0, seed: 2).Layers;
        var rows = new List<(string Path, string Precision, double Gpu, double Cpu, double Error)>();
        var paths = List(pathList, name => ChoiceNames.ParsePath(name) ?? throw new ArgumentException("--paths needs concrete paths, not auto"));
        var precisions = List(precisionList, ChoiceNames.ParsePrecision);
        foreach (var path in paths)
            foreach (var precision in precisions)
            {
                double gpuSeconds, cpuSeconds = double.NaN, error = double.NaN;
                Evaluation gpuAnswer;
                using (var gpu = Gpu(context, problem, dims, path, precision))
                    (gpuSeconds, gpuAnswer) = TimeSteps(gpu, layers, repeats);
                if (cpuRepeats > 0)
                {
                    using var cpu = Evaluators.Create(problem, dims, new EvaluatorOptions
                    {
                        Backend = BackendKind.Cpu, Path = path, Precision = precision,
                    });
                    (cpuSeconds, var cpuAnswer) = TimeSteps(cpu, layers, cpuRepeats);
                    error = EvaluationDifference.Between(cpuAnswer, gpuAnswer).Max;
                }
                rows.Add((path.Name(), precision.Name(), gpuSeconds, cpuSeconds, error));
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
