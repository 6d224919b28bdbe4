using Flatness.Solver.Randomness;
using Flatness.Kernels.Tensors;

namespace Flatness.Solver.Model;

/// <summary>How the layers of a run start.</summary>
public enum InitKind
{
    /// <summary>W_j entries i.i.d. N(0, scale^2 / d_{j-1}) (fan-in scaling).</summary>
    Gaussian,
    /// <summary>W_j = scale O_j with O_j a random (semi-)orthogonal matrix: every W_j has all singular values scale.</summary>
    Orthogonal,
    /// <summary>W_j = scale^{1/L} R_j R_{j-1}^T: exactly balanced, E has all its k singular values equal to scale.</summary>
    SmallBalanced,
    /// <summary>Layers read from a file.</summary>
    File,
}

/// <summary>
/// Dimensions and starting points of a factorisation. Random draws come from a <see cref="NormalSampler"/> with the
/// given seed, layer W_1 first, each row-major.
/// </summary>
public static class Initializers
{
    /// <summary>[d_0, w, ..., w, d_L] with L - 1 hidden widths w (default max(d_0, d_L)).</summary>
    public static int[] Dims(int inputDim, int outputDim, int depth, int? width = null)
    {
        if (inputDim < 1) throw new ArgumentOutOfRangeException(nameof(inputDim), $"d_0 must be >= 1, got {inputDim}");
        if (outputDim < 1) throw new ArgumentOutOfRangeException(nameof(outputDim), $"d_L must be >= 1, got {outputDim}");
        if (depth < 1) throw new ArgumentOutOfRangeException(nameof(depth), $"depth L must be >= 1, got {depth}");
        if (width is int given)
        {
            if (depth == 1) throw new ArgumentException("a hidden width needs depth >= 2 (depth 1 has no hidden layer)", nameof(width));
            if (given < 1) throw new ArgumentOutOfRangeException(nameof(width), $"hidden width must be >= 1, got {given}");
        }
        int w = width ?? Math.Max(inputDim, outputDim);
        var dims = new int[depth + 1];
        dims[0] = inputDim;
        for (int j = 1; j < depth; j++) dims[j] = w;
        dims[depth] = outputDim;
        return dims;
    }

