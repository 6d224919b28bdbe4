using Flatness.Kernels.Cpu;
using Flatness.Kernels.Reference;
using Flatness.Kernels.Tensors;

namespace Flatness.Tests;

/// <summary>Each CPU operator against its plain float64 definition (<see cref="OperatorsTestData"/>, <see cref="ReferenceBlas"/>).</summary>
public class OperatorsTests
{
    private const double Tight = 1e-12;

    [Theory]
    [InlineData(5, 7)]
    [InlineData(70, 9)]
    [InlineData(131, 4)]
    public void SymmetricGemmMatchesFullProductInEveryForm(int m, int k)
    {
        var data = new OperatorsTestData(m + k);
        var a = data.Gaussian(m, k);
        var h = data.Symmetric(k);
        var ah = ReferenceBlas.Multiply(a, h);
        var c0 = data.Symmetric(m);

        // A A^T (None, Transpose), with beta on a symmetric C.
        var c = c0.Clone();
        SymmetricGemm.Compute(Op.None, Op.Transpose, m, k, 0.5, a.Data, k, a.Data, k, 2.0, c.Data, m);
        var expected = ReferenceBlas.Add(ReferenceBlas.Scale(c0, 2.0), ReferenceBlas.Multiply(a, a, transposeB: true), 0.5);
        Assert.True(OperatorsTestData.RelativeError(c.Data, expected.Data) < Tight);
        AssertExactlySymmetric(c);

        // A^T A with A stored k x m (Transpose, None).
        var at = a.Transpose();
        SymmetricGemm.Compute(Op.Transpose, Op.None, m, k, 1.0, at.Data, m, at.Data, m, 0.0, c.Data, m);
        Assert.True(OperatorsTestData.RelativeError(c.Data, ReferenceBlas.Multiply(a, a, transposeB: true).Data) < Tight);

        // (A H) A^T: two different operands with a symmetric product.
        SymmetricGemm.Compute(Op.None, Op.Transpose, m, k, 1.0, ah.Data, k, a.Data, k, 0.0, c.Data, m);
        var aha = ReferenceBlas.Multiply(ah, a, transposeB: true);
        Assert.True(OperatorsTestData.RelativeError(c.Data, aha.Data) < Tight);
        AssertExactlySymmetric(c);
    }

    private static void AssertExactlySymmetric(Matrix<double> c)
    {
        for (int i = 0; i < c.Rows; i++)
            for (int j = 0; j < i; j++)
                Assert.Equal(c[j, i], c[i, j]);
    }

    [Theory]
    [InlineData(7, 3, 5, 1)]
    [InlineData(7, 3, 5, 3)]
    [InlineData(9, 4, 2, 100)]
    [InlineData(6, 1, 4, 4)]
    public void DenseSandwichMatchesDefinition(int n, int dl, int d0, int chunk)
    {
        var data = new OperatorsTestData(n * 31 + chunk);
        var stacked = data.Stacked(n, dl, d0);
        var layout = new SideLayout(n, dl, d0, chunk);
        var side = new double[layout.Length];
        layout.Pack<double, double>(stacked, side);
        int maxRank = 8;
        var workspace = new double[DenseSandwich.WorkspaceLength(layout, maxRank)];
        var s = new double[dl * dl];
        var sa = new double[d0 * d0];

        // General H and G, symmetric or not.
        var h = data.Gaussian(d0, d0);
        DenseSandwich.S<double>(layout, side, h.Data, symmetric: false, s, workspace);
        Assert.True(OperatorsTestData.RelativeError(s, OperatorsTestData.S(stacked, n, dl, d0, h).Data) < Tight, "S(H)");
        var hs = data.Symmetric(d0);
        DenseSandwich.S<double>(layout, side, hs.Data, symmetric: true, s, workspace);
        Assert.True(OperatorsTestData.RelativeError(s, OperatorsTestData.S(stacked, n, dl, d0, hs).Data) < Tight, "S(H), H symmetric");
        var g = data.Gaussian(dl, dl);
        DenseSandwich.SAdjoint<double>(layout, side, g.Data, symmetric: false, sa, workspace);
        Assert.True(OperatorsTestData.RelativeError(sa, OperatorsTestData.SAdjoint(stacked, n, dl, d0, g).Data) < Tight, "S*(G)");
        var gs = data.Symmetric(dl);
        DenseSandwich.SAdjoint<double>(layout, side, gs.Data, symmetric: true, sa, workspace);
        Assert.True(OperatorsTestData.RelativeError(sa, OperatorsTestData.SAdjoint(stacked, n, dl, d0, gs).Data) < Tight, "S*(G), G symmetric");

        // Factored forms, with factors narrower and wider than the measurements (both arrangements).
        foreach (int r in new[] { 1, d0 + 3 })
        {
            var f = data.Gaussian(r, d0);
            DenseSandwich.SOfGram<double>(layout, side, r, f.Data, s, workspace);
            var expected = OperatorsTestData.S(stacked, n, dl, d0, ReferenceBlas.Multiply(f, f, transposeA: true));
            Assert.True(OperatorsTestData.RelativeError(s, expected.Data) < Tight, $"S(F^T F), r = {r}");
        }
        foreach (int r in new[] { 1, dl + 3 })
        {
            var p = data.Gaussian(dl, r);
            DenseSandwich.SAdjointOfGram<double>(layout, side, r, p.Data, sa, workspace);
            var expected = OperatorsTestData.SAdjoint(stacked, n, dl, d0, ReferenceBlas.Multiply(p, p, transposeB: true));
            Assert.True(OperatorsTestData.RelativeError(sa, expected.Data) < Tight, $"S*(P P^T), r = {r}");
        }

        DenseSandwich.SIdentity<double>(layout, side, s);
        Assert.True(OperatorsTestData.RelativeError(s, OperatorsTestData.S(stacked, n, dl, d0, Matrix<double>.Identity(d0)).Data) < Tight, "S(I)");
        DenseSandwich.SAdjointIdentity<double>(layout, side, sa);
        Assert.True(OperatorsTestData.RelativeError(sa, OperatorsTestData.SAdjoint(stacked, n, dl, d0, Matrix<double>.Identity(dl)).Data) < Tight, "S*(I)");
    }

