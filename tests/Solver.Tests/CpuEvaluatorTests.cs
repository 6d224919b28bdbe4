using Flatness.Kernels.Tensors;
using Flatness.Solver.Backends;
using Flatness.Solver.Problems;
using Xunit.Abstractions;

namespace Flatness.Tests;

/// <summary>
/// The CPU evaluators (every path, float64 and float32) against the reference evaluator: loss, trace and both
/// gradients, depths 1..4, d_0 != d_L and uneven widths, all three measurement types.
/// </summary>
public class CpuEvaluatorTests(ITestOutputHelper output)
{
    private const double Float64Tolerance = 1e-10;
    private const double Float32Tolerance = 1e-4;

    public static TheoryData<int[]> Shapes => new()
    {
        new[] { 5, 4 },
        new[] { 5, 3, 4 },
        new[] { 5, 7, 2, 4 },
        new[] { 5, 2, 6, 3, 4 },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void DirectPathMatchesReference(int[] dims) => CompareWithReference(DenseProblem(23, dims), dims, "direct");

    [Theory]
    [MemberData(nameof(Shapes))]
    public void GramPathMatchesReference(int[] dims) => CompareWithReference(DenseProblem(23, dims), dims, "gram");

    [Theory]
    [MemberData(nameof(Shapes))]
    public void GramPathWithResidualLossMatchesReference(int[] dims) =>
        // Few measurements: X is cheaper to read than K, so the loss comes from the residual.
        CompareWithReference(DenseProblem(3, dims), dims, "gram");

    [Theory]
    [MemberData(nameof(Shapes))]
    public void CompletionPathMatchesReference(int[] dims)
    {
        var data = new SolverTestData(dims.Sum());
        var problem = data.WithRandomLabels(data.RandomCompletion(30, dims[^1], dims[0], 1.3));
        CompareWithReference(problem, dims, "completion");
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void RankOnePathMatchesReference(int[] dims)
    {
        var data = new SolverTestData(dims.Sum() + 1);
        var problem = data.WithRandomLabels(data.GaussianRankOne(21, dims[^1], dims[0]));
        CompareWithReference(problem, dims, "rank-one");
    }

    [Fact]
    public void RankOnePathUsesBothFormsOfTheQuadratics()
    {
        // Hidden widths wider than d_0 and d_L take the V H and U G forms, narrower ones the factored forms.
        int[] dims = [3, 8, 1, 9, 2];
        var data = new SolverTestData(5);
        CompareWithReference(data.WithRandomLabels(data.GaussianRankOne(17, 2, 3)), dims, "rank-one");
    }

    [Fact]
    public void DirectPathUsesBothArrangementsOfTheSandwiches()
    {
        // Hidden widths wider than d_0 and d_L form H and G, narrower ones contract with the factor first.
        int[] dims = [3, 8, 1, 9, 2];
        CompareWithReference(DenseProblem(11, dims), dims, "direct");
    }

    [Fact]
    public void WideMeasurementsUseBlockedSymmetricProducts()
    {
        // d_0 and d_L above the symmetric-product block size: S(I), S*(I) and S(H_2) run on several blocks.
        int[] dims = [70, 5, 66];
        var data = new SolverTestData(12);
        CompareWithReference(data.WithRandomLabels(data.GaussianDense(4, 66, 70)), dims, "direct");
    }

    private static SensingProblem DenseProblem(int n, int[] dims)
    {
        var data = new SolverTestData(n * 7 + dims.Length);
        return data.WithRandomLabels(data.GaussianDense(n, dims[^1], dims[0]));
    }

    private void CompareWithReference(SensingProblem problem, int[] dims, string path)
    {
        var data = new SolverTestData(dims.Length * 13 + problem.Count);
        var layers = data.Layers(dims, 0.7);
        var reference = new ReferenceEvaluator(problem).Evaluate(layers, Quantities.All);
        foreach (var (precision, tolerance) in new[] { (Precision.F64, Float64Tolerance), (Precision.F32, Float32Tolerance) })
        {
            using var evaluator = Cpu(problem, dims, path, precision);
            Assert.Equal(path, evaluator.Path.Name());
            Assert.Equal(BackendKind.Cpu, evaluator.Backend);
            Assert.Equal(precision, evaluator.Precision);
            var actual = evaluator.Evaluate(layers, Quantities.All);
            double worst = Math.Max(Math.Max(Relative(actual.Loss, reference.Loss), Relative(actual.Trace, reference.Trace)),
                Math.Max(GradientError(actual.LossGradient!, reference.LossGradient!), GradientError(actual.TraceGradient!, reference.TraceGradient!)));
            output.WriteLine($"{path} {precision} dims [{string.Join(",", dims)}] n = {problem.Count}: worst relative error {worst:E2}");
            Assert.True(worst < tolerance, $"{path} {precision}: worst relative error {worst:E2} above {tolerance:E0}");

            // Parts asked for separately give the same numbers, and unasked parts stay empty.
            var traceOnly = evaluator.Evaluate(layers, Quantities.Trace);
            Assert.True(Relative(traceOnly.Trace, reference.Trace) < tolerance, $"{path} {precision}: trace alone");
            Assert.True(double.IsNaN(traceOnly.Loss));
            Assert.Null(traceOnly.LossGradient);
            Assert.Null(traceOnly.TraceGradient);
            var lossOnly = evaluator.Evaluate(layers, Quantities.Loss | Quantities.LossGradient);
            Assert.True(Relative(lossOnly.Loss, reference.Loss) < tolerance, $"{path} {precision}: loss alone");
            Assert.True(GradientError(lossOnly.LossGradient!, reference.LossGradient!) < tolerance, $"{path} {precision}: loss gradient alone");
            Assert.True(double.IsNaN(lossOnly.Trace));
            Assert.Null(lossOnly.TraceGradient);
            var traceGradientOnly = evaluator.Evaluate(layers, Quantities.TraceGradient);
            Assert.True(GradientError(traceGradientOnly.TraceGradient!, reference.TraceGradient!) < tolerance, $"{path} {precision}: trace gradient alone");
        }
    }

    [Fact]
    public void RepeatedEvaluationsAtNewPointsStayExact()
    {
        // The workspaces are reused across evaluations: a second point must not see the first.
        int[] dims = [4, 6, 3, 5];
        var problem = DenseProblem(15, dims);
        var data = new SolverTestData(99);
        var reference = new ReferenceEvaluator(problem);
        foreach (string path in new[] { "direct", "gram" })
        {
            using var evaluator = Cpu(problem, dims, path);
            for (int step = 0; step < 3; step++)
            {
                var layers = data.Layers(dims, 0.5 + step);
                var expected = reference.Evaluate(layers, Quantities.All);
                var actual = evaluator.Evaluate(layers, step == 1 ? Quantities.Values : Quantities.All);
                Assert.True(Relative(actual.Trace, expected.Trace) < Float64Tolerance);
                Assert.True(Relative(actual.Loss, expected.Loss) < Float64Tolerance);
                if (step != 1) Assert.True(GradientError(actual.TraceGradient!, expected.TraceGradient!) < Float64Tolerance);
            }
        }
    }

    [Fact]
    public void StructuredMeasurementsGiveTheSameNumbersAsTheirDenseForm()
    {
        int[] dims = [4, 3, 5];
        var data = new SolverTestData(77);
        var completion = data.RandomCompletion(20, 5, 4, 0.8);
        var labels = data.Normals(20);
        var layers = data.Layers(dims);
        using var structured = Cpu(new SensingProblem(completion, labels), dims, "completion");
        using var dense = Cpu(new SensingProblem(SolverTestData.Materialise(completion), labels), dims, "gram");
        var a = structured.Evaluate(layers, Quantities.All);
        var b = dense.Evaluate(layers, Quantities.All);
        Assert.True(Relative(a.Trace, b.Trace) < Float64Tolerance);
        Assert.True(GradientError(a.TraceGradient!, b.TraceGradient!) < Float64Tolerance);
    }

    [Fact]
    public void GramPathLossIsNeverNegativeAtAnInterpolant()
    {
        // Many measurements of a small matrix: the Gram path takes the loss from its expanded quadratic form.
        int[] dims = [4, 4, 4, 4];
        for (int seed = 0; seed < 20; seed++)
        {
            var problem = Generators.Gaussian(4, 4, 2, 400, seed: seed);
            var layers = Flatness.Solver.Theory.FlatnessTheory.FlattestFactorization(problem.GroundTruth!, dims);
            using var f64 = Cpu(problem, dims, "gram");
            using var f32 = Cpu(problem, dims, "gram", Precision.F32);
            Assert.InRange(f64.Evaluate(layers, Quantities.Loss).Loss, 0.0, 1e-12);
            Assert.InRange(f32.Evaluate(layers, Quantities.Loss).Loss, 0.0, 1e-5);
        }
    }

    [Fact]
    public void RejectsMismatchedShapesAndPaths()
    {
        int[] dims = [4, 3, 5];
        var dense = DenseProblem(6, dims);
        var error = Assert.Throws<ArgumentException>(() => Cpu(dense, [4, 3, 6], "direct"));
        Assert.Contains("5x4", error.Message);
        Assert.Throws<ArgumentException>(() => Cpu(dense, dims, "sideways"));
        var data = new SolverTestData(1);
        var completion = data.WithRandomLabels(data.RandomCompletion(10, 5, 4, 1.0));
        Assert.Contains("rank-one", Assert.Throws<ArgumentException>(() => Cpu(completion, dims, "rank-one")).Message);
        using var evaluator = Cpu(dense, dims, "direct");
        var wrong = data.Layers([4, 2, 5]);
        Assert.Contains("W1", Assert.Throws<ArgumentException>(() => evaluator.Evaluate(wrong, Quantities.All)).Message);
    }

    private static IEvaluator Cpu(SensingProblem problem, int[] dims, string path, Precision precision = Precision.F64) =>
        Evaluators.Create(problem, dims, new EvaluatorOptions { Backend = BackendKind.Cpu, Path = ChoiceNames.ParsePath(path), Precision = precision });

    private static double Relative(double actual, double expected) => Math.Abs(actual - expected) / Math.Max(Math.Abs(expected), 1e-300);

    /// <summary>Worst over layers of max |actual - expected| / max |expected| (absolute when the expected gradient is zero).</summary>
    private static double GradientError(Matrix<double>[] actual, Matrix<double>[] expected)
    {
        Assert.Equal(expected.Length, actual.Length);
        double worst = 0;
        for (int k = 0; k < expected.Length; k++)
        {
            Assert.Equal(expected[k].Rows, actual[k].Rows);
            Assert.Equal(expected[k].Cols, actual[k].Cols);
            double scale = SolverTestData.MaxAbs(expected[k]);
            double diff = SolverTestData.MaxAbsDiff(actual[k], expected[k]);
            worst = Math.Max(worst, scale > 0 ? diff / scale : diff);
        }
        return worst;
    }
}

public class EvaluatorThreadsTests
{
    /// <summary>A thread limit changes who computes, not what: every quantity agrees with the unlimited evaluator.</summary>
    [Theory]
    [InlineData(EvaluationPath.Gram)]
    [InlineData(EvaluationPath.Direct)]
    public void AThreadLimitGivesTheSameNumbers(EvaluationPath path)
    {
        var problem = Generators.Gaussian(40, 40, 2, 600, seed: 4);
        var dims = new[] { 40, 40, 40, 40 };
        var layers = Flatness.Solver.Model.Initializers.Create(Flatness.Solver.Model.InitKind.Gaussian, dims, 1.0, 5).Layers;
        using var free = Evaluators.Create(problem, dims, new EvaluatorOptions { Backend = BackendKind.Cpu, Path = path });
        using var one = Evaluators.Create(problem, dims, new EvaluatorOptions { Backend = BackendKind.Cpu, Path = path, Threads = 1 });
        Assert.Equal(free.Backend, one.Backend);
        Assert.Equal(path, one.Path);
        var a = free.Evaluate(layers, Quantities.All);
        var b = one.Evaluate(layers, Quantities.All);
        Assert.Equal(a.Loss, b.Loss, 1e-12 * a.Loss);
        Assert.Equal(a.Trace, b.Trace, 1e-12 * a.Trace);
        for (int j = 0; j < layers.Length; j++)
        {
            for (int t = 0; t < a.LossGradient![j].Length; t++) Assert.Equal(a.LossGradient[j].Data[t], b.LossGradient![j].Data[t], 1e-10);
            for (int t = 0; t < a.TraceGradient![j].Length; t++) Assert.Equal(a.TraceGradient[j].Data[t], b.TraceGradient![j].Data[t], 1e-9);
        }
        var hv = one.HessianVectorProduct(layers, layers);
        var hvFree = free.HessianVectorProduct(layers, layers);
        for (int j = 0; j < layers.Length; j++)
            for (int t = 0; t < hv[j].Length; t++) Assert.Equal(hvFree[j].Data[t], hv[j].Data[t], 1e-9);
    }

    [Fact]
    public void AThreadLimitBelowOneIsRefusedByName()
    {
        var problem = Generators.Gaussian(4, 4, 1, 20, seed: 1);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() =>
            Evaluators.Create(problem, [4, 4, 4], new EvaluatorOptions { Backend = BackendKind.Cpu, Threads = 0 }));
        Assert.Contains("thread limit", e.Message);
    }
}
