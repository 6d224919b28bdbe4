using Flatness.Solver.Randomness;
using Flatness.Kernels.Linalg;
using Flatness.Kernels.Tensors;
using Flatness.Solver.Baselines;
using Flatness.Solver.Problems;
using Flatness.Solver.Runs;

namespace Flatness.Tests;

public class BaselineTests
{
    private static double[] Forward(Measurements m, Matrix<double> x)
    {
        var f = new double[m.Count];
        m.Forward(x, f);
        return f;
    }

    private static double Dot(Matrix<double> a, Matrix<double> b) => a.Data.Zip(b.Data).Sum(p => p.First * p.Second);

    /// <summary>An orthonormal basis of the row space of the n x D matrix of vec(A_i), by Gram-Schmidt (independent of the solver).</summary>
    private static List<double[]> RowSpace(Measurements m)
    {
        var basis = new List<double[]>();
        for (int i = 0; i < m.Count; i++)
        {
            var v = (double[])m.Dense(i).Data.Clone();
            for (int pass = 0; pass < 2; pass++)
                foreach (var q in basis)
                {
                    double d = v.Zip(q).Sum(p => p.First * p.Second);
                    for (int t = 0; t < v.Length; t++) v[t] -= d * q[t];
                }
            double norm = Math.Sqrt(v.Sum(x => x * x));
            if (norm > 1e-9) basis.Add(v.Select(x => x / norm).ToArray());
        }
        return basis;
    }

    /// <summary>A random element of the null space of A.</summary>
    private static Matrix<double> NullVector(Measurements m, int seed)
    {
        var n = new Matrix<double>(m.OutputDim, m.InputDim, new NormalSampler(seed).Draw(m.OutputDim * m.InputDim));
        foreach (var q in RowSpace(m))
        {
            double d = n.Data.Zip(q).Sum(p => p.First * p.Second);
            for (int t = 0; t < n.Length; t++) n.Data[t] -= d * q[t];
        }
        return n;
    }

    [Theory]
    [InlineData(ProblemKind.Gaussian, "cholesky-rows")]
    [InlineData(ProblemKind.RankOne, "cgls")]
    [InlineData(ProblemKind.Completion, "cgls")]
    public void MinimumFrobeniusInterpolatesAndIsOrthogonalToTheNullSpace(ProblemKind kind, string method)
    {
        var p = Generators.Generate(new ProblemSpec(kind, 6, 5, 2, 17, Noise: 0.1, Seed: 3));
        var result = MinimumFrobenius.Solve(p);
        Assert.Equal(method, result.Method);
        var f = Forward(p.Measurements, result.Solution);
        for (int i = 0; i < p.Count; i++) Assert.Equal(p.Labels[i], f[i], 1e-10 * (1 + Math.Abs(p.Labels[i])));
        for (int seed = 0; seed < 3; seed++)
        {
            var nullVector = NullVector(p.Measurements, seed);
            Assert.True(Forward(p.Measurements, nullVector).All(v => Math.Abs(v) < 1e-9));
            Assert.True(Math.Abs(Dot(result.Solution, nullVector)) < 1e-10 * Math.Sqrt(Dot(nullVector, nullVector)));
        }
    }

    [Fact]
    public void MinimumFrobeniusOfCompletionIsTheObservedEntriesAveraged()
    {
        // Cells observed twice with different noisy labels: the least-squares value is their mean, unobserved cells stay 0.
        var truth = Generators.LowRank(3, 4, 1, new NormalSampler(1));
        var measurements = new CompletionMeasurements(3, 4, [0, 2, 0, 1], [1, 3, 1, 0], 2.0);
        var problem = new SensingProblem(measurements, [1.0, 2.0, 3.0, -4.0], truth);
        var m = MinimumFrobenius.Solve(problem).Solution;
        var expected = new Matrix<double>(3, 4);
        expected[0, 1] = (1.0 + 3.0) / 2 / 2.0;
        expected[2, 3] = 2.0 / 2.0;
        expected[1, 0] = -4.0 / 2.0;
        for (int t = 0; t < m.Length; t++) Assert.Equal(expected.Data[t], m.Data[t], 1e-12);
    }

    [Fact]
    public void MinimumFrobeniusOfOverdeterminedNoisyDenseIsTheLeastSquaresSolution()
    {
        var p = Generators.Gaussian(4, 3, 1, 30, noise: 0.2, seed: 5);
        var result = MinimumFrobenius.Solve(p);
        Assert.Equal("cholesky-normal", result.Method);
        var residual = Forward(p.Measurements, result.Solution).Zip(p.Labels, (f, b) => f - b).ToArray();
        var normal = p.Measurements.Adjoint(residual); // A^*(A M - b) = 0
        Assert.True(normal.Data.All(v => Math.Abs(v) < 1e-10), $"normal equations residual {normal.Data.Max(Math.Abs)}");
        Assert.True(residual.Select(r => r * r).Sum() > 0.1); // the noise cannot be fitted
    }

    [Fact]
    public void RankDeficientDenseMeasurementsFallBackToCgls()
    {
        var g = Generators.Gaussian(3, 3, 1, 4, seed: 2);
        var dense = (DenseMeasurements)g.Measurements;
        var a = dense.A.Concat(dense.A.AsSpan(0, 9).ToArray()).ToArray(); // A_5 = A_1
        var measurements = new DenseMeasurements(5, 3, 3, a);
        var labels = Forward(measurements, g.GroundTruth!);
        var result = MinimumFrobenius.Solve(new SensingProblem(measurements, labels, g.GroundTruth));
        Assert.Equal("cgls", result.Method);
        var f = Forward(measurements, result.Solution);
        for (int i = 0; i < 5; i++) Assert.Equal(labels[i], f[i], 1e-10);
        Assert.True(Math.Abs(Dot(result.Solution, NullVector(measurements, 1))) < 1e-10);
    }

