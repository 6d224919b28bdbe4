using System.CommandLine;
using System.CommandLine.Parsing;
using Flatness.Solver.Backends;

namespace Flatness.Cli;

/// <summary>
/// The --backend, --path, --precision and --draft options, in one place for every command: each is parsed once, here, by the
/// solver's <see cref="ChoiceNames"/>, so an unknown name is a parse error (exit code 2) that lists the accepted ones.
/// </summary>
internal static class ChoiceOptions
{
    public static Option<BackendKind> Backend(BackendKind defaultBackend = BackendKind.Reference, string? description = null) =>
        Create("--backend", defaultBackend, ChoiceNames.ParseBackend,
            description ?? $"Evaluator backend: {string.Join(", ", ChoiceNames.Backends)} (auto picks device and path from a cost model; reference is plain float64)");

    public static Option<Precision> Precision(string description = "Evaluator precision: f64 or f32") =>
        Create("--precision", Solver.Backends.Precision.F64, ChoiceNames.ParsePrecision, description);

    public static Option<EvaluationPath?> Path(string? description = null) =>
        Create<EvaluationPath?>("--path", null, ChoiceNames.ParsePath,
            description ?? $"Evaluation path: {string.Join(", ", ChoiceNames.Paths)} (auto lets the cost model pick)");

    /// <summary>--draft: the precision of a second evaluator that does the Lanczos iteration for float64 to certify (f32 only).</summary>
    public static Option<Precision?> Draft() =>
        Create<Precision?>("--draft", null, name => ChoiceNames.ParsePrecision(name) == Solver.Backends.Precision.F32
                ? Solver.Backends.Precision.F32
                : throw new ArgumentException($"--draft takes f32 (a lower precision than the exact float64 products), got '{name}'"),
            "Run Lanczos on a float32 copy of the problem (half the bytes per product) and certify its eigenpairs with float64 products: f32");

    private static Option<T> Create<T>(string name, T defaultValue, Func<string, T> parse, string description) => new(name)
    {
        Description = description,
        DefaultValueFactory = _ => defaultValue,
        CustomParser = result =>
        {
            string text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";
            try
            {
                return parse(text);
            }
            catch (ArgumentException e)
            {
                result.AddError(Message(e));
                return defaultValue;
            }
        },
    };

    private static string Message(ArgumentException e) =>
        e.ParamName is { } p && e.Message.EndsWith($" (Parameter '{p}')", StringComparison.Ordinal)
            ? e.Message[..^$" (Parameter '{p}')".Length]
            : e.Message;

    /// <summary>A warning sink for the library: one line on standard error.</summary>
    public static void Warn(string message) => Console.Error.WriteLine($"flatness: warning: {message}");
}
