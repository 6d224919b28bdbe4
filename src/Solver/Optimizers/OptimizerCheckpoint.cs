using Flatness.Kernels.Tensors;
using Flatness.Solver.Problems;
using Flatness.Solver.Problems.NumPy;

namespace Flatness.Solver.Optimizers;

/// <summary>When an optimiser run saves its state, and where the state goes.</summary>
public sealed record CheckpointPolicy
{
    /// <summary>
    /// Least time between two saves (default one minute; zero saves at every step). A run also saves when it is
    /// cancelled or out of time, so that what it reached is never lost.
    /// </summary>
    public TimeSpan Every { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Receives each checkpoint, on the run's thread (write it with <see cref="OptimizerCheckpoint.Save"/>).</summary>
    public required Action<OptimizerCheckpoint> Save { get; init; }
}

/// <summary>
/// The whole state of an optimiser run at the start of a step (iterate, step count, step size, back-offs, L-BFGS
/// memory, penalty stage, random-generator state, history): given back through
/// <see cref="OptimizerOptions.ResumeFrom"/> to an optimiser with the same options on the same problem, the run goes
/// on as if it had never stopped, with bit-identical layers on the same machine and thread count. Stored as an .npz
/// archive of float64 and int64 arrays (<see cref="Save"/>, <see cref="Load"/>).
/// </summary>
public sealed class OptimizerCheckpoint
{
    private const long FormatVersion = 1;
    private const string Prefix = "checkpoint_";
    private readonly Dictionary<string, double[]> _reals = [];
    private readonly Dictionary<string, long[]> _integers = [];

    internal OptimizerCheckpoint(string method, long step)
    {
        Method = method;
        Step = step;
    }

    /// <summary>The optimiser that wrote it ("gd", "penalty", ...).</summary>
    public string Method { get; }

    /// <summary>Steps the run had taken.</summary>
    public long Step { get; }

    /// <summary>Text the writer attached (the solve runner: a fingerprint of the request and the code version); "" if none.</summary>
    public string Tag { get; private set; } = "";

    internal void Set(string name, double value) => _reals[name] = [value];
    internal void Set(string name, long value) => _integers[name] = [value];
    internal void Set(string name, double[] values) => _reals[name] = values;
    internal void Set(string name, long[] values) => _integers[name] = values;

    internal void Set(string name, IReadOnlyList<Matrix<double>> layers)
    {
        for (int j = 0; j < layers.Count; j++) _reals[$"{name}{j + 1}"] = (double[])layers[j].Data.Clone();
    }

    internal bool Has(string name) => _reals.ContainsKey(name) || _integers.ContainsKey(name) || _reals.ContainsKey(name + "1");

    internal double Real(string name) => Reals(name, 1)[0];
    internal long Integer(string name) => Integers(name, 1)[0];

    internal double[] Reals(string name, int? length = null)
    {
        if (!_reals.TryGetValue(name, out var values)) throw Missing(name);
        if (length is int n && values.Length != n) throw Corrupt(name, $"has {values.Length} values, expected {n}");
        return values;
    }

    internal long[] Integers(string name, int? length = null)
    {
        if (!_integers.TryGetValue(name, out var values)) throw Missing(name);
        if (length is int n && values.Length != n) throw Corrupt(name, $"has {values.Length} values, expected {n}");
        return values;
    }

    /// <summary>Layers saved under <paramref name="name"/> with the shapes of <paramref name="like"/>.</summary>
    internal Matrix<double>[] Layers(string name, IReadOnlyList<Matrix<double>> like) =>
        like.Select((w, j) => new Matrix<double>(w.Rows, w.Cols, (double[])Reals($"{name}{j + 1}", w.Length).Clone())).ToArray();

    /// <summary>Throws unless it was written by <paramref name="method"/>.</summary>
    internal void RequireMethod(string method)
    {
        if (Method != method)
            throw new ArgumentException($"the checkpoint was written by method {Method}, not {method}");
    }

    private static ArgumentException Missing(string name) => new($"the checkpoint has no entry '{name}' (written by another version?)");
    private static ArgumentException Corrupt(string name, string problem) => new($"the checkpoint entry '{name}' {problem}");

    /// <summary>
    /// Writes the checkpoint to <paramref name="path"/> atomically (a reader sees the previous checkpoint or this one,
    /// never half of one), with <paramref name="tag"/> attached.
    /// </summary>
    /// <exception cref="ProblemFileException">the file cannot be written (nothing is left behind).</exception>
    public void Save(string path, string tag = "")
    {
        ArgumentNullException.ThrowIfNull(tag);
        var arrays = new List<NpyArray>
        {
            Text("format", FormatVersion.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            Text("method", Method),
            Text("tag", tag),
            NpyArray.Integer(Prefix + "step", [1], [Step]),
        };
        arrays.AddRange(_reals.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => NpyArray.Float("r_" + p.Key, [p.Value.Length], p.Value)));
        arrays.AddRange(_integers.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => NpyArray.Integer("i_" + p.Key, [p.Value.Length], p.Value)));
        ProblemFiles.WriteArrays(path, arrays);
    }

    /// <summary>Reads a checkpoint written by <see cref="Save"/>.</summary>
    /// <exception cref="ProblemFileException">missing, unreadable, or not a checkpoint of this format.</exception>
    public static OptimizerCheckpoint Load(string path)
    {
        var arrays = ProblemFiles.ReadArrays(path).ToDictionary(a => a.Name, StringComparer.Ordinal);
        string Read(string name)
        {
            if (!arrays.TryGetValue(Prefix + name, out var a) || a.Integers is null || a.Rank != 1)
                throw new ProblemFileException(path, Prefix + name, "missing or not an int64 vector: not a flatness checkpoint");
            try
            {
                return new string(a.Integers.Select(c => checked((char)c)).ToArray());
            }
            catch (OverflowException)
            {
                throw new ProblemFileException(path, Prefix + name, "holds a value that is not a character");
            }
        }
        string format = Read("format");
        if (format != FormatVersion.ToString(System.Globalization.CultureInfo.InvariantCulture))
            throw new ProblemFileException(path, null, $"checkpoint format {NpyText.Shown(format, 20)}, this version reads format {FormatVersion}");
        if (!arrays.TryGetValue(Prefix + "step", out var step) || step.Integers is not [long steps] || steps < 0)
            throw new ProblemFileException(path, Prefix + "step", "missing or not one non-negative int64");
        var checkpoint = new OptimizerCheckpoint(Read("method"), steps) { Tag = Read("tag") };
        foreach (var a in arrays.Values)
        {
            if (a.Name.StartsWith(Prefix, StringComparison.Ordinal)) continue;
            if (a.Rank != 1) throw new ProblemFileException(path, a.Name, $"has shape {a.ShapeText}, checkpoints hold vectors");
            if (a.Name.StartsWith("r_", StringComparison.Ordinal) && a.DType == NpyDType.Float64) checkpoint._reals[a.Name[2..]] = a.Floats!;
            else if (a.Name.StartsWith("i_", StringComparison.Ordinal) && a.DType == NpyDType.Int64) checkpoint._integers[a.Name[2..]] = a.Integers!;
            else throw new ProblemFileException(path, a.Name, "is not a checkpoint entry (r_NAME float64 or i_NAME int64)");
        }
        return checkpoint;
    }

    private static NpyArray Text(string name, string value) =>
        NpyArray.Integer(Prefix + name, [value.Length], value.Select(c => (long)c).ToArray());
}
