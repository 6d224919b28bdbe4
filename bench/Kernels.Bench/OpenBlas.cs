using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Flatness.Kernels.Cpu;

namespace Flatness.Bench;

/// <summary>
/// OpenBLAS GEMM as a baseline, bound at run time (cblas, row-major) from the system library. When no OpenBLAS
/// is installed, <see cref="IsAvailable"/> is false and <see cref="Status"/> says why; baselines are then skipped.
/// OPENBLAS_CORETYPE (which forces a kernel family) is read by the library when it loads, so compare settings in
/// separate processes.
/// </summary>
internal static unsafe class OpenBlas
{
    private const int CblasRowMajor = 101, CblasNoTrans = 111, CblasTrans = 112, CblasUpper = 121;

    private static readonly string[] Candidates =
    [
        "libopenblas.so.0",
        "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0",
        "/usr/lib/x86_64-linux-gnu/libopenblas.so.0",
        "libopenblas.so",
        "libopenblas.dylib",
        "libopenblas.dll",
    ];

    private static readonly delegate* unmanaged<int, int, int, int, int, int, double, double*, int, double*, int, double, double*, int, void> s_dgemm;
    private static readonly delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void> s_sgemm;
    private static readonly delegate* unmanaged<int, int, int, int, int, double, double*, int, double, double*, int, void> s_dsyrk;
    private static readonly delegate* unmanaged<int, int, int, int, int, float, float*, int, float, float*, int, void> s_ssyrk;
    private static readonly delegate* unmanaged<int, void> s_setThreads;
    private static readonly delegate* unmanaged<byte*> s_config;

    static OpenBlas()
    {
        foreach (string candidate in Candidates)
        {
            if (!NativeLibrary.TryLoad(candidate, out nint handle)) continue;
            if (NativeLibrary.TryGetExport(handle, "cblas_dgemm", out nint dgemm)
                && NativeLibrary.TryGetExport(handle, "cblas_sgemm", out nint sgemm)
                && NativeLibrary.TryGetExport(handle, "openblas_set_num_threads", out nint setThreads))
            {
                s_dgemm = (delegate* unmanaged<int, int, int, int, int, int, double, double*, int, double*, int, double, double*, int, void>)dgemm;
                s_sgemm = (delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void>)sgemm;
                s_setThreads = (delegate* unmanaged<int, void>)setThreads;
                if (NativeLibrary.TryGetExport(handle, "cblas_dsyrk", out nint dsyrk) && NativeLibrary.TryGetExport(handle, "cblas_ssyrk", out nint ssyrk))
                {
                    s_dsyrk = (delegate* unmanaged<int, int, int, int, int, double, double*, int, double, double*, int, void>)dsyrk;
                    s_ssyrk = (delegate* unmanaged<int, int, int, int, int, float, float*, int, float, float*, int, void>)ssyrk;
                }
                if (NativeLibrary.TryGetExport(handle, "openblas_get_config", out nint config))
                    s_config = (delegate* unmanaged<byte*>)config;
                IsAvailable = true;
                Status = $"OpenBLAS from {candidate}";
                return;
            }
        }
        Status = "OpenBLAS not found (install libopenblas0-pthread); the OpenBLAS baseline is skipped";
    }

    public static bool IsAvailable { get; }

    /// <summary>Where the library came from, or why it is missing.</summary>
    public static string Status { get; }

    /// <summary>The library's build configuration and the kernel family it picked (openblas_get_config).</summary>
    public static string Config => s_config == null ? "unknown" : Marshal.PtrToStringAnsi((nint)s_config()) ?? "unknown";

    public static void SetThreads(int threads)
    {
        Require();
        s_setThreads(threads);
    }

    /// <summary>Row-major C = alpha op(A) op(B) + beta C, the argument convention of <see cref="Gemm.Compute{T}"/>.</summary>
    public static void Gemm<T>(Op opA, Op opB, int m, int n, int k, T alpha, T[] a, int lda, T[] b, int ldb,
        T beta, T[] c, int ldc) where T : unmanaged
    {
        Require();
        int ta = opA == Op.None ? CblasNoTrans : CblasTrans, tb = opB == Op.None ? CblasNoTrans : CblasTrans;
        if (typeof(T) == typeof(double))
        {
            fixed (double* pa = (double[])(object)a, pb = (double[])(object)b, pc = (double[])(object)c)
                s_dgemm(CblasRowMajor, ta, tb, m, n, k, Unsafe.As<T, double>(ref alpha), pa, lda, pb, ldb, Unsafe.As<T, double>(ref beta), pc, ldc);
        }
        else if (typeof(T) == typeof(float))
        {
            fixed (float* pa = (float[])(object)a, pb = (float[])(object)b, pc = (float[])(object)c)
                s_sgemm(CblasRowMajor, ta, tb, m, n, k, Unsafe.As<T, float>(ref alpha), pa, lda, pb, ldb, Unsafe.As<T, float>(ref beta), pc, ldc);
        }
        else
        {
            throw new NotSupportedException($"OpenBLAS GEMM takes float or double, not {typeof(T).Name}");
        }
    }

    /// <summary>Row-major upper triangle of C = alpha A^T A + beta C, A of k rows and n columns (cblas_?syrk, Upper, Trans).</summary>
    public static void SyrkTransposed<T>(int n, int k, T alpha, T[] a, int lda, T beta, T[] c, int ldc) where T : unmanaged
    {
        Require();
        if (s_dsyrk == null) throw new InvalidOperationException("this OpenBLAS exports no cblas_dsyrk");
        if (typeof(T) == typeof(double))
        {
            fixed (double* pa = (double[])(object)a, pc = (double[])(object)c)
                s_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, n, k, Unsafe.As<T, double>(ref alpha), pa, lda, Unsafe.As<T, double>(ref beta), pc, ldc);
        }
        else if (typeof(T) == typeof(float))
        {
            fixed (float* pa = (float[])(object)a, pc = (float[])(object)c)
                s_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, n, k, Unsafe.As<T, float>(ref alpha), pa, lda, Unsafe.As<T, float>(ref beta), pc, ldc);
        }
        else
        {
            throw new NotSupportedException($"OpenBLAS SYRK takes float or double, not {typeof(T).Name}");
        }
    }

    private static void Require()
    {
        if (!IsAvailable) throw new InvalidOperationException(Status);
    }
}
