using Flatness.Kernels.Cpu;
using Flatness.Kernels.Tensors;

namespace Flatness.Solver.Optimizers;

/// <summary>Element-wise algebra on lists of layers (the optimisers' parameter vectors), and the end-to-end product.</summary>
internal static class LayerMath
{
    /// <summary>Number of parameters: the total of the layers' entries.</summary>
    public static int Count(IReadOnlyList<Matrix<double>> layers) => layers.Sum(w => w.Length);

    /// <summary>Deep copies of the layers.</summary>
    public static Matrix<double>[] Clone(IReadOnlyList<Matrix<double>> layers) => layers.Select(w => w.Clone()).ToArray();

    /// <summary>Zero matrices of the layers' shapes.</summary>
    public static Matrix<double>[] ZerosLike(IReadOnlyList<Matrix<double>> layers) =>
        layers.Select(w => new Matrix<double>(w.Rows, w.Cols)).ToArray();

    /// <summary>target = source, element-wise (same shapes).</summary>
    public static void CopyTo(IReadOnlyList<Matrix<double>> source, IReadOnlyList<Matrix<double>> target)
    {
        for (int j = 0; j < source.Count; j++) source[j].Data.AsSpan().CopyTo(target[j].Data);
    }

    /// <summary>y += alpha x.</summary>
    public static void Axpy(double alpha, IReadOnlyList<Matrix<double>> x, IReadOnlyList<Matrix<double>> y)
    {
        for (int j = 0; j < x.Count; j++)
        {
            var xs = x[j].Data;
            var ys = y[j].Data;
            for (int t = 0; t < xs.Length; t++) ys[t] += alpha * xs[t];
        }
    }

    /// <summary>result = x + alpha d (a new list).</summary>
    public static Matrix<double>[] Step(IReadOnlyList<Matrix<double>> x, double alpha, IReadOnlyList<Matrix<double>> d)
    {
        var result = Clone(x);
        Axpy(alpha, d, result);
        return result;
    }

    /// <summary>sum_j &lt;X_j, Y_j&gt;.</summary>
    public static double Dot(IReadOnlyList<Matrix<double>> x, IReadOnlyList<Matrix<double>> y)
    {
        double s = 0;
        for (int j = 0; j < x.Count; j++)
        {
            var xs = x[j].Data;
            var ys = y[j].Data;
            for (int t = 0; t < xs.Length; t++) s += xs[t] * ys[t];
        }
        return s;
    }

    /// <summary>sum_j ||X_j||_F^2.</summary>
    public static double NormSquared(IReadOnlyList<Matrix<double>> x) => Dot(x, x);

    /// <summary>sqrt(sum_j ||X_j||_F^2).</summary>
    public static double Norm(IReadOnlyList<Matrix<double>> x) => Math.Sqrt(NormSquared(x));

    /// <summary>Whether every entry is finite.</summary>
    public static bool AllFinite(IReadOnlyList<Matrix<double>> x)
    {
        foreach (var w in x)
            foreach (double v in w.Data)
                if (!double.IsFinite(v)) return false;
        return true;
    }

    /// <summary>Entries over all layers.</summary>
    public static int ParameterCount(IReadOnlyList<Matrix<double>> layers) => layers.Sum(w => w.Length);

    /// <summary>All layers one after another (W_1 first), each row-major.</summary>
    public static void Flatten(IReadOnlyList<Matrix<double>> layers, Span<double> target)
    {
        int offset = 0;
        foreach (var w in layers)
        {
            w.Data.AsSpan().CopyTo(target[offset..]);
            offset += w.Length;
        }
    }

    /// <summary>The layers' entries one after another (W_1 row-major first).</summary>
    public static double[] Flatten(IReadOnlyList<Matrix<double>> layers)
    {
        var x = new double[ParameterCount(layers)];
        Flatten(layers, x);
        return x;
    }

    /// <summary>The inverse of <see cref="Flatten(IReadOnlyList{Matrix{double}}, Span{double})"/> into existing layers.</summary>
    public static void Unflatten(ReadOnlySpan<double> source, IReadOnlyList<Matrix<double>> layers)
    {
        int offset = 0;
        foreach (var w in layers)
        {
            source.Slice(offset, w.Length).CopyTo(w.Data);
            offset += w.Length;
        }
    }

    /// <summary>E = W_L ... W_1.</summary>
    public static Matrix<double> EndToEnd(IReadOnlyList<Matrix<double>> layers)
    {
        var e = layers[0];
        for (int j = 1; j < layers.Count; j++) e = Gemm.Multiply(layers[j], e);
        return ReferenceEquals(e, layers[0]) ? e.Clone() : e;
    }
}
