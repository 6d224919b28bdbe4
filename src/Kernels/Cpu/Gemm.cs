using System.Numerics;
using System.Runtime.Intrinsics;
using Flatness.Kernels.Tensors;

namespace Flatness.Kernels.Cpu;

/// <summary>Whether a GEMM operand is used as stored or transposed.</summary>
public enum Op
{
    /// <summary>The operand as stored.</summary>
    None,
    /// <summary>The operand's transpose.</summary>
    Transpose,
}

/// <summary>
/// General matrix multiply on row-major data: C = alpha op(A) op(B) + beta C, with op(A) m x k and op(B) k x n.
/// Leading dimensions are row strides (lda &gt;= columns of A as stored). BLAS semantics: beta = 0 never reads C
/// (NaN there is overwritten), alpha = 0 or k = 0 never reads A or B. C must not share elements with A or B.
/// <para>
/// Implementation: packed panels, a 6 x (2 vectors) FMA micro-kernel on the widest accelerated vector type
/// (chosen once per process), cache blocking from <see cref="GemmBlocking"/>, an unpacked path for small and
/// tall-skinny products, and long-lived worker threads for large ones.
/// </para>
/// </summary>
public static class Gemm
{
    private static int s_maxThreads = Environment.ProcessorCount;

    /// <summary>The vector width the kernels run on in this process.</summary>
    public static GemmIsa Isa { get; } =
        Vector512.IsHardwareAccelerated ? GemmIsa.Vector512
        : Vector256.IsHardwareAccelerated ? GemmIsa.Vector256
        : GemmIsa.Vector128;

    /// <summary>
    /// Most threads one call may use in this process (default: the processor count); <see cref="CpuThreads.Limit"/> lowers it
    /// for the calls of one thread. Small products use one.
    /// </summary>
    public static int MaxThreads
    {
        get => Volatile.Read(ref s_maxThreads);
        set
        {
            if (value < 1)
                throw new ArgumentOutOfRangeException(nameof(MaxThreads), $"Gemm.MaxThreads must be at least 1, got {value}");
            Volatile.Write(ref s_maxThreads, value);
        }
    }

    /// <summary>The blocking used for precision <typeparamref name="T"/> on <see cref="Isa"/>.</summary>
    public static GemmBlocking Blocking<T>() where T : unmanaged, IFloatingPointIeee754<T> => Defaults<T>.Blocking;