    [Fact]
    public void MinimumFrobeniusStaysFarFromALowRankTruth()
    {
        var p = Generators.Gaussian(20, 20, 2, 240, seed: 1);
        double rel = Rel.Error(MinimumFrobenius.Solve(p).Solution, p.GroundTruth);
        Assert.InRange(rel, 0.3, 0.5); // about 1 - n / (d_0 d_L) = 0.4
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void NuclearOnTheFullBasisReturnsTheTruth(bool asCompletion)
    {
        var p = Generators.Basis(5, 4, 2, seed: 3, asCompletion: asCompletion);
        var result = NuclearNormMinimization.Solve(p);
        Assert.True(result.Converged);
        Assert.True(Rel.Error(result.Solution, p.GroundTruth) < 1e-16);
    }

    [Fact]
    public void NuclearRecoversALowRankMatrixFromEnoughGaussianMeasurements()
    {
        var p = Generators.Gaussian(8, 8, 1, 60, seed: 4);
        var result = NuclearNormMinimization.Solve(p);
        Assert.True(result.Converged, $"not converged after {result.Iterations} iterations");
        double rel = Rel.Error(result.Solution, p.GroundTruth);
        Assert.True(rel < 1e-12, $"relative error {rel}");
        Assert.True(MinimumFrobenius.Solve(p).Solution is var mf && Rel.Error(mf, p.GroundTruth) > 0.01);
    }

    [Fact]
    public void NuclearSatisfiesTheOptimalityConditionsOnATinyUnderdeterminedCase()
    {
        // Too few measurements to recover M*: check the KKT conditions of min ||M||_* s.t. A(M) = b instead.
        var p = Generators.Gaussian(4, 4, 1, 7, seed: 6);
        var result = NuclearNormMinimization.Solve(p, new NuclearOptions { Tolerance = 1e-12, MaxIterations = 100_000 });
        Assert.True(result.Converged);
        var z = result.Solution;
        var y = result.Dual;
        // Feasibility.
        var f = Forward(p.Measurements, z);
        for (int i = 0; i < p.Count; i++) Assert.Equal(p.Labels[i], f[i], 1e-8);
        // Y in the range of A^*: orthogonal to the null space.
        for (int seed = 0; seed < 3; seed++)
        {
            var nullVector = NullVector(p.Measurements, seed);
            Assert.True(Math.Abs(Dot(y, nullVector)) < 1e-7 * Math.Sqrt(Dot(nullVector, nullVector)));
        }
        // Y in the subdifferential of ||.||_* at Z: U^T Y V = I on the support, and ||P_T-perp(Y)||_2 <= 1.
        var svd = Svd.Decompose(z);
        int rank = svd.S.Count(s => s > 1e-6 * svd.S[0]);
        Assert.InRange(rank, 1, 3);
        for (int k = 0; k < rank; k++)
            for (int l = 0; l < rank; l++)
            {
                double ukYvl = 0;
                for (int a = 0; a < 4; a++) for (int c = 0; c < 4; c++) ukYvl += svd.U[a, k] * y[a, c] * svd.Vt[l, c];
                Assert.Equal(k == l ? 1.0 : 0.0, ukYvl, 1e-6);
            }
        var perp = ProjectOffSupport(y, svd, rank);
        Assert.True(MatrixNorms.Spectral(perp) <= 1 + 1e-6, $"||P_T-perp(Y)||_2 = {MatrixNorms.Spectral(perp)}");
        // And directly: no feasible direction lowers the nuclear norm.
        double best = MatrixNorms.Nuclear(z);
        for (int seed = 0; seed < 20; seed++)
        {
            var n = NullVector(p.Measurements, 100 + seed);
            foreach (double t in new[] { 1e-3, -1e-3, 0.1, -0.1 })
            {
                var moved = z.Clone();
                for (int q = 0; q < moved.Length; q++) moved.Data[q] += t * n.Data[q];
                Assert.True(MatrixNorms.Nuclear(moved) >= best - 1e-9);
            }
        }
    }

    /// <summary>(I - U U^T) Y (I - V V^T) with U, V the leading <paramref name="rank"/> singular vectors.</summary>
    private static Matrix<double> ProjectOffSupport(Matrix<double> y, SvdResult svd, int rank)
    {
        int rows = y.Rows, cols = y.Cols;
        var left = Matrix<double>.Identity(rows);
        var right = Matrix<double>.Identity(cols);
        for (int k = 0; k < rank; k++)
        {
            for (int a = 0; a < rows; a++) for (int c = 0; c < rows; c++) left[a, c] -= svd.U[a, k] * svd.U[c, k];
            for (int a = 0; a < cols; a++) for (int c = 0; c < cols; c++) right[a, c] -= svd.Vt[k, a] * svd.Vt[k, c];
        }
        return Flatness.Kernels.Reference.ReferenceBlas.Product(left, y, right);
    }

    [Fact]
    public void BadNuclearOptionsAreRejected()
    {
        var p = Generators.Gaussian(3, 3, 1, 4);
        Assert.Throws<ArgumentOutOfRangeException>(() => NuclearNormMinimization.Solve(p, new NuclearOptions { Tolerance = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => NuclearNormMinimization.Solve(p, new NuclearOptions { Rho = -1 }));
    }
}
