using Flatness.Solver.Randomness;
using Flatness.Kernels.Tensors;
using Flatness.Solver.Problems;

namespace Flatness.Tests;

public class GeneratorTests
{
    private static double FrobeniusSquared(Matrix<double> m) => m.Data.Sum(x => x * x);

    /// <summary>Rank by Gaussian elimination with partial pivoting (independent of the SVD).</summary>
    private static int Rank(Matrix<double> m, double tol = 1e-10)
    {
        var a = m.Clone();
        int rank = 0;
        for (int c = 0; c < a.Cols && rank < a.Rows; c++)
        {
            int pivot = rank;
            for (int r = rank + 1; r < a.Rows; r++) if (Math.Abs(a[r, c]) > Math.Abs(a[pivot, c])) pivot = r;
            if (Math.Abs(a[pivot, c]) < tol) continue;
            for (int k = 0; k < a.Cols; k++) (a[rank, k], a[pivot, k]) = (a[pivot, k], a[rank, k]);
            for (int r = rank + 1; r < a.Rows; r++)
            {
                double f = a[r, c] / a[rank, c];
                for (int k = c; k < a.Cols; k++) a[r, k] -= f * a[rank, k];
            }
            rank++;
        }
        return rank;
    }

    [Theory]
    [InlineData(ProblemKind.Gaussian)]
    [InlineData(ProblemKind.Completion)]
    [InlineData(ProblemKind.RankOne)]
    [InlineData(ProblemKind.Basis)]
    [InlineData(ProblemKind.BasisCompletion)]
    public void SameSeedSameProblemAndUnitRankRTruth(ProblemKind kind)
    {
        var spec = new ProblemSpec(kind, 7, 5, 2, 30, Noise: 0.1, Seed: 42);
        var p = Generators.Generate(spec);
        var q = Generators.Generate(spec);
        Assert.Equal(p.Labels, q.Labels);
        Assert.Equal(p.GroundTruth!.Data, q.GroundTruth!.Data);
        for (int i = 0; i < p.Count; i++) Assert.Equal(p.Measurements.Dense(i).Data, q.Measurements.Dense(i).Data);
        var other = Generators.Generate(spec with { Seed = 43 });
        Assert.NotEqual(p.GroundTruth.Data, other.GroundTruth!.Data);

        Assert.Equal(1.0, FrobeniusSquared(p.GroundTruth), 12);
        Assert.Equal(2, Rank(p.GroundTruth));
        Assert.Equal(5, p.OutputDim);
        Assert.Equal(7, p.InputDim);
        Assert.Equal(kind is ProblemKind.Basis or ProblemKind.BasisCompletion ? 35 : 30, p.Count);
    }

    [Fact]
    public void TruthDependsOnlyOnSeedDimsAndRankAndNoiseComesLast()
    {
        var a = Generators.Gaussian(6, 4, 2, 10, noise: 0.0, seed: 3);
        var b = Generators.Gaussian(6, 4, 2, 25, noise: 0.5, seed: 3);
        var c = Generators.RankOne(6, 4, 2, 10, seed: 3);
        Assert.Equal(a.GroundTruth!.Data, b.GroundTruth!.Data);
        Assert.Equal(a.GroundTruth.Data, c.GroundTruth!.Data);
        // Same measurements (first 10 of them), labels differ by the noise only.
        var clean = Generators.Gaussian(6, 4, 2, 25, noise: 0.0, seed: 3);
        for (int i = 0; i < 10; i++) Assert.Equal(a.Measurements.Dense(i).Data, b.Measurements.Dense(i).Data);
        double noiseSq = 0;
        for (int i = 0; i < 25; i++) noiseSq += Math.Pow(b.Labels[i] - clean.Labels[i], 2);
        Assert.InRange(Math.Sqrt(noiseSq / 25), 0.3, 0.7);
    }

    [Fact]
    public void LabelsAreMeasurementsOfTheTruth()
    {
        var p = Generators.Gaussian(5, 4, 1, 12, seed: 1);
        for (int i = 0; i < p.Count; i++)
        {
            var ai = p.Measurements.Dense(i);
            double f = 0;
            for (int t = 0; t < ai.Length; t++) f += ai.Data[t] * p.GroundTruth!.Data[t];
            Assert.Equal(f, p.Labels[i], 12);
        }
    }

    [Fact]
    public void NormalSamplerHasUnitMomentsAndIsReproducible()
    {
        var x = new NormalSampler(11).Draw(200_000);
        Assert.Equal(x, new NormalSampler(11).Draw(200_000));
        double mean = x.Average(), var = x.Select(v => (v - mean) * (v - mean)).Average();
        double kurt = x.Select(v => Math.Pow(v - mean, 4)).Average() / (var * var);
        Assert.InRange(mean, -0.01, 0.01);
        Assert.InRange(var, 0.99, 1.01);
        Assert.InRange(kurt, 2.95, 3.05);
    }

