using System.Globalization;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using Flatness.Solver.Optimizers;
using Flatness.Solver.Problems;
using Flatness.Solver.Problems.NumPy;

namespace Flatness.Solver.Runs;

/// <summary>
/// Ties a checkpoint file to the request that wrote it: its tag is a SHA-256 fingerprint of everything in the request
/// that decides the numbers (the problem's arrays, file contents or generator, the starting layers, model, start, method and parameters, evaluator,
/// limits) and of the code version, so that a checkpoint is only ever resumed by the run it belongs to.
/// </summary>
internal static class SolveCheckpoints
{
    private const string Kind = "flatness-solve";

    public static string Tag(SolveRequest r)
    {
        var text = new StringBuilder();
        void Add(string name, object? value) =>
            text.Append(name).Append('=').Append(Convert.ToString(value, CultureInfo.InvariantCulture) ?? "null").Append('\n');
        Add("version", Version);
        Add("problem-file", r.ProblemFile is { } p ? FileHash(p) : null);
        Add("problem", r.Problem is { } problem ? ArraysHash(ProblemFiles.ProblemArrays(problem)) : null);
        Add("start", r.Start is { } start ? ArraysHash(start.Layers.Select((w, j) => NpyArray.FromMatrix($"W{j + 1}", w))) : null);
        if (r.Generate is { } g)
        {
            Add("generate", g.Kind);
            Add("dims", $"{g.InputDim}x{g.OutputDim}");
            Add("rank", g.Rank);
            Add("count", g.Count);
            Add("noise", g.Noise.ToString("R", CultureInfo.InvariantCulture));
            Add("seed", g.Seed);
            Add("scale", g.Scale?.ToString("R", CultureInfo.InvariantCulture));
        }
        Add("depth", r.Depth);
        Add("width", r.Width);
        Add("init", r.Init);
        Add("init-scale", r.InitScale?.ToString("R", CultureInfo.InvariantCulture));
        Add("init-file", r.InitFile is { } f ? FileHash(f) : null);
        Add("run-seed", r.Seed);
        Add("method", r.Method);
        foreach (var (name, value) in new (string, double?)[] { ("lambda", r.Lambda), ("lr", r.LearningRate), ("sigma", r.Sigma), ("rho", r.Rho), ("mu", r.Mu) })
            Add(name, value?.ToString("R", CultureInfo.InvariantCulture));
        Add("steps", r.Steps);
        Add("backend", r.Backend);
        Add("precision", r.Precision);
        Add("threads", r.Threads);
        Add("history-every", r.HistoryEvery);
        Add("track-sharpness", r.TrackSharpness);
        Add("time-limit", r.TimeLimit?.Ticks);
        return $"{Kind} {Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))}";
    }

    /// <summary>The checkpoint at <paramref name="path"/>, refused unless its tag is <paramref name="tag"/>.</summary>
    /// <exception cref="ProblemFileException">unreadable, or written by another request or version.</exception>
    public static OptimizerCheckpoint Load(string path, string tag)
    {
        var checkpoint = OptimizerCheckpoint.Load(path);
        if (checkpoint.Tag != tag)
            throw new ProblemFileException(path, null, checkpoint.Tag.StartsWith(Kind + " ", StringComparison.Ordinal)
                ? "this checkpoint was written by another command or version of flatness (its settings fingerprint differs); delete it to start afresh, or give another --checkpoint"
                : "not a checkpoint of flatness solve");
        return checkpoint;
    }

    private static string Version =>
        typeof(SolveCheckpoints).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    /// <summary>The SHA-256 of the arrays as an .npz archive (the same arrays give the same bytes).</summary>
    private static string ArraysHash(IEnumerable<NpyArray> arrays)
    {
        using var bytes = new MemoryStream();
        Npz.Write(bytes, arrays);
        return Convert.ToHexStringLower(SHA256.HashData(bytes.ToArray()));
    }

    /// <summary>The file's SHA-256; "unreadable" when it cannot be read (loading it reports that properly).</summary>
    private static string FileHash(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            return Convert.ToHexStringLower(SHA256.HashData(stream));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "unreadable";
        }
    }
}
