using System.Runtime.CompilerServices;
using System.Numerics;
using Flatness.Kernels.Tensors;

namespace Flatness.Kernels.Cpu;

/// <summary>
/// All partial products of a layer chain W_1..W_L (W_j is d_j x d_{j-1}, row-major), in 2L - 3 GEMMs (L &gt;= 2):
/// <c>prefix[j] = W_{j:1} = W_j ... W_1</c> (d_j x d_0; <c>prefix[0] = I</c>, <c>prefix[L] = E</c>) and
/// <c>suffix[j] = W_{L:j+1} = W_L ... W_{j+1}</c> (d_L x d_j; <c>suffix[L] = I</c>).
/// In the notation of SPEC section 2, Q_j = <c>prefix[j - 1]</c> and P_j = <c>suffix[j]</c>.
/// <c>suffix[0]</c> would equal E = <c>prefix[L]</c> and is never formed.
/// </summary>
public static class Chains
{
    /// <summary>
    /// Fills <paramref name="prefix"/> (length L + 1) and, when given, <paramref name="suffix"/> (length L + 1;
    /// entry 0 is not touched). Every matrix must already have its shape.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Compute<T>(IReadOnlyList<Matrix<T>> layers, Matrix<T>[] prefix, Matrix<T>[]? suffix)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int depth = layers.Count;
        Validate(layers, prefix, suffix);

        SetIdentity(prefix[0]);
        layers[0].Data.AsSpan().CopyTo(prefix[1].Data);
        for (int j = 2; j <= depth; j++)
        {
            var w = layers[j - 1];
            Gemm.Compute(Op.None, Op.None, w.Rows, prefix[0].Cols, w.Cols, T.One,
                w.Data, w.Cols, prefix[j - 1].Data, prefix[j - 1].Cols, T.Zero, prefix[j].Data, prefix[j].Cols);
        }

        if (suffix is null) return;
        SetIdentity(suffix[depth]);
        if (depth == 1) return;
        layers[depth - 1].Data.AsSpan().CopyTo(suffix[depth - 1].Data);
        for (int j = depth - 2; j >= 1; j--)
        {
            var w = layers[j]; // W_{j+1}: d_{j+1} x d_j
            var next = suffix[j + 1]; // d_L x d_{j+1}
            Gemm.Compute(Op.None, Op.None, next.Rows, w.Cols, w.Rows, T.One,
                next.Data, next.Cols, w.Data, w.Cols, T.Zero, suffix[j].Data, suffix[j].Cols);
        }
    }

    private static void SetIdentity<T>(Matrix<T> m) where T : unmanaged, IFloatingPointIeee754<T>
    {
        m.Data.AsSpan().Clear();
        for (int i = 0; i < m.Rows; i++) m[i, i] = T.One;
    }

    private static void Validate<T>(IReadOnlyList<Matrix<T>> layers, Matrix<T>[] prefix, Matrix<T>[]? suffix)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int depth = layers.Count;
        LayerShapes.Dims(layers);
        int d0 = layers[0].Cols, dL = layers[depth - 1].Rows;
        if (prefix.Length != depth + 1)
            throw new ArgumentException($"prefix has {prefix.Length} entries, expected L + 1 = {depth + 1}", nameof(prefix));
        for (int j = 0; j <= depth; j++)
        {
            int dj = j == 0 ? d0 : layers[j - 1].Rows;
            if (prefix[j].Rows != dj || prefix[j].Cols != d0)
                throw new ArgumentException($"prefix[{j}] is {prefix[j].Rows}x{prefix[j].Cols}, expected {dj}x{d0}", nameof(prefix));
        }
        if (suffix is null) return;
        if (suffix.Length != depth + 1)
            throw new ArgumentException($"suffix has {suffix.Length} entries, expected L + 1 = {depth + 1}", nameof(suffix));
        for (int j = 1; j <= depth; j++)
        {
            int dj = layers[j - 1].Rows;
            if (suffix[j].Rows != dL || suffix[j].Cols != dj)
                throw new ArgumentException($"suffix[{j}] is {suffix[j].Rows}x{suffix[j].Cols}, expected {dL}x{dj}", nameof(suffix));
        }
    }
}
