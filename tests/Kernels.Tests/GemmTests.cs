using System.Numerics;
using Flatness.Kernels.Cpu;
using Flatness.Kernels.Tensors;

namespace Flatness.Tests;

/// <summary>
/// GEMM against a plain float64 triple loop: every transpose combination, odd and prime shapes, strided views
/// inside larger buffers (elements outside the view must stay untouched), alpha/beta combinations, beta = 0 over
/// NaN, all vector widths this machine accelerates, the packed and unpacked paths, one and two threads, and block
/// sizes small enough (or products large enough) to cross every blocking boundary.
/// </summary>
public class GemmTests
{
    private const float Sentinel = 1234.5f;

    /// <summary>C = alpha op(A) op(B) + beta C in float64; beta = 0 ignores C (BLAS). Also returns
    /// max over (i, j) of |alpha| sum_p |op(A)[i,p] op(B)[p,j]| + |beta C[i,j]|, the scale of the rounding error.</summary>
    private static double[] Reference(Op opA, Op opB, int m, int n, int k, double alpha, double[] a, int lda,
        double[] b, int ldb, double beta, double[] c, int ldc, out double scale)
    {
        // Dense copies of op(A) (m x k) and op(B) (k x n), then the i-p-j triple loop.
        var opa = new double[m * k];
        var opb = new double[k * n];
        for (int i = 0; i < m; i++)
            for (int p = 0; p < k; p++) opa[i * k + p] = opA == Op.None ? a[i * lda + p] : a[p * lda + i];
        for (int p = 0; p < k; p++)
            for (int j = 0; j < n; j++) opb[p * n + j] = opB == Op.None ? b[p * ldb + j] : b[j * ldb + p];

        var result = (double[])c.Clone();
        var sum = new double[n];
        var magnitude = new double[n];
        scale = 0;
        for (int i = 0; i < m; i++)
        {
            Array.Clear(sum);
            Array.Clear(magnitude);
            for (int p = 0; p < k; p++)
            {
                double av = opa[i * k + p];
                int row = p * n;
                for (int j = 0; j < n; j++)
                {
                    double product = av * opb[row + j];
                    sum[j] += product;
                    magnitude[j] += Math.Abs(product);
                }
            }
            for (int j = 0; j < n; j++)
            {
                double old = c[i * ldc + j];
                result[i * ldc + j] = beta == 0 ? alpha * sum[j] : alpha * sum[j] + beta * old;
                scale = Math.Max(scale, Math.Abs(alpha) * magnitude[j] + (beta == 0 ? 0 : Math.Abs(beta * old)));
            }
        }
        return result;
    }

    private sealed record Case(Op OpA, Op OpB, int M, int N, int K, double Alpha, double Beta,
        int PadA, int PadB, int PadC, bool NanInC = false);

    /// <summary>The float64 answer of a case, reusable by another precision given the same random inputs.</summary>
    private sealed record Expected(double[] C, double Scale);

    /// <summary>Runs one case through <see cref="Gemm"/> and returns the worst error relative to max |alpha||A||B| + |beta C|.</summary>
    private static double Check<T>(Case t, Random random, GemmIsa isa, GemmBlocking? blocking, int threads)
        where T : unmanaged, IFloatingPointIeee754<T>
        => Check<T>(t, random, isa, blocking, threads, null, out _);

    /// <summary>
    /// As above; inputs are float32-representable, so two precisions fed from equally seeded generators see the same
    /// numbers and can share the float64 reference (<paramref name="known"/>, computed when null).
    /// </summary>
    private static double Check<T>(Case t, Random random, GemmIsa isa, GemmBlocking? blocking, int threads,
        Expected? known, out Expected computed)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int aRows = t.OpA == Op.None ? t.M : t.K, aCols = t.OpA == Op.None ? t.K : t.M;
        int bRows = t.OpB == Op.None ? t.K : t.N, bCols = t.OpB == Op.None ? t.N : t.K;
        int lda = aCols + t.PadA, ldb = bCols + t.PadB, ldc = t.N + t.PadC;
        // Views start inside a larger buffer (offset one row and one column) and leave a margin after.
        T[] a = Buffer<T>(random, aRows, aCols, lda, out int offA);
        T[] b = Buffer<T>(random, bRows, bCols, ldb, out int offB);
        T[] c = Buffer<T>(random, t.M, t.N, ldc, out int offC);
        if (t.NanInC)
            for (int i = 0; i < t.M; i++)
                for (int j = 0; j < t.N; j++) c[offC + i * ldc + j] = T.NaN;
        T[] before = (T[])c.Clone();

