using System.CommandLine;
using Flatness.Solver.Backends;
using Flatness.Solver.Problems;

namespace Flatness.Cli;

/// <summary>
/// The --backend option, in one place for every command: a name maps to an evaluator factory in the solver.
/// Unknown names are a parse error that lists the valid ones.
/// </summary>
internal static class BackendOption
{
    private static readonly (string Name, string Description, Func<SensingProblem, IEvaluator> Create)[] Backends =
    [
        ("reference", "plain float64 evaluation, the oracle for every other backend", problem => new ReferenceEvaluator(problem)),
    ];

    public const string Default = "reference";

    public static IReadOnlyList<string> Names => Backends.Select(b => b.Name).ToArray();

    private static string Valid => string.Join(", ", Names);

    public static Option<string> Create()
    {
        var option = new Option<string>("--backend")
        {
            Description = "Evaluator: " + string.Join("; ", Backends.Select(b => $"{b.Name} ({b.Description})")),
            DefaultValueFactory = _ => Default,
        };
        option.Validators.Add(result =>
        {
            string? name = result.GetValueOrDefault<string>();
            if (name is null || !Backends.Any(b => b.Name == name))
                result.AddError($"unknown backend '{name}'; valid backends: {Valid}");
        });
        return option;
    }

    /// <summary>A new evaluator of the named backend holding <paramref name="problem"/>.</summary>
    public static IEvaluator CreateEvaluator(string name, SensingProblem problem)
    {
        foreach (var backend in Backends)
            if (backend.Name == name) return backend.Create(problem);
        throw new ArgumentException($"unknown backend '{name}'; valid backends: {Valid}");
    }
}