    [Fact]
    public void DenseSandwichInFloatIsCloseToFloat64Definition()
    {
        int n = 40, dl = 5, d0 = 6;
        var data = new OperatorsTestData(5);
        var stacked = data.Stacked(n, dl, d0);
        var layout = new SideLayout(n, dl, d0, 16);
        var side = new float[layout.Length];
        layout.Pack<double, float>(stacked, side);
        var f = data.Gaussian(3, d0);
        var s = new float[dl * dl];
        DenseSandwich.SOfGram<float>(layout, side, 3, f.Convert<float>().Data, s, new float[DenseSandwich.WorkspaceLength(layout, 3)]);
        var expected = OperatorsTestData.S(stacked, n, dl, d0, ReferenceBlas.Multiply(f, f, transposeA: true));
        Assert.True(OperatorsTestData.RelativeError(s, expected.Data) < 1e-5);
    }

    [Fact]
    public void DenseSandwichRejectsShortWorkspace()
    {
        var layout = new SideLayout(4, 2, 3, 4);
        var error = Assert.Throws<ArgumentException>(() =>
            DenseSandwich.S<double>(layout, new double[layout.Length], new double[9], true, new double[4], new double[3]));
        Assert.Contains("workspace", error.Message);
    }

    [Fact]
    public void SideLayoutPlacesEachEntry()
    {
        int n = 5, dl = 3, d0 = 2;
        var stacked = Enumerable.Range(0, n * dl * d0).Select(x => (double)x).ToArray();
        var layout = new SideLayout(n, dl, d0, 2);
        var side = new double[layout.Length];
        layout.Pack<double, double>(stacked, side);
        for (int i = 0; i < n; i++)
            for (int a = 0; a < dl; a++)
                for (int b = 0; b < d0; b++)
                {
                    int chunk = i / 2, m = layout.ChunkLength(chunk);
                    Assert.Equal(stacked[(i * dl + a) * d0 + b], side[layout.ChunkOffset(chunk) + (a * m + i - chunk * 2) * d0 + b]);
                }
    }

