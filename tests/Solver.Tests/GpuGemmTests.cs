using System.Numerics;
using Flatness.Kernels.Cpu;
using Flatness.Kernels.Gpu;

namespace Flatness.Tests;

[Collection("gpu")]
public sealed class GpuGemmTests(GpuFixture fixture)
{
    private static double[] Random(int count, int seed)
    {
        var rng = new Random(seed);
        var x = new double[count];
        for (int i = 0; i < count; i++) x[i] = rng.NextDouble() * 2 - 1;
        return x;
    }

    /// <summary>Triple loop in float64 over the same strided layout (the oracle).</summary>
    private static double[] Loop(Op opA, Op opB, int m, int n, int k, double alpha, double[] a, long aOff, int lda,
        double[] b, long bOff, int ldb, double beta, double[] c, long cOff, int ldc)
    {
        var r = (double[])c.Clone();
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int p = 0; p < k; p++)
                    s += a[aOff + (opA == Op.None ? i * lda + p : p * lda + i)] * b[bOff + (opB == Op.None ? p * ldb + j : j * ldb + p)];
                r[cOff + i * ldc + j] = alpha * s + beta * c[cOff + i * ldc + j];
            }
        return r;
    }

    private static T[] To<T>(double[] x) where T : unmanaged, IFloatingPointIeee754<T> => x.Select(T.CreateChecked).ToArray();

    private static double MaxRelative<T>(T[] got, double[] want) where T : unmanaged, IFloatingPointIeee754<T>
    {
        double scale = want.Max(Math.Abs), worst = 0;
        for (int i = 0; i < want.Length; i++) worst = Math.Max(worst, Math.Abs(double.CreateChecked(got[i]) - want[i]));
        return worst / Math.Max(scale, 1e-300);
    }

    private void CheckGemm<T>(Op opA, Op opB, int m, int n, int k, int maxTd, double tolerance, GpuContext? context = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var ops = (context ?? fixture.Context).Ops<T>();
        // Strided operands inside larger buffers: offset 3, leading dimension = width + 2.
        int aRows = opA == Op.None ? m : k, aCols = opA == Op.None ? k : m;
        int bRows = opB == Op.None ? k : n, bCols = opB == Op.None ? n : k;
        int lda = aCols + 2, ldb = bCols + 1, ldc = n + 3;
        var a = Random(3 + aRows * lda, 1);
        var b = Random(5 + bRows * ldb, 2);
        var c = Random(2 + m * ldc, 3);
        double alpha = 0.75, beta = -0.5;
        var want = Loop(opA, opB, m, n, k, alpha, a, 3, lda, b, 5, ldb, beta, c, 2, ldc);

        using var da = ops.Upload(To<T>(a), "A");
        using var db = ops.Upload(To<T>(b), "B");
        using var dc = ops.Upload(To<T>(c), "C");
        int saved = ops.MaxTileThreadsPerSide;
        ops.MaxTileThreadsPerSide = maxTd;
        try
        {
            ops.Gemm(opA, opB, T.CreateChecked(alpha), new DeviceMatrix<T>(da, 3, aRows, aCols, lda),
                new DeviceMatrix<T>(db, 5, bRows, bCols, ldb), T.CreateChecked(beta), new DeviceMatrix<T>(dc, 2, m, n, ldc));
        }
        finally { ops.MaxTileThreadsPerSide = saved; }
        var got = dc.ToArray();
        Assert.True(MaxRelative(got, want) < tolerance, $"{opA}/{opB} {m}x{n}x{k}: max relative error {MaxRelative(got, want):E2}");
    }

    public static TheoryData<Op, Op> Transposes => new()
    {
        { Op.None, Op.None }, { Op.None, Op.Transpose }, { Op.Transpose, Op.None }, { Op.Transpose, Op.Transpose },
    };

    [Theory]
    [MemberData(nameof(Transposes))]
    public void GemmMatchesTripleLoopFloat64(Op opA, Op opB)
    {
        CheckGemm<double>(opA, opB, 37, 29, 45, 16, 1e-13);
        CheckGemm<double>(opA, opB, 1, 70, 9, 16, 1e-13);
        CheckGemm<double>(opA, opB, 66, 3, 300, 16, 1e-13); // few tiles, long K: split-K path
        CheckGemm<double>(opA, opB, 130, 140, 50, 16, 1e-13); // on a GPU: 16x16 threads, 128x128 tiles
    }

    [Theory]
    [MemberData(nameof(Transposes))]
    public void GemmMatchesTripleLoopFloat32(Op opA, Op opB)
    {
        CheckGemm<float>(opA, opB, 37, 29, 45, 16, 1e-5);
        CheckGemm<float>(opA, opB, 66, 3, 300, 16, 1e-5);
    }

    /// <summary>Groups of several threads (2x2 and 4x4 per group: interleaved register tiles, cooperative loads,
    /// barriers) on a CPU accelerator that simulates 16-thread groups.</summary>
    [SkippableFact]
    public void GemmWithCooperatingThreadsMatchesTripleLoop()
    {
        Skip.IfNot(fixture.Kind == GpuKind.Cpu, "on a real device the other tests cover this with its own group sizes");
        using var context = GpuContext.CreateCpu(16);
        foreach (var (opA, opB) in new[] { (Op.None, Op.None), (Op.Transpose, Op.Transpose), (Op.None, Op.Transpose), (Op.Transpose, Op.None) })
        {
            CheckGemm<double>(opA, opB, 35, 33, 20, 4, 1e-13, context);   // 4x4 threads, 32x32 tiles
            CheckGemm<float>(opA, opB, 17, 40, 11, 2, 1e-5, context);     // 2x2 threads, 16x16 tiles
        }
    }

    [SkippableFact]
    public void ReductionsWithCooperatingThreadsAreExact()
    {
        Skip.IfNot(fixture.Kind == GpuKind.Cpu, "on a real device the other tests cover this with its own group sizes");
        using var context = GpuContext.CreateCpu(16);
        var ops = context.Ops<double>();
        Assert.Equal(16, ops.ReduceGroup);
        var x = Random(1000, 7);
        var y = Random(1000, 8);
        using var dx = ops.Upload(x, "x");
        using var dy = ops.Upload(y, "y");
        using var output = ops.Allocate(2, "out");
        ops.Dot(dx, 3, dy, 5, 990, 0.5, output, 0);
        ops.Sum(dx, 0, 1000, 1.0, output, 1);
        var got = output.ToArray();
        double dot = 0, sum = 0;
        for (int t = 0; t < 990; t++) dot += x[3 + t] * y[5 + t];
        for (int t = 0; t < 1000; t++) sum += x[t];
        Assert.Equal(0.5 * dot, got[0], 1e-12);
        Assert.Equal(sum, got[1], 1e-12);
    }
}
