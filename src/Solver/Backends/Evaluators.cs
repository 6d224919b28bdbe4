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
        _ => throw new ArgumentException($"no evaluator for backend '{choice.Backend}' in precision '{choice.Precision}'", nameof(choice)),
    };
}