    /// <summary>n random d_L x d_0 measurements and their Gram operator K in precision T.</summary>
    private static (double[] Stacked, GramLayout Layout, T[] K) Gram<T>(OperatorsTestData data, int n, int dl, int d0, int chunkRows)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var stacked = data.Stacked(n, dl, d0);
        var layout = new GramLayout(dl, d0, chunkRows);
        var k = new T[layout.Length];
        GramOperator.Build<double, T>(layout, n, stacked, k);
        return (stacked, layout, k);
    }

    [Theory]
    [InlineData(30, 4, 3, 1)]
    [InlineData(30, 4, 3, 2)]
    [InlineData(17, 3, 5, 3)]
    [InlineData(9, 1, 6, 1)]
    // Several chunks per block (the last one short), four-row groups with single rows after them, and row tails
    // of full vectors, 128-bit vectors and scalars.
    [InlineData(40, 5, 13, 1, 5)]
    [InlineData(40, 5, 13, 2, 5)]
    [InlineData(25, 3, 37, 2, 6)]
    [InlineData(25, 4, 19, 1, 19)]
    // Rows of 4 to 8 full vectors: the loss product alone keeps e_c and y_c in registers (with and without a tail).
    [InlineData(12, 2, 64, 2, 3)]
    [InlineData(12, 3, 66, 1, 0)]
    [InlineData(12, 2, 34, 2, 4)]
    // Rows of 4 full 256-bit (d_0 = 16..19) and 128-bit (d_0 = 8, 9) vectors: the widest there, or the width a pass of
    // loss products alone narrows to.
    [InlineData(12, 2, 18, 2, 0)]
    [InlineData(12, 2, 9, 1, 0)]
    public void GramOperatorMatchesDefinition(int n, int dl, int d0, int workers, int chunkRows = 0)
    {
        var data = new OperatorsTestData(n + 100 * workers);
        var (stacked, layout, k) = Gram<double>(data, n, dl, d0, chunkRows);

        var hs = new[] { data.Symmetric(d0), data.Symmetric(d0) };
        var gs = new[] { data.Symmetric(dl), data.Symmetric(dl), data.Symmetric(dl) };
        var e = data.Gaussian(dl, d0);
        var sOut = new double[2 * dl * dl];
        var saOut = new double[3 * d0 * d0];
        var me = new double[dl * d0];
        var workspace = new double[GramOperator.WorkspaceLength(layout, 3, workers)];
        GramOperator.Apply<double>(layout, k, hs.SelectMany(h => h.Data).ToArray(), sOut, gs.SelectMany(g => g.Data).ToArray(), saOut,
            e.Data, me, workspace, workers);

        for (int l = 0; l < 2; l++)
            Assert.True(OperatorsTestData.RelativeError(sOut.AsSpan(l * dl * dl, dl * dl), OperatorsTestData.S(stacked, n, dl, d0, hs[l]).Data) < Tight, $"S(H_{l})");
        for (int l = 0; l < 3; l++)
            Assert.True(OperatorsTestData.RelativeError(saOut.AsSpan(l * d0 * d0, d0 * d0), OperatorsTestData.SAdjoint(stacked, n, dl, d0, gs[l]).Data) < Tight, $"S*(G_{l})");
        Assert.True(OperatorsTestData.RelativeError(me, OperatorsTestData.GramTimes(stacked, n, dl, d0, e).Data) < Tight, "M vec E");

        // The loss product alone (the pass of a Hessian-vector product) takes its own streaming loop.
        var meAlone = new double[dl * d0];
        GramOperator.Apply<double>(layout, k, ReadOnlyMemory<double>.Empty, Memory<double>.Empty, ReadOnlyMemory<double>.Empty,
            Memory<double>.Empty, e.Data, meAlone, workspace, workers);
        Assert.True(OperatorsTestData.RelativeError(meAlone, OperatorsTestData.GramTimes(stacked, n, dl, d0, e).Data) < Tight, "M vec E alone");

        // Three loss products in one pass (a block of Hessian-vector products): each the same bits as alone.
        var es = new[] { e, data.Gaussian(dl, d0), data.Gaussian(dl, d0) };
        var meMany = new double[3 * dl * d0];
        GramOperator.Apply<double>(layout, k, ReadOnlyMemory<double>.Empty, Memory<double>.Empty, ReadOnlyMemory<double>.Empty,
            Memory<double>.Empty, es.SelectMany(x => x.Data).ToArray(), meMany, new double[GramOperator.WorkspaceLength(layout, 0, workers, 3)], workers);
        for (int r = 0; r < 3; r++)
        {
            var one = new double[dl * d0];
            GramOperator.Apply<double>(layout, k, ReadOnlyMemory<double>.Empty, Memory<double>.Empty, ReadOnlyMemory<double>.Empty,
                Memory<double>.Empty, es[r].Data, one, workspace, workers);
            Assert.True(one.AsSpan().SequenceEqual(meMany.AsSpan(r * dl * d0, dl * d0)), $"product {r} of the block");
            Assert.True(OperatorsTestData.RelativeError(one, OperatorsTestData.GramTimes(stacked, n, dl, d0, es[r]).Data) < Tight, $"M vec E_{r}");
        }
        Assert.Throws<ArgumentException>(() => GramOperator.Apply<double>(layout, k, hs[0].Data, new double[dl * dl], ReadOnlyMemory<double>.Empty,
            Memory<double>.Empty, es.SelectMany(x => x.Data).ToArray(), meMany, new double[GramOperator.WorkspaceLength(layout, 0, workers, 3)], workers));
    }

    /// <summary>
    /// The loss beside only an S or only an S* right-hand side (depth 2 asks for one of them): with rows of 4 to 8 full
    /// vectors the first sweep does the loss in registers beside that part alone, otherwise the flat sweep and lane sums.
    /// </summary>
    [Theory]
    [InlineData(12, 3, 64, 2, 3)]
    [InlineData(12, 2, 66, 1, 0)]
    [InlineData(12, 3, 34, 2, 4)]
    [InlineData(12, 3, 13, 2, 0)]
    // 8 full 512-bit vectors and a tail of 128-bit vectors and a scalar; 4 full 256-bit vectors (fused without AVX-512).
    [InlineData(12, 2, 71, 2, 0)]
    [InlineData(12, 3, 19, 1, 0)]
    public void GramOperatorLossBesideOneSide(int n, int dl, int d0, int workers, int chunkRows)
    {
        var data = new OperatorsTestData(n + 11 * d0);
        var (stacked, layout, k) = Gram<double>(data, n, dl, d0, chunkRows);
        var h = data.Symmetric(d0);
        var g = data.Symmetric(dl);
        var e = data.Gaussian(dl, d0);
        var expected = OperatorsTestData.GramTimes(stacked, n, dl, d0, e).Data;

        var sOut = new double[dl * dl];
        var me = new double[dl * d0];
        GramOperator.Apply<double>(layout, k, h.Data, sOut, ReadOnlyMemory<double>.Empty, Memory<double>.Empty, e.Data, me,
            new double[GramOperator.WorkspaceLength(layout, 0, workers)], workers);
        Assert.True(OperatorsTestData.RelativeError(sOut, OperatorsTestData.S(stacked, n, dl, d0, h).Data) < Tight, "S(H) beside the loss");
        Assert.True(OperatorsTestData.RelativeError(me, expected) < Tight, "M vec E beside S");

        var saOut = new double[d0 * d0];
        Array.Clear(me);
        GramOperator.Apply<double>(layout, k, ReadOnlyMemory<double>.Empty, Memory<double>.Empty, g.Data, saOut, e.Data, me,
            new double[GramOperator.WorkspaceLength(layout, 1, workers)], workers);
        Assert.True(OperatorsTestData.RelativeError(saOut, OperatorsTestData.SAdjoint(stacked, n, dl, d0, g).Data) < Tight, "S*(G) beside the loss");
        Assert.True(OperatorsTestData.RelativeError(me, expected) < Tight, "M vec E beside S*");
    }

    [Theory]
    [InlineData(40, 5, 13, 2, 5)]
    [InlineData(25, 3, 37, 1, 6)]
    [InlineData(30, 4, 50, 2, 0)]
    [InlineData(12, 3, 70, 2, 0)]
    [InlineData(12, 2, 35, 1, 0)]
    [InlineData(12, 3, 19, 2, 0)]
    public void GramOperatorInFloat32MatchesDefinition(int n, int dl, int d0, int workers, int chunkRows)
    {
        var data = new OperatorsTestData(n + 7 * d0);
        var (stacked, layout, k) = Gram<float>(data, n, dl, d0, chunkRows);
        var h = data.Symmetric(d0);
        var g = data.Symmetric(dl);
        var e = data.Gaussian(dl, d0);
        float[] F(double[] x) => x.Select(v => (float)v).ToArray();
        var sOut = new float[dl * dl];
        var saOut = new float[d0 * d0];
        var me = new float[dl * d0];
        var workspace = new float[GramOperator.WorkspaceLength(layout, 1, workers)];
        GramOperator.Apply<float>(layout, k, F(h.Data), sOut, F(g.Data), saOut, F(e.Data), me, workspace, workers);

        double[] D(float[] x) => x.Select(v => (double)v).ToArray();
        Assert.True(OperatorsTestData.RelativeError(D(sOut), OperatorsTestData.S(stacked, n, dl, d0, h).Data) < 1e-5, "S(H)");
        Assert.True(OperatorsTestData.RelativeError(D(saOut), OperatorsTestData.SAdjoint(stacked, n, dl, d0, g).Data) < 1e-5, "S*(G)");
        Assert.True(OperatorsTestData.RelativeError(D(me), OperatorsTestData.GramTimes(stacked, n, dl, d0, e).Data) < 1e-5, "M vec E");

        // The loss product alone, in the narrower vectors that give rows of 4 full ones where the widest give fewer
        // (with AVX-512: 256-bit at d_0 = 35 and 50, 128-bit at 19).
        var meAlone = new float[dl * d0];
        GramOperator.Apply<float>(layout, k, ReadOnlyMemory<float>.Empty, Memory<float>.Empty, ReadOnlyMemory<float>.Empty, Memory<float>.Empty,
            F(e.Data), meAlone, workspace, workers);
        Assert.True(OperatorsTestData.RelativeError(D(meAlone), OperatorsTestData.GramTimes(stacked, n, dl, d0, e).Data) < 1e-5, "M vec E alone");
    }

    [Fact]
    public void GramOperatorBuildStopsWhenCancelled()
    {
        var data = new OperatorsTestData(11);
        var layout = new GramLayout(4, 3);
        var k = new double[layout.Length];
        Assert.Throws<OperationCanceledException>(() =>
            GramOperator.Build<double, double>(layout, 20, data.Stacked(20, 4, 3), k, new CancellationToken(canceled: true)));
    }

    [Fact]
    public void GramOperatorBlocksAreTheReshuffledKroneckerSum()
    {
        int n = 6, dl = 3, d0 = 2;
        var (stacked, layout, k) = Gram<float>(new OperatorsTestData(3), n, dl, d0, chunkRows: 0);
        for (int a = 0; a < dl; a++)
            for (int c = a; c < dl; c++)
                for (int b = 0; b < d0; b++)
                    for (int e = 0; e < d0; e++)
                    {
                        double expected = 0;
                        for (int i = 0; i < n; i++)
                            expected += stacked[(i * dl + a) * d0 + b] * stacked[(i * dl + c) * d0 + e] / n;
                        Assert.Equal(expected, k[layout.Index(a, c, b, e)], 1e-5);
                    }
    }

    [Fact]
    public void SensingForwardAndAdjointMatchDefinition()
    {
        int n = 13, dl = 3, d0 = 4;
        var data = new OperatorsTestData(8);
        var stacked = data.Stacked(n, dl, d0);
        var e = data.Gaussian(dl, d0);
        var f = new double[n];
        Sensing.Forward<double>(n, stacked, e.Data, f);
        Assert.True(OperatorsTestData.RelativeError(f, OperatorsTestData.Forward(stacked, n, dl, d0, e)) < Tight);
        var w = data.Normals(n);
        var z = new double[dl * d0];
        Sensing.Adjoint<double>(n, stacked, w, 2.0, z);
        Assert.True(OperatorsTestData.RelativeError(z, ReferenceBlas.Scale(OperatorsTestData.Adjoint(stacked, n, dl, d0, w), 2.0).Data) < Tight);
    }

    [Fact]
    public void CompletionOperatorsMatchMaterialisedMeasurements()
    {
        int n = 25, dl = 4, d0 = 5;
        double scale = 1.7;
        var data = new OperatorsTestData(21);
        var rows = Enumerable.Range(0, n).Select(_ => data.Random.Next(dl)).ToArray();
        var cols = Enumerable.Range(0, n).Select(_ => data.Random.Next(d0)).ToArray();
        var stacked = new double[n * dl * d0];
        for (int i = 0; i < n; i++) stacked[(i * dl + rows[i]) * d0 + cols[i]] = scale;

        var e = data.Gaussian(dl, d0);
        var f = new double[n];
        CompletionOperator.Forward<double>(rows, cols, scale, e.Data, d0, f);
        Assert.True(OperatorsTestData.RelativeError(f, OperatorsTestData.Forward(stacked, n, dl, d0, e)) < Tight);
        var w = data.Normals(n);
        var z = new double[dl * d0];
        CompletionOperator.Adjoint<double>(rows, cols, scale, w, 1.0, z, d0);
        Assert.True(OperatorsTestData.RelativeError(z, OperatorsTestData.Adjoint(stacked, n, dl, d0, w).Data) < Tight);

        var h = data.Symmetric(d0);
        var hDiagonal = Enumerable.Range(0, d0).Select(b => h[b, b]).ToArray();
        var sDiagonal = new double[dl];
        CompletionOperator.SDiagonal<double>(rows, cols, scale, hDiagonal, sDiagonal);
        var sExpected = OperatorsTestData.S(stacked, n, dl, d0, h);
        for (int a = 0; a < dl; a++)
            for (int c = 0; c < dl; c++)
                Assert.Equal(a == c ? sDiagonal[a] : 0.0, sExpected[a, c], 1e-12);

        var g = data.Symmetric(dl);
        var gDiagonal = Enumerable.Range(0, dl).Select(a => g[a, a]).ToArray();
        var saDiagonal = new double[d0];
        CompletionOperator.SAdjointDiagonal<double>(rows, cols, scale, gDiagonal, saDiagonal);
        var saExpected = OperatorsTestData.SAdjoint(stacked, n, dl, d0, g);
        for (int b = 0; b < d0; b++)
            for (int c = 0; c < d0; c++)
                Assert.Equal(b == c ? saDiagonal[b] : 0.0, saExpected[b, c], 1e-12);
    }

    [Fact]
    public void RankOneOperatorsMatchMaterialisedMeasurements()
    {
        int n = 19, dl = 4, d0 = 6;
        var data = new OperatorsTestData(34);
        var u = data.Normals(n * dl);
        var v = data.Normals(n * d0);
        var stacked = new double[n * dl * d0];
        for (int i = 0; i < n; i++)
            for (int a = 0; a < dl; a++)
                for (int b = 0; b < d0; b++) stacked[(i * dl + a) * d0 + b] = u[i * dl + a] * v[i * d0 + b];
        var workspace = new double[n * Math.Max(dl, d0)];

        var e = data.Gaussian(dl, d0);
        var f = new double[n];
        RankOneOperator.Forward<double>(n, dl, d0, u, v, e.Data, f, workspace);
        Assert.True(OperatorsTestData.RelativeError(f, OperatorsTestData.Forward(stacked, n, dl, d0, e)) < Tight);
        var w = data.Normals(n);
        var z = new double[dl * d0];
        RankOneOperator.Adjoint<double>(n, dl, d0, u, v, w, 0.5, z, workspace);
        Assert.True(OperatorsTestData.RelativeError(z, ReferenceBlas.Scale(OperatorsTestData.Adjoint(stacked, n, dl, d0, w), 0.5).Data) < Tight);

        // S(H) = (1/n) U^T diag(v_i^T H v_i) U, with H general and H = F^T F (F given as F or as F^T).
        var forms = new double[n];
        var s = new double[dl * dl];
        var h = data.Symmetric(d0);
        RankOneOperator.QuadraticForms<double>(n, d0, v, h.Data, forms, workspace);
        RankOneOperator.WeightedGram<double>(n, dl, u, forms, 1.0 / n, s, workspace);
        Assert.True(OperatorsTestData.RelativeError(s, OperatorsTestData.S(stacked, n, dl, d0, h).Data) < Tight, "S(H)");

        var factor = data.Gaussian(3, d0);
        var hf = ReferenceBlas.Multiply(factor, factor, transposeA: true);
        RankOneOperator.FactoredQuadraticForms<double>(n, d0, v, 3, factor.Data, Op.None, forms, workspace);
        RankOneOperator.WeightedGram<double>(n, dl, u, forms, 1.0 / n, s, workspace);
        Assert.True(OperatorsTestData.RelativeError(s, OperatorsTestData.S(stacked, n, dl, d0, hf).Data) < Tight, "S(F^T F)");

        var p = data.Gaussian(dl, 2); // G = P P^T, factor F = P^T given transposed
        var sa = new double[d0 * d0];
        RankOneOperator.FactoredQuadraticForms<double>(n, dl, u, 2, p.Data, Op.Transpose, forms, workspace);
        RankOneOperator.WeightedGram<double>(n, d0, v, forms, 1.0 / n, sa, workspace);
        var gp = ReferenceBlas.Multiply(p, p, transposeB: true);
        Assert.True(OperatorsTestData.RelativeError(sa, OperatorsTestData.SAdjoint(stacked, n, dl, d0, gp).Data) < Tight, "S*(P P^T)");
    }
}
