using System.Globalization;
using Flatness.Kernels.Tensors;
using Flatness.Solver.Model;
using Flatness.Solver.Problems.NumPy;

namespace Flatness.Solver.Problems;

/// <summary>
/// Problem, layers and gradients files (.npz). A problem file holds one kind of measurements, recognised by
/// its arrays:
/// dense: A (n, d_L, d_0), b (n);
/// completion: rows (n), cols (n) integer indices, shape [d_L, d_0], optional scale (default 1), b (n);
/// rank-one: u (n, d_L), v (n, d_0), b (n);
/// each optionally with the ground truth M_star (d_L, d_0). Floats are &lt;f8 or &lt;f4, integers &lt;i8 or &lt;i4.
/// A layers file holds W1 .. WL with W_j of shape (d_j, d_{j-1}). Everything is validated on load; every
/// failure is a <see cref="ProblemFileException"/> naming the file, the array and the problem.
/// </summary>
public static class ProblemFiles
{
    private static readonly string[] DenseArrays = ["A"];
    private static readonly string[] CompletionArrays = ["rows", "cols", "shape", "scale"];
    private static readonly string[] RankOneArrays = ["u", "v"];

    // ---------------------------------------------------------------- problems

    /// <summary>Loads and validates a sensing problem.</summary>
    public static SensingProblem LoadProblem(string path)
    {
        var file = new ArrayFile(path, ReadArrays(path));
        var kind = DetectKind(file);
        Measurements measurements = kind switch
        {
            MeasurementKind.Dense => LoadDense(file),
            MeasurementKind.Completion => LoadCompletion(file),
            _ => LoadRankOne(file),
        };
        int n = measurements.Count;

        var b = file.Float("b", 1);
        if (b.Shape[0] != n)
            throw file.Error("b", $"has length {b.Shape[0]} but there are {n} measurements");
        file.CheckFinite(b);

        Matrix<double>? groundTruth = null;
        if (file.Has("M_star"))
        {
            var m = file.Float("M_star", 2);
            if (m.Shape[0] != measurements.OutputDim || m.Shape[1] != measurements.InputDim)
                throw file.Error("M_star", $"has shape {m.ShapeText} but the measurements are (d_L, d_0) = ({measurements.OutputDim}, {measurements.InputDim})");
            file.CheckFinite(m);
            groundTruth = new Matrix<double>(m.Shape[0], m.Shape[1], m.Floats!);
        }
        return new SensingProblem(measurements, b.Floats!, groundTruth);
    }

    private static MeasurementKind DetectKind(ArrayFile file)
    {
        var present = new List<(MeasurementKind Kind, string Array)>();
        foreach (var (kind, names) in new[] { (MeasurementKind.Dense, DenseArrays), (MeasurementKind.Completion, CompletionArrays), (MeasurementKind.RankOne, RankOneArrays) })
        {
            string? found = names.FirstOrDefault(file.Has);
            if (found is not null) present.Add((kind, found));
        }
        if (present.Count == 0)
            throw file.Error(null, "no measurement arrays: a problem file holds 'A' (dense), 'rows', 'cols' and 'shape' (completion) " +
                $"or 'u' and 'v' (rank-one), with 'b'; found {file.Listing}");
        if (present.Count > 1)
            throw file.Error(null, "ambiguous measurement kind: " +
                string.Join(", ", present.Select(p => $"'{p.Array}' is a {p.Kind.Name()} array")) + "; keep the arrays of one kind");

        var kindFound = present[0].Kind;
        string[] required = kindFound switch
        {
            MeasurementKind.Dense => ["A", "b"],
            MeasurementKind.Completion => ["rows", "cols", "shape", "b"],
            _ => ["u", "v", "b"],
        };
        string[] allowed = kindFound switch
        {
            MeasurementKind.Dense => ["A", "b", "M_star"],
            MeasurementKind.Completion => ["rows", "cols", "shape", "scale", "b", "M_star"],
            _ => ["u", "v", "b", "M_star"],
        };
        string Needs() => $"a {kindFound.Name()} problem needs {string.Join(", ", required)} (optional: {string.Join(", ", allowed.Except(required))})";
        foreach (var name in required)
            if (!file.Has(name)) throw file.Error(name, $"missing; {Needs()}");
        foreach (var name in file.Names)
            if (!allowed.Contains(name)) throw file.Error(name, $"unexpected array in a {kindFound.Name()} problem file; {Needs()}");
        return kindFound;
    }

