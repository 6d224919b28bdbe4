namespace Flatness.Solver.Problems;

/// <summary>
/// A problem, layers or gradients file that cannot be read, written or used: missing, truncated or not an .npz
/// archive, an unsupported dtype or layout, a missing or unexpected array, a wrong shape, a non-finite value, an
/// index out of range, layers that do not chain or do not fit the problem. The message names the file, the array
/// (when one is at fault) and the problem.
/// </summary>
public sealed class ProblemFileException : IOException
{
    /// <summary>The problem with <paramref name="file"/> (and <paramref name="array"/> in it, when known).</summary>
    public ProblemFileException(string file, string? array, string problem, Exception? inner = null)
        : base(array is null ? $"{file}: {problem}" : $"{file}: array '{array}': {problem}", inner)
    {
        File = file;
        Array = array;
        Problem = problem;
    }

    /// <summary>The file as the caller named it.</summary>
    public string File { get; }
    /// <summary>The array at fault, or null when the problem concerns the file as a whole.</summary>
    public string? Array { get; }
    /// <summary>What is wrong, without the file and array prefix.</summary>
    public string Problem { get; }
}