    [Theory]
    [InlineData(ProblemKind.Gaussian)]
    [InlineData(ProblemKind.Completion)]
    [InlineData(ProblemKind.RankOne)]
    public void OperatorsAreIsotropicOnAverage(ProblemKind kind)
    {
        // E <A, M>^2 = ||M||_F^2 for a fixed M: the empirical mean over many measurements is close to 1.
        var p = Generators.Generate(new ProblemSpec(kind, 6, 5, 2, 40_000, Seed: 5));
        double mean = p.Labels.Select(v => v * v).Average();
        Assert.InRange(mean, 0.96, 1.04);
    }

    [Fact]
    public void BasisIsExactlyIsotropicAndBothStoragesAgree()
    {
        var dense = Generators.Basis(4, 3, 2, seed: 9);
        var completion = Generators.Basis(4, 3, 2, seed: 9, asCompletion: true);
        Assert.Equal(12, dense.Count);
        Assert.Equal(1.0, dense.Labels.Select(v => v * v).Average(), 12);
        for (int i = 0; i < 12; i++)
        {
            Assert.Equal(dense.Measurements.Dense(i).Data, completion.Measurements.Dense(i).Data);
            Assert.Equal(dense.Labels[i], completion.Labels[i], 14);
        }
        Assert.Equal(Math.Sqrt(12) * dense.GroundTruth![1, 2], dense.Labels[1 * 4 + 2], 14);
    }

    [Fact]
    public void CompletionCellsAreDistinctWhenPossibleAndBalancedOtherwise()
    {
        var few = (CompletionMeasurements)Generators.Completion(6, 5, 2, 30, seed: 2).Measurements;
        Assert.Equal(30, few.RowIndex.Zip(few.ColIndex).Distinct().Count());
        var many = (CompletionMeasurements)Generators.Completion(3, 2, 1, 15, seed: 2).Measurements;
        var counts = many.RowIndex.Zip(many.ColIndex).GroupBy(c => c).Select(g => g.Count()).ToArray();
        Assert.Equal(6, counts.Length);
        Assert.Equal(3, counts.Count(c => c == 3));
        Assert.Equal(3, counts.Count(c => c == 2));
        Assert.Equal(Math.Sqrt(6), many.Scale, 14);
        var scaled = (CompletionMeasurements)Generators.Completion(3, 2, 1, 4, scale: 1.0).Measurements;
        Assert.Equal(1.0, scaled.Scale);
    }

    [Fact]
    public void CompletionCellsAreUniform()
    {
        // 3 cells of 12 observed, 4000 draws: each cell is picked with probability 1/4.
        var hits = new int[12];
        for (int seed = 0; seed < 4000; seed++)
        {
            var m = Generators.CompletionMeasurements(3, 3, 4, new NormalSampler(seed));
            for (int i = 0; i < 3; i++) hits[m.RowIndex[i] * 4 + m.ColIndex[i]]++;
        }
        foreach (int h in hits) Assert.InRange(h / 4000.0, 0.22, 0.28);
    }

    [Theory]
    [InlineData(0, 4, 1, 5, "d_0")]
    [InlineData(4, 0, 1, 5, "d_L")]
    [InlineData(4, 3, 4, 5, "rank")]
    [InlineData(4, 3, 0, 5, "rank")]
    [InlineData(4, 3, 1, 0, "n")]
    public void BadArgumentsAreRejectedByName(int d0, int dl, int rank, int n, string culprit)
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => Generators.Gaussian(d0, dl, rank, n));
        Assert.Contains(culprit, e.Message);
    }

    [Fact]
    public void NegativeNoiseAndScaleOnWrongKindAreRejected()
    {
        Assert.Contains("sigma", Assert.ThrowsAny<ArgumentException>(() => Generators.Gaussian(4, 4, 1, 5, noise: -1)).Message);
        Assert.Contains("scale", Assert.ThrowsAny<ArgumentException>(() =>
            Generators.Generate(new ProblemSpec(ProblemKind.Gaussian, 4, 4, 1, 5, Scale: 2))).Message);
        Assert.Contains("scale", Assert.ThrowsAny<ArgumentException>(() => Generators.Completion(4, 4, 1, 5, scale: 0)).Message);
    }
}

public sealed class ProblemSizeTests
{
    [Theory]
    [InlineData(ProblemKind.Gaussian, 3000, 5000, "needs an array of 4.5E+10 values")]
    [InlineData(ProblemKind.Completion, 100000, 1000, "needs an array of 1E+10 values")]
    [InlineData(ProblemKind.RankOne, 100, 100000000, "a rank-one problem")]
    public void TooLargeProblemsAreRefusedBeforeAnythingIsDrawn(ProblemKind kind, int d, int n, string fragment)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<Flatness.Solver.ProblemTooLargeException>(() => Generators.Generate(new ProblemSpec(kind, d, d, 2, n)));
        Assert.Contains(fragment, e.Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1_000_000);
    }
}
