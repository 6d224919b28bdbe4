using System.Runtime.CompilerServices;
using System.Numerics;
using System.Numerics.Tensors;

namespace Flatness.Kernels.Cpu;

/// <summary>
/// The dense sensing operator on X, the n x (d_L d_0) row-major matrix of rows vec(A_i) (stacked measurements in
/// C order): f = X vec(E) (a GEMV: one dot product per row) and Z = X^T w (one scaled row added per measurement).
/// Both stream X once.
/// </summary>
public static class Sensing
{
    /// <summary>f_i = &lt;A_i, E&gt; for all i.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward<T>(int count, ReadOnlySpan<T> x, ReadOnlySpan<T> e, Span<T> f)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int size = Check(count, x, e.Length, f.Length);
        for (int i = 0; i < count; i++) f[i] = TensorPrimitives.Dot(x.Slice(i * size, size), e);
    }

    /// <summary>Z = alpha sum_i w_i A_i (Z overwritten).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Adjoint<T>(int count, ReadOnlySpan<T> x, ReadOnlySpan<T> w, T alpha, Span<T> z)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int size = Check(count, x, z.Length, w.Length);
        z.Clear();
        for (int i = 0; i < count; i++)
        {
            T wi = alpha * w[i];
            if (wi != T.Zero) TensorPrimitives.MultiplyAdd(x.Slice(i * size, size), wi, z, z);
        }
    }

    /// <summary>Flops of one <see cref="Forward{T}"/> or <see cref="Adjoint{T}"/> (2 n d_L d_0).</summary>
    public static double Flops(int count, int size) => 2.0 * count * size;

    private static int Check<T>(int count, ReadOnlySpan<T> x, int matrixLength, int vectorLength)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), $"measurement count n = {count} must be positive");
        if (matrixLength < 1 || x.Length != (long)count * matrixLength)
            throw new ArgumentException($"X has {x.Length} values, expected n = {count} rows of {matrixLength}", nameof(x));
        if (vectorLength != count)
            throw new ArgumentException($"the measurement vector has {vectorLength} entries, expected n = {count}");
        return matrixLength;
    }
}
