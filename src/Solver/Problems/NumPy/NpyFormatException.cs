namespace Flatness.Solver.Problems.NumPy;

/// <summary>
/// A .npy or .npz file that this reader does not accept: bad magic, unsupported version or dtype, Fortran order,
/// a malformed header, truncated data, a file that is not a zip archive. The message names the file, the array
/// (when the problem lies in one) and the problem.
/// </summary>
public sealed class NpyFormatException : IOException
{
    /// <summary>The problem with <paramref name="file"/> (and <paramref name="array"/> in it, when known).</summary>
    public NpyFormatException(string file, string? array, string problem, Exception? inner = null)
        : base(Compose(file, array, problem), inner)
    {
        File = file;
        Array = array;
        Problem = problem;
    }

    /// <summary>The file as the caller named it.</summary>
    public string File { get; }
    /// <summary>The array (an .npz entry without its .npy suffix), or null for a problem with the file as a whole.</summary>
    public string? Array { get; }
    /// <summary>What is wrong, without the file and array prefix.</summary>
    public string Problem { get; }

    internal static string Compose(string file, string? array, string problem) =>
        array is null ? $"{file}: {problem}" : $"{file}: array '{array}': {problem}";
}