    private static DenseMeasurements LoadDense(ArrayFile file)
    {
        var a = file.Float("A", 3, "(n, d_L, d_0)");
        int n = a.Shape[0], dl = a.Shape[1], d0 = a.Shape[2];
        if (n == 0) throw file.Error("A", $"no measurements (n = 0): A has shape {a.ShapeText}");
        if (dl == 0 || d0 == 0) throw file.Error("A", $"has shape {a.ShapeText}; d_L and d_0 must be positive");
        file.CheckFinite(a);
        return new DenseMeasurements(n, dl, d0, a.Floats!);
    }

    private static CompletionMeasurements LoadCompletion(ArrayFile file)
    {
        var shape = file.Integer("shape", 1, "[d_L, d_0]");
        if (shape.Shape[0] != 2)
            throw file.Error("shape", $"has {shape.Shape[0]} entries; expected 2, [d_L, d_0]");
        long dlLong = shape.Integers![0], d0Long = shape.Integers[1];
        if (dlLong < 1 || d0Long < 1)
            throw file.Error("shape", $"is [{dlLong}, {d0Long}]; d_L and d_0 must be positive");
        if (dlLong > Array.MaxLength / d0Long)
            throw file.Error("shape", $"is [{dlLong}, {d0Long}]; a d_L x d_0 matrix of that size cannot be held");
        int dl = (int)dlLong, d0 = (int)d0Long;

        var rows = file.Integer("rows", 1, "(n,)");
        var cols = file.Integer("cols", 1, "(n,)");
        int n = rows.Shape[0];
        if (cols.Shape[0] != n)
            throw file.Error("cols", $"has length {cols.Shape[0]} but rows has length {n}");
        if (n == 0) throw file.Error("rows", "no measurements (n = 0): rows is empty");
        var r = ToIndices(file, rows, dl, "d_L");
        var c = ToIndices(file, cols, d0, "d_0");

        double scale = 1.0;
        if (file.Has("scale"))
        {
            var s = file.Float("scale", -1);
            if (s.Length != 1 || s.Rank > 1)
                throw file.Error("scale", $"has shape {s.ShapeText}; expected a single number, shape () or (1,)");
            file.CheckFinite(s);
            scale = s.Floats![0];
            if (scale == 0) throw file.Error("scale", "is 0; the scale must be non-zero");
        }
        return new CompletionMeasurements(dl, d0, r, c, scale);
    }

    private static int[] ToIndices(ArrayFile file, NpyArray array, int bound, string dim)
    {
        var result = new int[array.Length];
        for (int i = 0; i < result.Length; i++)
        {
            long v = array.Integers![i];
            if (v < 0 || v >= bound)
                throw file.Error(array.Name, $"{array.Name}[{i}] = {v} is outside [0, {bound}) (the range of {dim})");
            result[i] = (int)v;
        }
        return result;
    }

    private static RankOneMeasurements LoadRankOne(ArrayFile file)
    {
        var u = file.Float("u", 2, "(n, d_L)");
        var v = file.Float("v", 2, "(n, d_0)");
        int n = u.Shape[0];
        if (v.Shape[0] != n)
            throw file.Error("v", $"has {v.Shape[0]} rows but u has {n}; both need one row per measurement");
        if (n == 0) throw file.Error("u", $"no measurements (n = 0): u has shape {u.ShapeText}");
        if (u.Shape[1] == 0) throw file.Error("u", $"has shape {u.ShapeText}; d_L must be positive");
        if (v.Shape[1] == 0) throw file.Error("v", $"has shape {v.ShapeText}; d_0 must be positive");
        file.CheckFinite(u);
        file.CheckFinite(v);
        return new RankOneMeasurements(n, u.Shape[1], v.Shape[1], u.Floats!, v.Floats!);
    }

