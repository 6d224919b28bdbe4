using System.Numerics;
using System.Runtime.CompilerServices;

namespace Flatness.Kernels.Tensors;

/// <summary>
/// A dense row-major matrix that owns its buffer. Element (r, c) lives at <c>Data[r * Cols + c]</c>.
/// Generic over float and double; the reference backend uses <c>Matrix&lt;double&gt;</c>.
/// </summary>
public sealed class Matrix<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public int Rows { get; }
    public int Cols { get; }
    public T[] Data { get; }

    public Matrix(int rows, int cols)
    {
        if (rows < 0 || cols < 0)
            throw new ArgumentOutOfRangeException(nameof(rows), $"matrix shape ({rows}, {cols}) has a negative dimension");
        Rows = rows;
        Cols = cols;
        Data = new T[checked(rows * cols)];
    }

    /// <summary>Wraps <paramref name="data"/> (row-major, length rows*cols) without copying.</summary>
    public Matrix(int rows, int cols, T[] data)
    {
        if (rows < 0 || cols < 0)
            throw new ArgumentOutOfRangeException(nameof(rows), $"matrix shape ({rows}, {cols}) has a negative dimension");
        if (data.Length != checked(rows * cols))
            throw new ArgumentException($"buffer of length {data.Length} does not hold a ({rows}, {cols}) matrix", nameof(data));
        Rows = rows;
        Cols = cols;
        Data = data;
    }

    public int Length => Data.Length;
    public Span<T> Span => Data;
    public MatrixView<T> View => new(Data, Rows, Cols, Cols);

    public ref T this[int row, int col]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => ref Data[row * Cols + col];
    }

    public Span<T> Row(int row) => Data.AsSpan(row * Cols, Cols);

    public static Matrix<T> Identity(int n)
    {
        var m = new Matrix<T>(n, n);
        for (int i = 0; i < n; i++) m[i, i] = T.One;
        return m;
    }

    public static Matrix<T> FromRows(T[,] values)
    {
        var m = new Matrix<T>(values.GetLength(0), values.GetLength(1));
        for (int r = 0; r < m.Rows; r++)
            for (int c = 0; c < m.Cols; c++)
                m[r, c] = values[r, c];
        return m;
    }

    public Matrix<T> Clone() => new(Rows, Cols, (T[])Data.Clone());

    public Matrix<T> Transpose()
    {
        var t = new Matrix<T>(Cols, Rows);
        for (int r = 0; r < Rows; r++)
            for (int c = 0; c < Cols; c++)
                t[c, r] = this[r, c];
        return t;
    }

    /// <summary>Element-wise conversion to another precision (float64 to float32 and back).</summary>
    public Matrix<TOut> Convert<TOut>() where TOut : unmanaged, IFloatingPointIeee754<TOut>
    {
        var m = new Matrix<TOut>(Rows, Cols);
        for (int i = 0; i < Data.Length; i++) m.Data[i] = TOut.CreateTruncating(Data[i]);
        return m;
    }

    public bool SameShape(Matrix<T> other) => Rows == other.Rows && Cols == other.Cols;

    public override string ToString() => $"Matrix<{typeof(T).Name}>({Rows}x{Cols})";
}

/// <summary>
/// A strided row-major view into a larger buffer: element (r, c) is at <c>Data[Offset + r * Stride + c]</c>,
/// with <c>Stride &gt;= Cols</c> (the BLAS leading dimension).
/// </summary>
public readonly struct MatrixView<T>(T[] data, int rows, int cols, int stride, int offset = 0)
    where T : unmanaged, IFloatingPointIeee754<T>
{
    public T[] Data { get; } = data;
    public int Rows { get; } = rows;
    public int Cols { get; } = cols;
    public int Stride { get; } = stride;
    public int Offset { get; } = offset;

    public ref T this[int row, int col] => ref Data[Offset + row * Stride + col];

    public MatrixView<T> Slice(int row, int col, int rows, int cols) =>
        new(Data, rows, cols, Stride, Offset + row * Stride + col);
}