        double[] ad = ToDouble(a, offA), bd = ToDouble(b, offB), cd = ToDouble(c, offC);
        computed = known ?? new Expected(
            Reference(t.OpA, t.OpB, t.M, t.N, t.K, t.Alpha, ad, lda, bd, ldb, t.Beta, cd, ldc, out double s), s);
        double[] expected = computed.C;
        double scale = computed.Scale;

        T alpha = T.CreateTruncating(t.Alpha), beta = T.CreateTruncating(t.Beta);
        var spanA = a.AsSpan(offA, Extent(aRows, aCols, lda));
        var spanB = b.AsSpan(offB, Extent(bRows, bCols, ldb));
        var spanC = c.AsSpan(offC, Extent(t.M, t.N, ldc));
        Gemm.Compute(t.OpA, t.OpB, t.M, t.N, t.K, alpha, spanA, lda, spanB, ldb, beta, spanC, ldc,
            isa, blocking ?? DefaultBlocking<T>(isa), threads);

        double worst = 0;
        for (int idx = 0; idx < c.Length; idx++)
        {
            int rel = idx - offC;
            bool inside = rel >= 0 && rel < t.M * ldc && rel % ldc < t.N;
            if (!inside)
            {
                if (!c[idx].Equals(before[idx]))
                    Assert.Fail($"{t}: element {idx} outside the view of C was written");
                continue;
            }
            double got = double.CreateTruncating(c[idx]);
            if (double.IsNaN(got))
                Assert.Fail($"{t}: C[{rel / ldc},{rel % ldc}] is NaN");
            worst = Math.Max(worst, Math.Abs(got - expected[rel]));
        }
        return scale == 0 ? worst : worst / scale;
    }

    private static int Extent(int rows, int cols, int ld) => rows == 0 || cols == 0 ? 0 : (rows - 1) * ld + cols;

    /// <summary>A buffer one row and one column larger on each side than the rows x ld view, all random (values
    /// exact in float32) except the padding which holds a sentinel.</summary>
    private static T[] Buffer<T>(Random random, int rows, int cols, int ld, out int offset)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        offset = ld + 1;
        var data = new T[(rows + 2) * ld + 2];
        for (int i = 0; i < data.Length; i++) data[i] = T.CreateTruncating(Sentinel);
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < cols; j++)
                data[offset + r * ld + j] = T.CreateTruncating((float)(2 * random.NextDouble() - 1));
        return data;
    }

    private static double[] ToDouble<T>(T[] data, int offset) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var d = new double[data.Length - offset];
        for (int i = 0; i < d.Length; i++) d[i] = double.CreateTruncating(data[offset + i]);
        return d;
    }

    private static GemmBlocking DefaultBlocking<T>(GemmIsa isa) where T : unmanaged, IFloatingPointIeee754<T> =>
        isa == Gemm.Isa ? Gemm.Blocking<T>() : GemmBlocking.Default<T>(isa);

    /// <summary>Blocks of a few tiles, so that small products cross every block boundary.</summary>
    private static GemmBlocking Tiny<T>(GemmIsa isa, bool direct) where T : unmanaged
    {
        int nr = 2 * Gemm.Lanes<T>(isa);
        // The unpacked path needs k <= KC: give it a KC above every random depth.
        return new GemmBlocking(6, nr, KC: direct ? 64 : 7, MC: 12, NC: 2 * nr,
            DirectMaxWork: direct ? long.MaxValue : 0, ParallelMinWork: 0);
    }

    private static double Tolerance<T>() => typeof(T) == typeof(float) ? 1e-5 : 1e-12;

    public static IEnumerable<object[]> Widths()
    {
        foreach (GemmIsa isa in Enum.GetValues<GemmIsa>())
            if (Gemm.IsSupported(isa))
                yield return [isa];
    }

    private static readonly int[] Dims = [1, 2, 3, 5, 6, 7, 8, 11, 13, 16, 17, 19, 23, 31, 32, 33, 37];
    private static readonly double[] Alphas = [1, -0.5, 2.25];
    private static readonly double[] Betas = [0, 1, -1.5];

    private static void RandomShapes<T>(GemmIsa isa, int seed) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var random = new Random(seed);
        double worst = 0;
        for (int trial = 0; trial < 160; trial++)
        {
            var t = new Case((Op)random.Next(2), (Op)random.Next(2),
                Dims[random.Next(Dims.Length)], Dims[random.Next(Dims.Length)], Dims[random.Next(Dims.Length)],
                Alphas[random.Next(Alphas.Length)], Betas[random.Next(Betas.Length)],
                PadA: random.Next(3) * 3, PadB: random.Next(3) * 5, PadC: random.Next(3) * 2);
            if (t.Beta == 0) t = t with { NanInC = random.Next(2) == 0 };
            int path = trial % 3; // 0: default blocking, 1: tiny packed blocks, 2: A unpacked (small-product path)
            var blocking = path == 0 ? null : Tiny<T>(isa, direct: path == 2);
            int threads = 1 + trial % 2;
            double error = Check<T>(t, random, isa, blocking, threads);
            Assert.True(error <= Tolerance<T>(), $"{t} path {path} threads {threads}: relative error {error:G3}");
            worst = Math.Max(worst, error);
        }
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void RandomShapesFloat64(GemmIsa isa) => RandomShapes<double>(isa, 11);

    [Theory]
    [MemberData(nameof(Widths))]
    public void RandomShapesFloat32(GemmIsa isa) => RandomShapes<float>(isa, 12);

    /// <summary>Shapes that cross the default KC, MC and NC and both threads' bands, on each path.</summary>
    [Theory]
    [InlineData(Op.None, Op.None, 301, 317, 289, 1.0, 0.0)]
    [InlineData(Op.Transpose, Op.None, 149, 97, 521, -0.5, 1.0)]
    [InlineData(Op.None, Op.Transpose, 7, 4133, 259, 2.0, -1.5)]
    [InlineData(Op.Transpose, Op.Transpose, 157, 151, 263, 1.0, 0.5)]
    [InlineData(Op.None, Op.None, 50, 2003, 50, 1.0, 0.0)]
    [InlineData(Op.Transpose, Op.None, 101, 499, 97, 1.5, 1.0)]
    public void LargeProductsCrossEveryBlock(Op opA, Op opB, int m, int n, int k, double alpha, double beta)
    {
        var t = new Case(opA, opB, m, n, k, alpha, beta, PadA: 3, PadB: 1, PadC: 5, NanInC: beta == 0);
        double e64 = Check<double>(t, new Random(m + n + k), Gemm.Isa, null, 2, null, out var expected);
        Assert.True(e64 <= 1e-12, $"{t} float64: relative error {e64:G3}");
        double e32 = Check<float>(t, new Random(m + n + k), Gemm.Isa, null, 2, expected, out _);
        Assert.True(e32 <= 1e-5, $"{t} float32: relative error {e32:G3}");
    }

    [Fact]
    public void BetaZeroOverwritesNaN()
    {
        var random = new Random(3);
        foreach (var (m, n, k) in new[] { (1, 1, 1), (7, 9, 5), (64, 64, 64), (130, 70, 300) })
        {
            var t = new Case(Op.None, Op.None, m, n, k, 1.0, 0.0, 0, 0, 0, NanInC: true);
            Assert.True(Check<double>(t, random, Gemm.Isa, null, 2) <= 1e-12);
            Assert.True(Check<float>(t, random, Gemm.Isa, null, 2) <= 1e-5);
        }
    }

    [Fact]
    public void AlphaZeroOrEmptyDepthOnlyScalesC()
    {
        double[] a = [double.NaN, 1, 2, 3], b = [4, double.NaN, 6, 7];
        double[] c = [1, 2, 3, 4];
        Gemm.Compute(Op.None, Op.None, 2, 2, 2, 0.0, a, 2, b, 2, 3.0, c, 2);
        Assert.Equal(new double[] { 3, 6, 9, 12 }, c);
        Gemm.Compute(Op.None, Op.None, 2, 2, 0, 1.0, [], 0, [], 2, 0.5, c, 2);
        Assert.Equal(new double[] { 1.5, 3, 4.5, 6 }, c);
        double[] nan = [double.NaN, double.NaN, double.NaN, double.NaN];
        Gemm.Compute(Op.None, Op.None, 2, 2, 0, 1.0, [], 0, [], 2, 0.0, nan, 2);
        Assert.Equal(new double[] { 0, 0, 0, 0 }, nan);
    }

    [Fact]
    public void EmptyOutputsAreNoOps()
    {
        float[] c = [5f];
        Gemm.Compute(Op.None, Op.None, 0, 1, 3, 1f, [], 3, [1f, 2f, 3f], 1, 0f, c, 1);
        Gemm.Compute(Op.None, Op.None, 1, 0, 3, 1f, [1f, 2f, 3f], 3, [], 0, 0f, c, 1);
        Assert.Equal(5f, c[0]);
    }

    [Fact]
    public void MultiplyHandlesTransposes()
    {
        var random = new Random(5);
        var a = new Matrix<double>(37, 23, GemmBenchmarkless.RandomArray(random, 37 * 23));
        var b = new Matrix<double>(37, 41, GemmBenchmarkless.RandomArray(random, 37 * 41));
        var c = Gemm.Multiply(a, b, Op.Transpose);
        Assert.Equal((23, 41), (c.Rows, c.Cols));
        for (int i = 0; i < 23; i++)
            for (int j = 0; j < 41; j++)
            {
                double sum = 0;
                for (int p = 0; p < 37; p++) sum += a[p, i] * b[p, j];
                Assert.Equal(sum, c[i, j], 1e-12);
            }
        Assert.Throws<ArgumentException>(() => Gemm.Multiply(a, b));
    }

    [Fact]
    public void ConcurrentCallersGetCorrectResults()
    {
        // Several threads at once: one holds the worker pool, the others run alone; all must be right.
        var errors = new double[4];
        Parallel.For(0, errors.Length, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            var random = new Random(100 + i);
            var t = new Case(Op.None, (Op)(i % 2), 97 + i, 131, 89, 1.0, 0.5, 1, 2, 3);
            for (int repeat = 0; repeat < 5; repeat++)
                errors[i] = Math.Max(errors[i], Check<double>(t, random, Gemm.Isa, null, 2));
        });
        Assert.All(errors, e => Assert.True(e <= 1e-12, $"relative error {e:G3}"));
    }

    [Fact]
    public void InvalidArgumentsNameTheCulprit()
    {
        double[] a = new double[6], b = new double[6], c = new double[4];
        void Call(Op opA, int m, int n, int k, int lda, int ldb, int ldc, double[]? aa = null, double[]? cc = null) =>
            Gemm.Compute(opA, Op.None, m, n, k, 1.0, aa ?? a, lda, b, ldb, 0.0, cc ?? c, ldc);

        Assert.Equal("m", Assert.Throws<ArgumentOutOfRangeException>(() => Call(Op.None, -1, 2, 3, 3, 2, 2)).ParamName);
        Assert.Equal("n", Assert.Throws<ArgumentOutOfRangeException>(() => Call(Op.None, 2, -2, 3, 3, 2, 2)).ParamName);
        Assert.Equal("k", Assert.Throws<ArgumentOutOfRangeException>(() => Call(Op.None, 2, 2, -3, 3, 2, 2)).ParamName);
        Assert.Equal("lda", Assert.Throws<ArgumentOutOfRangeException>(() => Call(Op.None, 2, 2, 3, 2, 2, 2)).ParamName);
        // Transposed A is stored k x m: lda must cover m = 2 columns, 3 rows.
        Assert.Equal("lda", Assert.Throws<ArgumentOutOfRangeException>(() => Call(Op.Transpose, 2, 2, 3, 1, 2, 2)).ParamName);
        Assert.Equal("ldb", Assert.Throws<ArgumentOutOfRangeException>(() => Call(Op.None, 2, 2, 3, 3, 1, 2)).ParamName);
        Assert.Equal("ldc", Assert.Throws<ArgumentOutOfRangeException>(() => Call(Op.None, 2, 2, 3, 3, 2, 1)).ParamName);
        var shortA = Assert.Throws<ArgumentException>(() => Call(Op.None, 2, 2, 3, 3, 2, 2, aa: new double[5]));
        Assert.Equal("a", shortA.ParamName);
        Assert.Contains("needs 6", shortA.Message);
        var shortC = Assert.Throws<ArgumentException>(() => Call(Op.None, 2, 2, 3, 3, 2, 3, cc: new double[4]));
        Assert.Equal("c", shortC.ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.MaxThreads = 0);
    }

    [Fact]
    public void BlockingThatDoesNotFitTheKernelIsRejected()
    {
        var good = Gemm.Blocking<double>();
        Assert.Throws<ArgumentException>(() => Gemm.Compute(Op.None, Op.None, 1, 1, 1, 1.0, [1.0], 1, [1.0], 1, 0.0,
            new double[1], 1, Gemm.Isa, good with { MR = 4 }, 1));
        Assert.Throws<ArgumentException>(() => Gemm.Compute(Op.None, Op.None, 1, 1, 1, 1.0, [1.0], 1, [1.0], 1, 0.0,
            new double[1], 1, Gemm.Isa, good with { MC = good.MR + 1 }, 1));
    }
}

internal static class GemmBenchmarkless
{
    public static double[] RandomArray(Random random, int length)
    {
        var values = new double[length];
        for (int i = 0; i < length; i++) values[i] = 2 * random.NextDouble() - 1;
        return values;
    }
}