    /// <summary>Saves a problem in the layout <see cref="LoadProblem"/> reads (float64 and int64 arrays).</summary>
    public static void SaveProblem(string path, SensingProblem problem, bool compressed = false) =>
        WriteArrays(path, ProblemArrays(problem, path), compressed);

    /// <summary>The arrays <see cref="SaveProblem"/> writes.</summary>
    internal static List<NpyArray> ProblemArrays(SensingProblem problem, string what = "problem")
    {
        ArgumentNullException.ThrowIfNull(problem);
        var arrays = new List<NpyArray>();
        int n = problem.Count, dl = problem.OutputDim, d0 = problem.InputDim;
        switch (problem.Measurements)
        {
            case DenseMeasurements dense:
                arrays.Add(NpyArray.Float("A", [n, dl, d0], dense.A));
                break;
            case CompletionMeasurements completion:
                arrays.Add(NpyArray.Integer("rows", [n], completion.RowIndex.Select(i => (long)i).ToArray()));
                arrays.Add(NpyArray.Integer("cols", [n], completion.ColIndex.Select(i => (long)i).ToArray()));
                arrays.Add(NpyArray.Integer("shape", [2], [dl, d0]));
                arrays.Add(NpyArray.Float("scale", [], [completion.Scale]));
                break;
            case RankOneMeasurements rankOne:
                arrays.Add(NpyArray.Float("u", [n, dl], rankOne.U));
                arrays.Add(NpyArray.Float("v", [n, d0], rankOne.V));
                break;
            default:
                throw new ArgumentException($"{what}: measurements of type {problem.Measurements.GetType().Name} have no file layout", nameof(problem));
        }
        arrays.Add(NpyArray.Float("b", [n], problem.Labels));
        if (problem.GroundTruth is { } m) arrays.Add(NpyArray.FromMatrix("M_star", m));
        return arrays;
    }

    // ---------------------------------------------------------------- layers

    /// <summary>Loads and validates layers W1 .. WL (they must chain).</summary>
    public static Factorization LoadLayers(string path) => new(LoadChain(path, "W", "layers"));

    /// <summary>
    /// Loads a direction V1 .. VL for Hessian-vector products; V_j must have W_j's shape (<paramref name="dims"/> = [d_0, .., d_L]).
    /// </summary>
    public static Matrix<double>[] LoadDirection(string path, IReadOnlyList<int> dims)
    {
        var v = LoadChain(path, "V", "direction");
        int depth = dims.Count - 1;
        if (v.Length != depth)
            throw new ProblemFileException(path, v.Length < depth ? $"V{v.Length + 1}" : $"V{depth + 1}",
                $"a direction for {depth} layers holds V1 .. V{depth}, this file has V1 .. V{v.Length}");
        for (int j = 1; j <= depth; j++)
            if (v[j - 1].Rows != dims[j] || v[j - 1].Cols != dims[j - 1])
                throw new ProblemFileException(path, $"V{j}",
                    $"has shape ({v[j - 1].Rows}, {v[j - 1].Cols}) but W{j} has shape ({dims[j]}, {dims[j - 1]})");
        return v;
    }

    /// <summary>Saves matrices as PREFIX1 .. PREFIXL (float64), for example HV1 .. HVL.</summary>
    public static void SaveChain(string path, string prefix, IReadOnlyList<Matrix<double>> matrices)
    {
        if (matrices.Count == 0) throw new ArgumentException($"{path}: nothing to save", nameof(matrices));
        WriteArrays(path, matrices.Select((m, j) => NpyArray.FromMatrix($"{prefix}{j + 1}", m)));
    }

