using Flatness.Solver.Problems;

namespace Flatness.Solver.Backends.Core;

/// <summary>Which paths can run which measurements, the same on every device.</summary>
internal static class PathRules
{
    /// <summary>The path a measurement kind's own structure gives (dense: none).</summary>
    public static EvaluationPath? StructuredPath(MeasurementKind kind) => kind switch
    {
        MeasurementKind.Completion => EvaluationPath.Completion,
        MeasurementKind.RankOne => EvaluationPath.RankOne,
        _ => null,
    };

    /// <summary>Direct and Gram run any measurements (structured ones materialised as dense A_i); a structured
    /// path only its own kind; the reference path any.</summary>
    public static bool Applies(EvaluationPath path, MeasurementKind kind) => path switch
    {
        EvaluationPath.Completion => kind == MeasurementKind.Completion,
        EvaluationPath.RankOne => kind == MeasurementKind.RankOne,
        _ => true,
    };

    public static void RequireApplies(EvaluationPath path, MeasurementKind kind)
    {
        if (!Applies(path, kind))
            throw new ArgumentException(
                $"the '{path.Name()}' path needs {path.Name()} measurements, the problem's are {kind.Name()}", nameof(path));
    }
}
