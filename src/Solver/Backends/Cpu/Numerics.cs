using System.Runtime.CompilerServices;
using System.Numerics;
using System.Numerics.Tensors;
using Flatness.Kernels.Tensors;

namespace Flatness.Solver.Backends.Cpu;

/// <summary>Precision conversions and float64-accumulated reductions for the CPU evaluators.</summary>
internal static class Numerics
{
    /// <summary>The array itself when it already has element type T, else a converted copy.</summary>
    public static T[] As<T>(double[] source) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (source is T[] same) return same;
        var target = new T[source.Length];
        for (int i = 0; i < source.Length; i++) target[i] = T.CreateTruncating(source[i]);
        return target;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Convert<TSource, T>(ReadOnlySpan<TSource> source, Span<T> target)
        where TSource : unmanaged, IFloatingPointIeee754<TSource>
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(TSource) == typeof(T))
        {
            System.Runtime.InteropServices.MemoryMarshal.Cast<TSource, T>(source).CopyTo(target);
            return;
        }
        for (int i = 0; i < source.Length; i++) target[i] = T.CreateTruncating(source[i]);
    }

    public static Matrix<double> ToDouble<T>(Matrix<T> m) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var result = new Matrix<double>(m.Rows, m.Cols);
        Convert<T, double>(m.Data, result.Data);
        return result;
    }

    /// <summary>sum_i x_i y_i accumulated in float64.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double Dot<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(double))
            return TensorPrimitives.Dot(
                System.Runtime.InteropServices.MemoryMarshal.Cast<T, double>(x),
                System.Runtime.InteropServices.MemoryMarshal.Cast<T, double>(y));
        double sum = 0;
        for (int i = 0; i < x.Length; i++) sum += double.CreateTruncating(x[i]) * double.CreateTruncating(y[i]);
        return sum;
    }

    /// <summary>sum_i x_i^2 accumulated in float64.</summary>
    public static double SumOfSquares<T>(ReadOnlySpan<T> x) where T : unmanaged, IFloatingPointIeee754<T> => Dot(x, x);
}