    /// <summary>C = alpha op(A) op(B) + beta C on this process's vector width and blocking, with <see cref="CpuThreads.Available"/> threads at most.</summary>
    /// <exception cref="ArgumentException">a dimension, leading dimension or buffer that does not fit the shapes.</exception>
    public static void Compute<T>(Op opA, Op opB, int m, int n, int k, T alpha,
        ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
        => Compute(opA, opB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, Isa, Defaults<T>.Blocking, CpuThreads.Available);

    /// <summary>
    /// <see cref="Compute{T}(Op, Op, int, int, int, T, ReadOnlySpan{T}, int, ReadOnlySpan{T}, int, T, Span{T}, int)"/>
    /// with an explicit vector width, blocking and thread count (tests and tuning).
    /// </summary>
    internal static unsafe void Compute<T>(Op opA, Op opB, int m, int n, int k, T alpha,
        ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int ldc,
        GemmIsa isa, GemmBlocking blocking, int threads)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Validate(opA, opB, m, n, k, a, lda, b, ldb, c, ldc);
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double))
            throw new NotSupportedException($"Gemm supports float and double, not {typeof(T).Name}");
        if (!IsSupported(isa))
            throw new NotSupportedException($"vector width {isa} is not accelerated on this machine");
        blocking.Validate(2 * Lanes<T>(isa));
        if (threads < 1)
            throw new ArgumentOutOfRangeException(nameof(threads), $"thread count must be at least 1, got {threads}");
        if (m == 0 || n == 0)
            return;

        if (alpha == T.Zero || k == 0)
        {
            ScaleC(m, n, beta, c, ldc);
            return;
        }

        fixed (T* pa = a)
        fixed (T* pb = b)
        fixed (T* pc = c)
        {
            switch (isa)
            {
                case GemmIsa.Vector512:
                    GemmDriver<T, Vector512<T>, Simd512<T>>.Compute(opA, opB, m, n, k, alpha, pa, lda, pb, ldb,
                        beta, pc, ldc, blocking, threads);
                    break;
                case GemmIsa.Vector256:
                    GemmDriver<T, Vector256<T>, Simd256<T>>.Compute(opA, opB, m, n, k, alpha, pa, lda, pb, ldb,
                        beta, pc, ldc, blocking, threads);
                    break;
                default:
                    GemmDriver<T, Vector128<T>, Simd128<T>>.Compute(opA, opB, m, n, k, alpha, pa, lda, pb, ldb,
                        beta, pc, ldc, blocking, threads);
                    break;
            }
        }
    }

    /// <summary>Returns op(A) op(B) as a new matrix.</summary>
    public static Matrix<T> Multiply<T>(Matrix<T> a, Matrix<T> b, Op opA = Op.None, Op opB = Op.None)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int m = opA == Op.None ? a.Rows : a.Cols;
        int ka = opA == Op.None ? a.Cols : a.Rows;
        int kb = opB == Op.None ? b.Rows : b.Cols;
        int n = opB == Op.None ? b.Cols : b.Rows;
        if (ka != kb)
            throw new ArgumentException($"inner dimensions differ: op(A) is {m}x{ka}, op(B) is {kb}x{n}");
        var c = new Matrix<T>(m, n);
        Compute(opA, opB, m, n, ka, T.One, a.Data, a.Cols, b.Data, b.Cols, T.Zero, c.Data, n);
        return c;
    }

    internal static bool IsSupported(GemmIsa isa) => isa switch
    {
        GemmIsa.Vector512 => Vector512.IsHardwareAccelerated,
        GemmIsa.Vector256 => Vector256.IsHardwareAccelerated,
        _ => true,
    };

    internal static int Lanes<T>(GemmIsa isa) where T : unmanaged => isa switch
    {
        GemmIsa.Vector512 => Vector512<T>.Count,
        GemmIsa.Vector256 => Vector256<T>.Count,
        _ => Vector128<T>.Count,
    };

    private static class Defaults<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly GemmBlocking Blocking = GemmBlocking.Default<T>(Isa);
    }

    /// <summary>C = beta C (beta = 0 writes zeros without reading C).</summary>
    private static void ScaleC<T>(int m, int n, T beta, Span<T> c, int ldc) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (beta == T.One) return;
        for (int i = 0; i < m; i++)
        {
            Span<T> row = c.Slice(i * ldc, n);
            if (beta == T.Zero) row.Clear();
            else System.Numerics.Tensors.TensorPrimitives.Multiply(row, beta, row);
        }
    }

    private static void Validate<T>(Op opA, Op opB, int m, int n, int k,
        ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, Span<T> c, int ldc)
    {
        if (opA is not (Op.None or Op.Transpose))
            throw new ArgumentOutOfRangeException(nameof(opA), $"opA must be Op.None or Op.Transpose, got {opA}");
        if (opB is not (Op.None or Op.Transpose))
            throw new ArgumentOutOfRangeException(nameof(opB), $"opB must be Op.None or Op.Transpose, got {opB}");
        if (m < 0) throw new ArgumentOutOfRangeException(nameof(m), $"GEMM dimension m must be >= 0, got {m}");
        if (n < 0) throw new ArgumentOutOfRangeException(nameof(n), $"GEMM dimension n must be >= 0, got {n}");
        if (k < 0) throw new ArgumentOutOfRangeException(nameof(k), $"GEMM dimension k must be >= 0, got {k}");
        // Stored shapes (row-major): A is m x k or k x m, B is k x n or n x k, C is m x n.
        CheckOperand("A", nameof(lda), opA == Op.None ? m : k, opA == Op.None ? k : m, a.Length, lda, opA);
        CheckOperand("B", nameof(ldb), opB == Op.None ? k : n, opB == Op.None ? n : k, b.Length, ldb, opB);
        CheckOperand("C", nameof(ldc), m, n, c.Length, ldc, Op.None);
    }

    private static void CheckOperand(string name, string ldName, int rows, int cols, int length, int ld, Op op)
    {
        string stored = op == Op.None ? name : $"{name} (stored, before transposition)";
        if (ld < 0)
            throw new ArgumentOutOfRangeException(ldName, $"{ldName} = {ld} is negative");
        if (ld < cols)
            throw new ArgumentOutOfRangeException(ldName,
                $"{ldName} = {ld} is smaller than the {cols} columns of {stored}, a {rows} x {cols} row-major matrix");
        if (rows == 0 || cols == 0) return;
        long needed = (long)(rows - 1) * ld + cols;
        if (length < needed)
            throw new ArgumentException(
                $"{name} holds {length} elements but a {rows} x {cols} row-major matrix with {ldName} = {ld} needs {needed}",
                name.ToLowerInvariant());
    }
}
