namespace Flatness.Solver.Backends;

/// <summary>The element type an evaluator computes in; results always cross the seam in float64.</summary>
public enum Precision
{
    /// <summary>float64 ("f64").</summary>
    F64,
    /// <summary>float32 ("f32"): half the bytes, about 7 significant digits.</summary>
    F32,
}

/// <summary>How the sandwich operators S and S* and the loss are evaluated (docs/DESIGN.md, "Evaluation paths").</summary>
public enum EvaluationPath
{
    /// <summary>The plain float64 oracle (<see cref="ReferenceEvaluator"/>).</summary>
    Reference,
    /// <summary>Dense A_i side by side, O(n L d^3) per evaluation.</summary>
    Direct,
    /// <summary>The Gram operator K built once, then O(L d_L^2 d_0^2) per evaluation, independent of n.</summary>
    Gram,
    /// <summary>Matrix completion A_i = s e_a e_b^T: diagonal sandwiches, O(n + L d^2).</summary>
    Completion,
    /// <summary>Rank-one A_i = u_i v_i^T: O(n L d^2).</summary>
    RankOne,
}

/// <summary>Which device family evaluates. <see cref="Auto"/> lets the selector pick from the cost model.</summary>
public enum BackendKind
{
    /// <summary>The cheapest candidate that fits, over every device present.</summary>
    Auto,
    /// <summary>The plain float64 oracle.</summary>
    Reference,
    /// <summary>The SIMD CPU kernels.</summary>
    Cpu,
    /// <summary>The best ILGPU GPU (CUDA, then OpenCL); without one, the CPU with a warning.</summary>
    Ilgpu,
    /// <summary>ILGPU on a CUDA device.</summary>
    IlgpuCuda,
    /// <summary>ILGPU on an OpenCL device.</summary>
    IlgpuOpenCL,
    /// <summary>ILGPU's CPU accelerator: runs the GPU kernels on the host (for testing the GPU code).</summary>
    IlgpuCpu,
}

/// <summary>
/// The names of <see cref="Precision"/>, <see cref="EvaluationPath"/> and <see cref="BackendKind"/> as the command line
/// and files spell them, parsed in this one place: an unknown name is an <see cref="ArgumentException"/> that lists
/// the accepted ones.
/// </summary>
public static class ChoiceNames
{
    private static readonly (Precision Value, string Name)[] PrecisionNames = [(Precision.F64, "f64"), (Precision.F32, "f32")];

    private static readonly (EvaluationPath Value, string Name)[] PathNames =
    [
        (EvaluationPath.Reference, "reference"), (EvaluationPath.Direct, "direct"), (EvaluationPath.Gram, "gram"),
        (EvaluationPath.Completion, "completion"), (EvaluationPath.RankOne, "rank-one"),
    ];

    private static readonly (BackendKind Value, string Name)[] BackendNames =
    [
        (BackendKind.Auto, "auto"), (BackendKind.Cpu, "cpu"), (BackendKind.Reference, "reference"),
        (BackendKind.Ilgpu, "ilgpu"), (BackendKind.IlgpuCuda, "ilgpu-cuda"), (BackendKind.IlgpuOpenCL, "ilgpu-opencl"),
        (BackendKind.IlgpuCpu, "ilgpu-cpu"),
    ];

    /// <summary>"f64", "f32".</summary>
    public static IReadOnlyList<string> Precisions { get; } = PrecisionNames.Select(p => p.Name).ToArray();

    /// <summary>"auto" and every path name.</summary>
    public static IReadOnlyList<string> Paths { get; } = ["auto", .. PathNames.Select(p => p.Name)];

    /// <summary>Every backend name, "auto" first.</summary>
    public static IReadOnlyList<string> Backends { get; } = BackendNames.Select(p => p.Name).ToArray();

    /// <summary>The name of a precision ("f64", "f32").</summary>
    public static string Name(this Precision precision) => Lookup(PrecisionNames, precision);

    /// <summary>The name of a path ("direct", "rank-one", ...).</summary>
    public static string Name(this EvaluationPath path) => Lookup(PathNames, path);

    /// <summary>The name of a backend ("auto", "cpu", "ilgpu-cuda", ...).</summary>
    public static string Name(this BackendKind backend) => Lookup(BackendNames, backend);

    /// <summary>Bytes per element.</summary>
    public static int ElementBytes(this Precision precision) => precision == Precision.F32 ? sizeof(float) : sizeof(double);

    /// <summary>Whether the backend runs the ILGPU kernels.</summary>
    public static bool IsIlgpu(this BackendKind backend) =>
        backend is BackendKind.Ilgpu or BackendKind.IlgpuCuda or BackendKind.IlgpuOpenCL or BackendKind.IlgpuCpu;

    /// <summary>Parses "f64" or "f32" (case-insensitive).</summary>
    public static Precision ParsePrecision(string name) => Parse(PrecisionNames, name, "precision");

    /// <summary>Parses a path name; "auto" is null (the selector picks).</summary>
    public static EvaluationPath? ParsePath(string name) =>
        IsAuto(name) ? null : Parse(PathNames, name, "path", extra: "auto");

    /// <summary>Parses a backend name.</summary>
    public static BackendKind ParseBackend(string name) => Parse(BackendNames, name, "backend");

    private static bool IsAuto(string name) => string.Equals(name?.Trim(), "auto", StringComparison.OrdinalIgnoreCase);

    private static string Lookup<TValue>((TValue Value, string Name)[] table, TValue value) where TValue : struct, Enum
    {
        foreach (var (v, n) in table)
            if (EqualityComparer<TValue>.Default.Equals(v, value)) return n;
        throw new System.Diagnostics.UnreachableException($"no name for {typeof(TValue).Name} {value}");
    }

    private static TValue Parse<TValue>((TValue Value, string Name)[] table, string name, string what, string? extra = null)
        where TValue : struct, Enum
    {
        string text = name?.Trim() ?? "";
        foreach (var (v, n) in table)
            if (string.Equals(n, text, StringComparison.OrdinalIgnoreCase)) return v;
        var accepted = (extra is null ? table.Select(t => t.Name) : table.Select(t => t.Name).Prepend(extra));
        throw new ArgumentException($"unknown {what} '{name}'; accepted: {string.Join(", ", accepted)}", what);
    }
}
