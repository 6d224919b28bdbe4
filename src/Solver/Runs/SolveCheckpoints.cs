using System.Globalization;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using Flatness.Solver.Backends;
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
        Add("history-every", r.HistoryEvery);
        Add("track-sharpness", r.TrackSharpness);
        Add("time-limit", r.TimeLimit?.Ticks);
        return $"{Kind} {Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))}";
    }

    /// <summary>The checkpoint at <paramref name="path"/>, refused unless it holds the fingerprint <paramref name="tag"/>.</summary>
    /// <exception cref="ProblemFileException">unreadable, or written by another request or version.</exception>
    public static OptimizerCheckpoint Load(string path, string tag)
    {
        var checkpoint = OptimizerCheckpoint.Load(path);
        if (Parts(checkpoint.Tag).Fingerprint != tag)
            throw new ProblemFileException(path, null, checkpoint.Tag.StartsWith(Kind + " ", StringComparison.Ordinal)
                ? "this checkpoint was written by another command or version of flatness (its settings fingerprint differs); delete it to start afresh, or give another --checkpoint"
                : "not a checkpoint of flatness solve");
        return checkpoint;
    }

    /// <summary>
    /// The code: the informational version and the module version ids of the solver and the kernels (deterministic
    /// builds give the same id for the same code, so an edit is seen even without a new version number).
    /// </summary>
    private static string Version =>
        (typeof(SolveCheckpoints).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown")
        + " " + typeof(SolveCheckpoints).Module.ModuleVersionId + " " + typeof(Flatness.Kernels.Cpu.Gemm).Module.ModuleVersionId;

    /// <summary>
    /// What decides the bits besides the request: the evaluator the selector chose, the threads it may use and the
    /// vector width of the kernels. A checkpoint written under others would resume to different (equally valid) bits.
    /// </summary>
    public static string Machine(Choice choice, int? threads) =>
        $"{choice.Backend.Name()}/{choice.Path.Name()}/{choice.Precision.Name()}, " +
        $"{threads ?? Math.Min(Environment.ProcessorCount, Flatness.Kernels.Cpu.Gemm.MaxThreads)} threads, {Flatness.Kernels.Cpu.Gemm.Isa}";

    private const string Separator = " | ";

    /// <summary>The tag saved with a checkpoint: the request's fingerprint, then what ran (<see cref="Machine"/>).</summary>
    public static string Tag(string fingerprint, string machine) => fingerprint + Separator + machine;

    /// <summary>The two parts of a <see cref="Tag(string, string)"/> (the machine "" in a tag without one).</summary>
    private static (string Fingerprint, string Machine) Parts(string tag)
    {
        int bar = tag.IndexOf(Separator, StringComparison.Ordinal);
        return bar < 0 ? (tag, "") : (tag[..bar], tag[(bar + Separator.Length)..]);
    }

    /// <summary>Refuses a checkpoint written with another evaluator, thread count or vector width than this run's.</summary>
    /// <exception cref="ProblemFileException">naming both.</exception>
    public static void RequireMachine(string path, OptimizerCheckpoint checkpoint, string machine)
    {
        string saved = Parts(checkpoint.Tag).Machine;
        if (saved != machine)
            throw new ProblemFileException(path, null,
                $"this checkpoint was written with {saved}; this run has {machine}, so it would not resume to the same bits " +
                "(give the same --backend and --threads on the same kind of machine, or delete the checkpoint to start afresh)");
    }

    /// <summary>The SHA-256 of the arrays: each one's name, dtype, shape and values, in order (nothing is copied).</summary>
    private static string ArraysHash(IEnumerable<NpyArray> arrays)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var a in arrays)
        {
            hash.AppendData(Encoding.UTF8.GetBytes($"{a.Name} {a.DType.Descr()} {a.ShapeText}\n"));
            if (a.Floats is { } floats) hash.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(floats.AsSpan()));
            else hash.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(a.Integers.AsSpan()));
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>
    /// The file's SHA-256; "not a regular file" or "unreadable" when it is not one or cannot be read (never opened:
    /// a pipe would block; loading it reports the problem properly).
    /// </summary>
    private static string FileHash(string path)
    {
        if (IO.FileKind.Of(path) != IO.FileKindValue.Regular) return "not a regular file";
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