    /// <summary>Dispatches on <paramref name="kind"/> (not <see cref="InitKind.File"/>, which needs the file's layers).</summary>
    public static Factorization Create(InitKind kind, IReadOnlyList<int> dims, double scale, int seed) => kind switch
    {
        InitKind.Gaussian => Gaussian(dims, scale, seed),
        InitKind.Orthogonal => Orthogonal(dims, scale, seed),
        InitKind.SmallBalanced => SmallBalanced(dims, scale, seed),
        InitKind.File => throw new ArgumentException("a file initialisation reads its layers: use ProblemFiles.LoadLayers", nameof(kind)),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), $"unknown initialisation {kind}"),
    };

    /// <summary>Entries of W_j i.i.d. N(0, scale^2 / d_{j-1}): E[||W_j x||^2] = scale^2 ||x||^2.</summary>
    public static Factorization Gaussian(IReadOnlyList<int> dims, double scale, int seed)
    {
        CheckDims(dims);
        CheckScale(scale);
        var rng = new NormalSampler(seed);
        var layers = new Matrix<double>[dims.Count - 1];
        for (int j = 1; j < dims.Count; j++)
            layers[j - 1] = new Matrix<double>(dims[j], dims[j - 1], rng.Draw(dims[j] * dims[j - 1], scale / Math.Sqrt(dims[j - 1])));
        return new Factorization(layers);
    }

    /// <summary>
    /// W_j = scale O_j with O_j Haar-distributed with orthonormal columns (d_j &gt;= d_{j-1}) or rows (d_j &lt; d_{j-1}),
    /// from the QR factorisation of a Gaussian matrix.
    /// </summary>
    public static Factorization Orthogonal(IReadOnlyList<int> dims, double scale, int seed)
    {
        CheckDims(dims);
        CheckScale(scale);
        var rng = new NormalSampler(seed);
        var layers = new Matrix<double>[dims.Count - 1];
        for (int j = 1; j < dims.Count; j++)
        {
            int rows = dims[j], cols = dims[j - 1];
            var o = rows >= cols ? OrthonormalColumns(rows, cols, rng) : OrthonormalColumns(cols, rows, rng).Transpose();
            for (int t = 0; t < o.Length; t++) o.Data[t] *= scale;
            layers[j - 1] = o;
        }
        return new Factorization(layers);
    }

    /// <summary>
    /// Small balanced initialisation: with k = min_j d_j and R_j (d_j x k) random orthonormal columns (j = 0..L),
    /// W_j = scale^{1/L} R_j R_{j-1}^T. Then W_{j+1}^T W_{j+1} = W_j W_j^T exactly (balanced) and
    /// E = scale R_L R_0^T has k singular values equal to scale (spectral norm scale, Frobenius norm scale sqrt(k)).
    /// </summary>
    public static Factorization SmallBalanced(IReadOnlyList<int> dims, double scale, int seed)
    {
        CheckDims(dims);
        CheckScale(scale);
        var rng = new NormalSampler(seed);
        int k = dims.Min();
        var r = dims.Select(d => OrthonormalColumns(d, k, rng)).ToArray();
        double c = Math.Pow(scale, 1.0 / (dims.Count - 1));
        var layers = new Matrix<double>[dims.Count - 1];
        for (int j = 1; j < dims.Count; j++)
        {
            var w = new Matrix<double>(dims[j], dims[j - 1]);
            for (int a = 0; a < w.Rows; a++)
                for (int b = 0; b < w.Cols; b++)
                {
                    double s = 0;
                    for (int t = 0; t < k; t++) s += r[j][a, t] * r[j - 1][b, t];
                    w[a, b] = c * s;
                }
            layers[j - 1] = w;
        }
        return new Factorization(layers);
    }

    /// <summary>A rows x cols matrix (rows &gt;= cols) with orthonormal columns: Gram–Schmidt, twice, on a Gaussian matrix.</summary>
    internal static Matrix<double> OrthonormalColumns(int rows, int cols, NormalSampler rng)
    {
        if (rows < cols) throw new ArgumentException($"cannot fit {cols} orthonormal columns in dimension {rows}");
        var q = new Matrix<double>(rows, cols, rng.Draw(rows * cols));
        for (int c = 0; c < cols; c++)
        {
            for (int pass = 0; pass < 2; pass++)
                for (int p = 0; p < c; p++)
                {
                    double dot = 0;
                    for (int a = 0; a < rows; a++) dot += q[a, p] * q[a, c];
                    for (int a = 0; a < rows; a++) q[a, c] -= dot * q[a, p];
                }
            double norm = 0;
            for (int a = 0; a < rows; a++) norm += q[a, c] * q[a, c];
            norm = Math.Sqrt(norm);
            if (!(norm > 1e-12))
                throw new ArgumentException($"random orthonormalisation degenerated (seed {rng.Seed}); choose another seed");
            for (int a = 0; a < rows; a++) q[a, c] /= norm;
        }
        return q;
    }

    private static void CheckDims(IReadOnlyList<int> dims)
    {
        if (dims.Count < 2) throw new ArgumentException($"dims must list d_0..d_L with L >= 1, got {dims.Count} entries", nameof(dims));
        for (int j = 0; j < dims.Count; j++)
            if (dims[j] < 1) throw new ArgumentOutOfRangeException(nameof(dims), $"d_{j} must be >= 1, got {dims[j]}");
    }

    private static void CheckScale(double scale)
    {
        if (!double.IsFinite(scale) || scale <= 0)
            throw new ArgumentOutOfRangeException(nameof(scale), $"initialisation scale must be finite and positive, got {scale}");
    }
}
