using System.Numerics.Tensors;
using Flatness.Kernels.Cpu;
using Flatness.Kernels.Tensors;

namespace Flatness.Kernels.Linalg;

/// <summary>
/// The singular values of a product E = W_L ... W_1 without a dense SVD of E when the chain is narrow: with the narrowest
/// hidden width w below min(d_L, d_0), E = A B (A = W_L ... W_{k+1}, d_L x w; B = W_k ... W_1, w x d_0); thin QR
/// factorisations A = Q_a R_a and B^T = Q_b R_b give E = Q_a (R_a R_b^T) Q_b^T, whose singular values are those of the
/// w x w core. O((d_L + d_0) w^2) instead of O(d_L d_0 min(d_L, d_0)).
/// </summary>
public static class ChainSingularValues
{
    /// <summary>The singular values of W_L ... W_1 (index 0 is W_1), descending, min(d_L, d_0) of them (zeros past the core).</summary>
    public static double[] Of(IReadOnlyList<Matrix<double>> layers)
    {
        var dims = LayerShapes.Dims(layers);
        int depth = layers.Count, d0 = dims[0], dL = dims[depth];
        int k = 0, width = int.MaxValue;
        for (int j = 1; j < depth; j++)
            if (dims[j] < width) (k, width) = (j, dims[j]);
        int count = Math.Min(dL, d0);
        if (k == 0 || 2 * width > count) return Svd.SingularValues(Product(layers, 0, depth));

        var a = Product(layers, k, depth);   // d_L x w
        var b = Product(layers, 0, k);       // w x d_0
        var ra = TriangularFactor(a);
        var rb = TriangularFactor(b.Transpose());
        var core = Gemm.Multiply(ra, rb, Op.None, Op.Transpose);
        // Factors of very different scales can overflow although E does not: then the dense SVD of E decides.
        if (!core.Data.All(double.IsFinite)) return Svd.SingularValues(Product(layers, 0, depth));
        var s = Svd.SingularValues(core);
        var result = new double[count];
        Array.Copy(s, result, Math.Min(s.Length, count));
        return result;
    }

    /// <summary>W_{to} ... W_{from+1} (1-based layers from + 1 .. to).</summary>
    private static Matrix<double> Product(IReadOnlyList<Matrix<double>> layers, int from, int to)
    {
        var e = layers[from].Clone();
        for (int j = from + 1; j < to; j++) e = Gemm.Multiply(layers[j], e);
        return e;
    }

    /// <summary>R of a thin QR of the tall matrix X (m x w, m &gt;= w) by Householder reflections: R^T R = X^T X.</summary>
    private static Matrix<double> TriangularFactor(Matrix<double> x)
    {
        int m = x.Rows, w = x.Cols;
        // Work on columns (X^T row-major), so that each reflection is a sequence of contiguous dot products and updates.
        var c = x.Transpose();
        var v = new double[m];
        for (int j = 0; j < Math.Min(w, m); j++)
        {
            var col = c.Row(j)[j..];
            double norm = TensorPrimitives.Norm<double>(col);
            if (norm == 0) continue;
            double alpha = col[0] > 0 ? -norm : norm;
            var u = v.AsSpan(0, col.Length);
            col.CopyTo(u);
            u[0] -= alpha;
            double uu = TensorPrimitives.SumOfSquares<double>(u);
            col.Clear();
            col[0] = alpha;
            if (uu == 0) continue;
            for (int t = j + 1; t < w; t++)
            {
                var other = c.Row(t)[j..];
                double f = 2 * TensorPrimitives.Dot<double>(u, other) / uu;
                TensorPrimitives.MultiplyAdd(u, -f, other, other);
            }
        }
        var r = new Matrix<double>(w, w);
        for (int j = 0; j < w; j++)
            for (int i = 0; i <= Math.Min(j, m - 1); i++) r[i, j] = c[j, i];
        return r;
    }
}
