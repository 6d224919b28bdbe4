namespace Flatness.Solver.Problems;

/// <summary>The names of the measurement kinds.</summary>
public static class MeasurementKindNames
{
    /// <summary>"dense", "completion" or "rank-one", as files, reports and the command line spell the kinds.</summary>
    public static string Name(this MeasurementKind kind) => kind switch
    {
        MeasurementKind.Dense => "dense",
        MeasurementKind.Completion => "completion",
        MeasurementKind.RankOne => "rank-one",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown measurement kind"),
    };
}
