using Flatness.Kernels.Gpu;
using Flatness.Solver.Problems;

namespace Flatness.Solver.Backends;

/// <summary>
/// Creates ILGPU evaluators. <see cref="Create"/> throws <see cref="GpuUnavailableException"/> when the accelerator
/// cannot start, compile or allocate; <see cref="TryCreate"/> turns exactly that into a one-line warning so a
/// factory can fall back to the CPU.
/// </summary>
public static class GpuBackend
{
    /// <summary>Parses "direct", "gram", "completion" or "rank-one"; "auto" picks the structured path for structured
    /// measurements and otherwise the direct path.</summary>
    public static GpuPath ParsePath(string path, Measurements measurements) => path.Trim().ToLowerInvariant() switch
    {
        "direct" => GpuPath.Direct,
        "gram" => GpuPath.Gram,
        "completion" => GpuPath.Completion,
        "rank-one" or "rankone" => GpuPath.RankOne,
        "auto" or "" => measurements.Kind switch
        {
            MeasurementKind.Completion => GpuPath.Completion,
            MeasurementKind.RankOne => GpuPath.RankOne,
            _ => GpuPath.Direct,
        },
        _ => throw new ArgumentException($"unknown evaluation path '{path}' (expected auto, direct, gram, completion or rank-one)", nameof(path)),
    };

    /// <summary>
    /// An evaluator on the given (or the shared) ILGPU context, precision "f64" or "f32". The problem data are
    /// uploaded here and stay resident until the evaluator is disposed.
    /// </summary>
    public static IEvaluator Create(SensingProblem problem, GpuPath path, string precision = "f64", GpuKind kind = GpuKind.Auto,
        GpuContext? context = null)
    {
        ArgumentNullException.ThrowIfNull(problem);
        context ??= GpuContext.Shared(kind);
        return precision.Trim().ToLowerInvariant() switch
        {
            "f64" or "float64" or "double" => new GpuEvaluator<double>(context, problem, path),
            "f32" or "float32" or "float" or "single" => new GpuEvaluator<float>(context, problem, path),
            _ => throw new ArgumentException($"unknown precision '{precision}' (expected f64 or f32)", nameof(precision)),
        };
    }

    /// <summary>
    /// Like <see cref="Create"/>, but a GPU that is missing or fails returns false with a one-line
    /// <paramref name="warning"/> ("ILGPU unavailable (...); using the CPU") instead of throwing. Bad arguments still throw.
    /// </summary>
    public static bool TryCreate(SensingProblem problem, GpuPath path, string precision, GpuKind kind,
        out IEvaluator? evaluator, out string? warning)
    {
        try
        {
            evaluator = Create(problem, path, precision, kind);
            warning = null;
            return true;
        }
        catch (GpuUnavailableException e)
        {
            evaluator = null;
            warning = $"ILGPU unavailable ({OneLine(e.Message)}); using the CPU";
            return false;
        }
    }

    private static string OneLine(string text)
    {
        var line = text.ReplaceLineEndings(" ");
        return line.Length <= 200 ? line : line[..197] + "...";
    }
}
