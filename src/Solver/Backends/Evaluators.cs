using Flatness.Solver.Problems;

namespace Flatness.Solver.Backends;

/// <summary>
/// Creates evaluators: <see cref="EvaluatorSelector"/> decides backend, path and precision, <see cref="Create(SensingProblem, IReadOnlyList{int}, Choice)"/>
/// builds the one chosen. A new backend is one more case in <see cref="Create(SensingProblem, IReadOnlyList{int}, Choice)"/>
/// (and its costs in the selector).
/// </summary>
public static class Evaluators
{
    /// <summary>
    /// An evaluator for <paramref name="problem"/> and factorisations of shape <paramref name="dims"/> = [d_0, .., d_L].
    /// backend: auto, cpu or reference; path: auto, direct, gram (dense measurements) or the structured path's name;
    /// precision: f64 or f32.
    /// </summary>
    public static IEvaluator Create(SensingProblem problem, IReadOnlyList<int> dims, string backend = "auto", string path = "auto",
        string precision = "f64") =>
        Create(problem, dims, EvaluatorSelector.Choose(problem, dims, backend, path, precision));

    /// <summary>Builds the evaluator a <see cref="Choice"/> names.</summary>
    public static IEvaluator Create(SensingProblem problem, IReadOnlyList<int> dims, Choice choice) => choice.Backend switch
    {
        "reference" => new ReferenceEvaluator(problem),
        "cpu" when choice.Precision == "f64" => new CpuEvaluator<double>(problem, dims, choice.Path),
        "cpu" when choice.Precision == "f32" => new CpuEvaluator<float>(problem, dims, choice.Path),
        _ when GpuSelection.IsGpu(choice.Backend) => CreateGpu(problem, dims, choice),
        _ => throw new ArgumentException($"no evaluator for backend '{choice.Backend}' in precision '{choice.Precision}'", nameof(choice)),
    };

    /// <summary>Where a backend fallback is reported (one line); standard error unless replaced.</summary>
    public static Action<string> Warn { get; set; } = message => Console.Error.WriteLine($"flatness: warning: {message}");

    /// <summary>An ILGPU evaluator, or, when the accelerator fails to start, compile or allocate, the CPU
    /// evaluator the selector picks for the same path and precision, with a one-line warning.</summary>
    private static IEvaluator CreateGpu(SensingProblem problem, IReadOnlyList<int> dims, Choice choice)
    {
        var path = GpuBackend.ParsePath(choice.Path, problem.Measurements);
        if (GpuBackend.TryCreate(problem, path, choice.Precision, GpuSelection.KindOf(choice.Backend), out var evaluator, out var warning))
            return evaluator!;
        Warn(warning!);
        bool structured = problem.Measurements.Kind != MeasurementKind.Dense;
        string cpuPath = structured ? "auto" : choice.Path;
        return Create(problem, dims, EvaluatorSelector.Choose(problem, dims, "cpu", cpuPath, choice.Precision));
    }
}
