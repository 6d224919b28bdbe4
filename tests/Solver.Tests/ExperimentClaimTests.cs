using Flatness.Solver.Randomness;
using Flatness.Kernels.Reference;
using Flatness.Kernels.Tensors;
using Flatness.Solver.Backends;
using Flatness.Experiments;
using Flatness.Experiments.Claims;
using Flatness.Solver.Model;
using Flatness.Solver.Problems;
using Flatness.Solver.Theory;

namespace Flatness.Tests;

/// <summary>The pieces the claims rest on: fibre descent, the scalar predictions of C6, the balanced ratio, charts.</summary>
public sealed class ExperimentClaimTests
{
    [Theory]
    [InlineData(3, 1)]
    [InlineData(4, 2)]
    public void FibreDescentKeepsEAndReachesTheMinimumOverFactorisations(int depth, int rank)
    {
        // Scaled basis: tr H = 2G exactly, so the least trace over the factorisations of M is 2F(M).
        var problem = Generators.Basis(5, 4, rank, seed: 7, asCompletion: true);
        var m = problem.GroundTruth!;
        var dims = Initializers.Dims(5, 4, depth);
        var start = FlatnessTheory.BalancedFactorization(m, dims);
        using var evaluator = new ReferenceEvaluator(problem);
        var result = FibreDescent.Minimize(evaluator, start, maxSteps: 3000);

        double f = FlatnessTheory.F(m, depth);
        Assert.True(result.InitialTrace > 2 * f * 1.01, $"the balanced start should not be flattest: {result.InitialTrace} vs {2 * f}");
        Assert.Equal(1.0, result.Trace / (2 * f), 1e-9);
        Assert.True(result.EndToEndDrift < 1e-12, $"E moved by {result.EndToEndDrift}");
        var e = ReferenceBlas.Product(result.Layers.Reverse().ToArray());
        for (int t = 0; t < e.Length; t++) Assert.Equal(m.Data[t], e.Data[t], 1e-12);
    }

    [Fact]
    public void MatrixExponentialInvertsExactly()
    {
        var rng = new NormalSampler(3);
        var b = new Matrix<double>(4, 4, rng.Draw(16, 0.1));
        var product = ReferenceBlas.Multiply(FibreDescent.Exp(b), FibreDescent.Exp(ReferenceBlas.Scale(b, -1)));
        for (int r = 0; r < 4; r++)
            for (int c = 0; c < 4; c++) Assert.Equal(r == c ? 1.0 : 0.0, product[r, c], 1e-14);
    }

    [Theory]
    [InlineData(8, 8, 3, 17.0 / 12)]
    [InlineData(8, 8, 2, 1.0)]
    public void BalancedRatioRankOneMatchesTheSpec(int d0, int dl, int depth, double expected) =>
        Assert.Equal(expected, C3Minimum.BalancedRatioRankOne(d0, dl, depth), 1e-14);

    [Fact]
    public void WeightDecayPredictionAtDepthTwoIsSoftThresholding()
    {
        // L = 2: (s - sigma)^2 + 2 mu s has its minimum at s = sigma - mu.
        Assert.Equal(0.7, C6Depth.DecayPrediction(0.9, 0.2, 2), 1e-7);   // a minimum located from function values: ~sqrt(eps)
        Assert.Equal(0.0, C6Depth.DecayPrediction(0.15, 0.2, 2), 1e-9);
    }

    [Fact]
    public void WeightDecayPredictionIsStationaryDeeper()
    {
        // L = 3: at a positive minimiser, 2 (s - sigma) + mu (2/3) 3 s^{-1/3} = 0, i.e. sigma - s = mu s^{-1/3}.
        double sigma = 0.9, mu = 0.05;
        double s = C6Depth.DecayPrediction(sigma, mu, 3);
        Assert.True(s > 0.5);
        Assert.Equal(mu * Math.Pow(s, -1.0 / 3), sigma - s, 1e-7);
    }

    [Fact]
    public void FlatThresholdIsStationaryAtDepthTwo()
    {
        // L = 2, d_0 = d_L = 6: 2 lambda F(E) = 2 lambda 2 * 6 ||E||_*, so the soft threshold is tau = 12 lambda.
        Assert.Equal(12 * 0.01, C6Depth.FlatThreshold(0.01, 2, 6), 1e-7);
    }

    [Fact]
    public void ChartsOfNearlyConstantDataRenderQuickly()
    {
        string dir = Path.Combine(Path.GetTempPath(), "flatness-chart-" + Guid.NewGuid().ToString("N"));
        try
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            string file = new Chart("constant", "x", "y", logY: true)
                .Series("a", [0, 1, 2], [0.34613160623117123, 0.34613160623117106, 0.3461316062311713])
                .HorizontalLine(0.3461316062311712, "line")
                .Save(dir, "constant.png", 300, 200);
            Assert.True(clock.Elapsed.TotalSeconds < 20, $"took {clock.Elapsed}");
            Assert.True(new FileInfo(Path.Combine(dir, file)).Length > 500);
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, true);
        }
    }
}