    /// <summary>Arrays PREFIX1 .. PREFIXL of a file that holds nothing else, chaining like layers.</summary>
    private static Matrix<double>[] LoadChain(string path, string prefix, string what)
    {
        var file = new ArrayFile(path, ReadArrays(path));
        var byIndex = new SortedDictionary<int, NpyArray>();
        foreach (var name in file.Names)
        {
            // A run file (solve --out) holds W1 .. WL and its metric history: layers are read from it as they are.
            if (prefix == "W" && name.StartsWith("history_", StringComparison.Ordinal)) continue;
            if (!TryLayerIndex(name, prefix, out int index))
                throw file.Error(name, $"unexpected array in a {what} file; it holds {prefix}1 .. {prefix}L only (found {file.Listing})");
            byIndex[index] = file[name];
        }
        if (byIndex.Count == 0) throw file.Error(null, $"no {what}: a {what} file holds {prefix}1 .. {prefix}L");
        int depth = byIndex.Count;
        for (int j = 1; j <= depth; j++)
            if (!byIndex.ContainsKey(j))
                throw file.Error($"{prefix}{j}", $"missing: {what} must be numbered {prefix}1 .. {prefix}L without gaps (found {file.Listing})");

        var layers = new Matrix<double>[depth];
        for (int j = 1; j <= depth; j++)
        {
            var w = file.Float($"{prefix}{j}", 2, $"(d_{j}, d_{j - 1})");
            if (w.Shape[0] == 0 || w.Shape[1] == 0)
                throw file.Error(w.Name, $"has shape {w.ShapeText}; layer dimensions must be positive");
            if (j > 1 && w.Shape[1] != layers[j - 2].Rows)
                throw file.Error(w.Name, $"has shape {w.ShapeText} but {prefix}{j - 1} has shape ({layers[j - 2].Rows}, {layers[j - 2].Cols}): " +
                    $"{what} do not chain ({prefix}{j} needs {layers[j - 2].Rows} columns)");
            file.CheckFinite(w);
            layers[j - 1] = new Matrix<double>(w.Shape[0], w.Shape[1], w.Floats!);
        }
        return layers;
    }

    /// <summary>Loads layers and checks that their end-to-end matrix has the problem's shape (d_L, d_0).</summary>
    public static Factorization LoadLayers(string path, SensingProblem problem)
    {
        var f = LoadLayers(path);
        if (f.OutputDim != problem.OutputDim || f.InputDim != problem.InputDim)
        {
            string culprit = f.InputDim != problem.InputDim ? "W1" : $"W{f.Depth}";
            throw new ProblemFileException(path, culprit,
                $"end-to-end matrix W{f.Depth} ... W1 has shape ({f.OutputDim}, {f.InputDim}) but the problem's measurements are " +
                $"(d_L, d_0) = ({problem.OutputDim}, {problem.InputDim})");
        }
        return f;
    }

    private static bool TryLayerIndex(string name, string prefix, out int index)
    {
        index = 0;
        int p = prefix.Length;
        return name.Length > p && name.StartsWith(prefix, StringComparison.Ordinal) && name[p] != '0' && name.Skip(p).All(char.IsAsciiDigit)
            && int.TryParse(name.AsSpan(p), NumberStyles.None, CultureInfo.InvariantCulture, out index);
    }

    /// <summary>Saves layers as W1 .. WL (float64).</summary>
    public static void SaveLayers(string path, IReadOnlyList<Matrix<double>> layers)
    {
        if (layers.Count == 0) throw new ArgumentException($"{path}: no layers to save", nameof(layers));
        WriteArrays(path, layers.Select((w, j) => NpyArray.FromMatrix($"W{j + 1}", w)));
    }

