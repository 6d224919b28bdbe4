using System.CommandLine;
using Flatness.Solver.Backends;
using Flatness.Solver.Problems;

namespace Flatness.Cli;

/// <summary>
/// The --backend option, in one place for every command. The valid names are the solver's
/// (<see cref="EvaluatorSelector.Backends"/>), and a name maps to the solver's evaluator factory
/// (<see cref="Evaluators.Create(SensingProblem, IReadOnlyList{int}, string, string, string)"/>), so a backend added there
/// is available here. Unknown names are a parse error that lists the valid ones.
/// </summary>
internal static class BackendOption
{
    public const string Default = "reference";

    public static IReadOnlyList<string> Names => EvaluatorSelector.Backends;

    private static string Valid => string.Join(", ", Names);

    public static Option<string> Create(string defaultBackend = Default)
    {
        var option = new Option<string>("--backend")
        {
            Description = $"Evaluator backend: {Valid} (auto picks device and path from a cost model; reference is plain float64)",
            DefaultValueFactory = _ => defaultBackend,
        };
        option.Validators.Add(result =>
        {
            string? name = result.GetValueOrDefault<string>();
            if (name is null || !Names.Contains(name))
                result.AddError($"unknown backend '{name}'; valid backends: {Valid}");
        });
        return option;
    }

    /// <summary>A new evaluator of the named backend holding <paramref name="problem"/>, for layers of shape <paramref name="dims"/>.</summary>
    public static IEvaluator CreateEvaluator(string name, SensingProblem problem, IReadOnlyList<int> dims)
    {
        if (!Names.Contains(name)) throw new ArgumentException($"unknown backend '{name}'; valid backends: {Valid}");
        return Evaluators.Create(problem, dims, name);
    }
}
