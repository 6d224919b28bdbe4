using Flatness.Kernels.Tensors;

namespace Flatness.Solver.Problems.NumPy;

/// <summary>The element types this project reads and writes; all little-endian.</summary>
public enum NpyDType
{
    /// <summary>'&lt;f8', IEEE double.</summary>
    Float64,
    /// <summary>'&lt;f4', IEEE single.</summary>
    Float32,
    /// <summary>'&lt;i8', signed 64-bit integer.</summary>
    Int64,
    /// <summary>'&lt;i4', signed 32-bit integer.</summary>
    Int32,
}

/// <summary>Properties of the supported NumPy dtypes.</summary>
public static class NpyDTypes
{
    /// <summary>The NumPy type descriptor ('&lt;f8', ...).</summary>
    public static string Descr(this NpyDType dtype) => dtype switch
    {
        NpyDType.Float64 => "<f8",
        NpyDType.Float32 => "<f4",
        NpyDType.Int64 => "<i8",
        NpyDType.Int32 => "<i4",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "unknown dtype"),
    };

    /// <summary>Bytes per element.</summary>
    public static int ItemSize(this NpyDType dtype) => dtype is NpyDType.Float64 or NpyDType.Int64 ? 8 : 4;

    /// <summary>Whether the dtype is a floating-point one.</summary>
    public static bool IsFloat(this NpyDType dtype) => dtype is NpyDType.Float64 or NpyDType.Float32;

    /// <summary>The dtype of a supported descriptor, or null.</summary>
    public static NpyDType? FromDescr(string descr) => descr switch
    {
        "<f8" => NpyDType.Float64,
        "<f4" => NpyDType.Float32,
        "<i8" => NpyDType.Int64,
        "<i4" => NpyDType.Int32,
        _ => null,
    };
}

/// <summary>
/// One named n-dimensional array in C order. Floating-point arrays hold their values in <see cref="Floats"/>
/// (float32 widened exactly to float64), integer arrays in <see cref="Integers"/>; <see cref="DType"/> is the
/// element type on disk, kept so that a read array is written back unchanged.
/// </summary>
public sealed class NpyArray
{
    private NpyArray(string name, int[] shape, NpyDType dtype, double[]? floats, long[]? integers)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(shape);
        long count = 1;
        foreach (int s in shape)
        {
            if (s < 0) throw new ArgumentOutOfRangeException(nameof(shape), $"array '{name}': shape ({string.Join(", ", shape)}) has a negative dimension");
            count *= s;
            if (count > System.Array.MaxLength)
                throw new ArgumentOutOfRangeException(nameof(shape), $"array '{name}': shape ({string.Join(", ", shape)}) has too many elements");
        }
        long length = floats?.Length ?? integers!.Length;
        if (length != count)
            throw new ArgumentException($"array '{name}': {length} values do not fill shape ({string.Join(", ", shape)})");
        if (dtype == NpyDType.Int32 && integers is not null)
            for (int i = 0; i < integers.Length; i++)
                if (integers[i] < int.MinValue || integers[i] > int.MaxValue)
                    throw new ArgumentOutOfRangeException(nameof(integers), $"array '{name}': value {integers[i]} at flat index {i} does not fit <i4");
        Name = name;
        Shape = shape;
        DType = dtype;
        Floats = floats;
        Integers = integers;
    }

    /// <summary>The array's name (its entry in the .npz without ".npy").</summary>
    public string Name { get; }
    /// <summary>The dimensions; empty for a 0-d (scalar) array.</summary>
    public int[] Shape { get; }
    /// <summary>The element type as stored.</summary>
    public NpyDType DType { get; }
    /// <summary>The values of a float array (C order), else null.</summary>
    public double[]? Floats { get; }
    /// <summary>The values of an integer array (C order), else null.</summary>
    public long[]? Integers { get; }

    /// <summary>Number of dimensions.</summary>
    public int Rank => Shape.Length;
    /// <summary>Number of elements.</summary>
    public int Length => Floats?.Length ?? Integers!.Length;
    /// <summary>Whether the values are floating point (<c>Floats</c> is set) rather than integers.</summary>
    public bool IsFloat => DType.IsFloat();

    /// <summary>A float array; <paramref name="data"/> is used without copying.</summary>
    public static NpyArray Float(string name, int[] shape, double[] data, NpyDType dtype = NpyDType.Float64)
    {
        if (!dtype.IsFloat()) throw new ArgumentException($"array '{name}': {dtype.Descr()} is not a float dtype", nameof(dtype));
        return new NpyArray(name, shape, dtype, data, null);
    }

    /// <summary>An integer array; <paramref name="data"/> is used without copying.</summary>
    public static NpyArray Integer(string name, int[] shape, long[] data, NpyDType dtype = NpyDType.Int64)
    {
        if (dtype.IsFloat()) throw new ArgumentException($"array '{name}': {dtype.Descr()} is not an integer dtype", nameof(dtype));
        return new NpyArray(name, shape, dtype, null, data);
    }

    /// <summary>A 2-d float64 array holding a copy of the matrix.</summary>
    public static NpyArray FromMatrix(string name, Matrix<double> m) =>
        Float(name, [m.Rows, m.Cols], (double[])m.Data.Clone());

    /// <summary>The shape as NumPy prints it: (), (5,), (3, 4).</summary>
    public string ShapeText => FormatShape(Shape);

    internal static string FormatShape(IReadOnlyList<int> shape) =>
        shape.Count == 1 ? $"({shape[0]},)" : $"({string.Join(", ", shape)})";

    /// <summary>The multi-index of a flat C-order position, as "[i, j, k]".</summary>
    public string IndexText(long flat)
    {
        if (Shape.Length == 0) return "[()]";
        var idx = new long[Shape.Length];
        for (int d = Shape.Length - 1; d >= 0; d--)
        {
            idx[d] = flat % Shape[d];
            flat /= Shape[d];
        }
        return $"[{string.Join(", ", idx)}]";
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Name}: {DType.Descr()} {ShapeText}";
}