    /// <summary>
    /// Saves gradients as grad_loss_W1 .. grad_loss_WL and grad_trace_W1 .. grad_trace_WL (float64); either list
    /// may be null to leave it out.
    /// </summary>
    public static void SaveGradients(string path, IReadOnlyList<Matrix<double>>? lossGradient, IReadOnlyList<Matrix<double>>? traceGradient)
    {
        if (lossGradient is null && traceGradient is null)
            throw new ArgumentException($"{path}: no gradients to save");
        var arrays = new List<NpyArray>();
        if (lossGradient is not null) arrays.AddRange(lossGradient.Select((g, j) => NpyArray.FromMatrix($"grad_loss_W{j + 1}", g)));
        if (traceGradient is not null) arrays.AddRange(traceGradient.Select((g, j) => NpyArray.FromMatrix($"grad_trace_W{j + 1}", g)));
        WriteArrays(path, arrays);
    }

    // ---------------------------------------------------------------- plain archives

    /// <summary>Reads every array of an .npz file; all failures are <see cref="ProblemFileException"/>.</summary>
    public static IReadOnlyList<NpyArray> ReadArrays(string path)
    {
        if (Directory.Exists(path)) throw new ProblemFileException(path, null, "is a directory, not an .npz file");
        if (IO.FileKind.Of(path) == IO.FileKindValue.Special)
            throw new ProblemFileException(path, null, "is not a regular file (a pipe, a device or a socket); give an .npz file");
        try
        {
            return Npz.ReadFile(path);
        }
        catch (NpyFormatException e)
        {
            throw new ProblemFileException(e.File, e.Array, e.Problem, e);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ProblemFileException(path, null, "file not found", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ProblemFileException(path, null, $"cannot read: {e.Message}", e);
        }
    }

    /// <summary>Writes arrays as an .npz file atomically; failures are <see cref="ProblemFileException"/> and leave no file.</summary>
    public static void WriteArrays(string path, IEnumerable<NpyArray> arrays, bool compressed = false)
    {
        try
        {
            Npz.WriteFile(path, arrays, compressed);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ProblemFileException(path, null, $"cannot write: {e.Message}", e);
        }
    }

    /// <summary>The arrays of one file by name, with checks that throw errors naming the file and array.</summary>
    private sealed class ArrayFile(string path, IReadOnlyList<NpyArray> arrays)
    {
        private readonly Dictionary<string, NpyArray> _byName = arrays.ToDictionary(a => a.Name, StringComparer.Ordinal);

        public IEnumerable<string> Names => arrays.Select(a => a.Name);
        public bool Has(string name) => _byName.ContainsKey(name);
        public NpyArray this[string name] => _byName[name];
        public string Listing => arrays.Count == 0 ? "no arrays" : string.Join(", ", arrays.Select(a => a.Name));

        public ProblemFileException Error(string? array, string problem) => new(path, array, problem);

        /// <summary>A float array of the given rank (-1: any rank).</summary>
        public NpyArray Float(string name, int rank, string? layout = null)
        {
            var a = Get(name, rank, layout);
            if (!a.IsFloat) throw Error(name, $"has dtype {a.DType.Descr()}; expected a float array (<f8 or <f4)");
            return a;
        }

        /// <summary>An integer array of the given rank.</summary>
        public NpyArray Integer(string name, int rank, string? layout = null)
        {
            var a = Get(name, rank, layout);
            if (a.IsFloat) throw Error(name, $"has dtype {a.DType.Descr()}; expected an integer array (<i8 or <i4)");
            return a;
        }

        private NpyArray Get(string name, int rank, string? layout)
        {
            if (!_byName.TryGetValue(name, out var a)) throw Error(name, "missing");
            if (rank >= 0 && a.Rank != rank)
                throw Error(name, $"has rank {a.Rank} (shape {a.ShapeText}); expected rank {rank}" + (layout is null ? "" : $", {layout}"));
            return a;
        }

        public void CheckFinite(NpyArray a)
        {
            var data = a.Floats!;
            for (int i = 0; i < data.Length; i++)
                if (!double.IsFinite(data[i]))
                    throw Error(a.Name, $"{ValueName(data[i])} at index {a.IndexText(i)}; every value must be finite");
        }

        private static string ValueName(double v) => double.IsNaN(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf";
    }
}
