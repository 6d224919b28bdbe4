using System.Numerics;
using System.Runtime.CompilerServices;

namespace Flatness.Kernels.Tensors;

/// <summary>
/// A dense row-major matrix that owns its buffer. Element (r, c) lives at <c>Data[r * Cols + c]</c>.
/// Generic over float and double; the reference backend uses <c>Matrix&lt;double&gt;</c>.
/// </summary>
public sealed class Matrix<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Number of rows.</summary>
    public int Rows { get; }
    /// <summary>Number of columns.</summary>
    public int Cols { get; }
    /// <summary>The row-major buffer, Rows * Cols long (the matrix's own; writes go into the matrix).</summary>
    public T[] Data { get; }

    /// <summary>A rows x cols matrix of zeros.</summary>
    /// <exception cref="ArgumentOutOfRangeException">a negative dimension.</exception>
    /// <exception cref="OverflowException">rows * cols beyond an int.</exception>
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

    /// <summary>Rows * Cols.</summary>
    public int Length => Data.Length;
    /// <summary>The buffer as a span.</summary>
    public Span<T> Span => Data;
    /// <summary>The whole matrix as a view (stride Cols).</summary>
    public MatrixView<T> View => new(Data, Rows, Cols, Cols);

    /// <summary>Element (row, col), by reference (not bounds-checked beyond the buffer).</summary>
    public ref T this[int row, int col]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => ref Data[row * Cols + col];
    }

    /// <summary>Row <paramref name="row"/> as a span of Cols elements.</summary>
    public Span<T> Row(int row) => Data.AsSpan(row * Cols, Cols);

    /// <summary>The n x n identity.</summary>
    public static Matrix<T> Identity(int n)
    {
        var m = new Matrix<T>(n, n);
        for (int i = 0; i < n; i++) m[i, i] = T.One;
        return m;
    }

    /// <summary>A copy of a two-dimensional array, values[r, c] at (r, c).</summary>
    public static Matrix<T> FromRows(T[,] values)
    {
        var m = new Matrix<T>(values.GetLength(0), values.GetLength(1));
        for (int r = 0; r < m.Rows; r++)
            for (int c = 0; c < m.Cols; c++)
                m[r, c] = values[r, c];
        return m;
    }

    /// <summary>A deep copy.</summary>
    public Matrix<T> Clone() => new(Rows, Cols, (T[])Data.Clone());

    /// <summary>A new Cols x Rows matrix holding the transpose.</summary>
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

    /// <summary>Whether <paramref name="other"/> has the same rows and columns.</summary>
    public bool SameShape(Matrix<T> other) => Rows == other.Rows && Cols == other.Cols;

    /// <summary>The element type and the shape, for messages.</summary>
    public override string ToString() => $"Matrix<{typeof(T).Name}>({Rows}x{Cols})";
}

/// <summary>
/// A strided row-major view into a larger buffer: element (r, c) is at <c>Data[Offset + r * Stride + c]</c>,
/// with <c>Stride &gt;= Cols</c> (the BLAS leading dimension).
/// </summary>
public readonly struct MatrixView<T>(T[] data, int rows, int cols, int stride, int offset = 0)
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>The underlying buffer (shared, not copied).</summary>
    public T[] Data { get; } = data;
    /// <summary>Number of rows.</summary>
    public int Rows { get; } = rows;
    /// <summary>Number of columns.</summary>
    public int Cols { get; } = cols;
    /// <summary>Elements from one row to the next (at least Cols).</summary>
    public int Stride { get; } = stride;
    /// <summary>Index of element (0, 0) in <see cref="Data"/>.</summary>
    public int Offset { get; } = offset;

    /// <summary>Element (row, col), by reference.</summary>
    public ref T this[int row, int col] => ref Data[Offset + row * Stride + col];

    /// <summary>The rows x cols sub-view whose (0, 0) is this view's (row, col).</summary>
    public MatrixView<T> Slice(int row, int col, int rows, int cols) =>
        new(Data, rows, cols, Stride, Offset + row * Stride + col);
}
