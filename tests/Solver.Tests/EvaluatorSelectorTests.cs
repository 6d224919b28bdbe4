using Flatness.Solver;
using Flatness.Kernels.Gpu;
using Flatness.Solver.Backends;
using Flatness.Solver.Model;
using Flatness.Solver.Problems;
using Xunit.Abstractions;

namespace Flatness.Tests;

/// <summary>The selector's choices on clear-cut cases, with fixed device models so that they do not depend on the host.</summary>
public class EvaluatorSelectorTests(ITestOutputHelper output)
{
    private static readonly DeviceModel Cpu = new(BackendKind.Cpu, "test cpu", 32e9, 10e9, 0, 8e9);
    private static readonly DeviceModel[] CpuOnly = [Cpu];

    private static readonly GpuDeviceInfo H200 = new(GpuKind.Cuda, "test GPU", 140L << 30, 32, 1024, 48 << 10, 132, "9.0");

    private static Choice Choose(MeasurementKind kind, int n, int[] dims, EvaluatorOptions? options = null, IReadOnlyList<DeviceModel>? devices = null)
    {
        options ??= new EvaluatorOptions();
        return EvaluatorSelector.Choose(new ProblemShape(kind, n, dims, options.Precision), options, devices ?? CpuOnly);
    }

    [Fact]
    public void ManyMeasurementsOfSmallMatricesTakeTheGramPath()
    {
        var choice = Choose(MeasurementKind.Dense, 1_000_000, [10, 10, 10, 10]);
        output.WriteLine(choice.Reason);
        Assert.Equal((BackendKind.Cpu, EvaluationPath.Gram, Precision.F64), (choice.Backend, choice.Path, choice.Precision));
        Assert.StartsWith("gram on test cpu", choice.Reason);
        Assert.Contains("cheapest that fits", choice.Reason);
        Assert.Contains("direct on test cpu", choice.Reason);
        Assert.Equal(2, choice.Candidates.Count);
    }

    [Fact]
    public void FewMeasurementsOfLargeMatricesTakeTheDirectPath()
    {
        var choice = Choose(MeasurementKind.Dense, 20, [100, 100, 100, 100]);
        output.WriteLine(choice.Reason);
        Assert.Equal(EvaluationPath.Direct, choice.Path);
        var direct = choice.Candidates.Single(c => c.Path == EvaluationPath.Direct);
        var gram = choice.Candidates.Single(c => c.Path == EvaluationPath.Gram);
        Assert.True(direct.Seconds(1000) < gram.Seconds(1000), $"{direct.Seconds(1000)} vs {gram.Seconds(1000)}");
    }

    [Fact]
    public void GramOperatorTooLargeForAnArrayTakesTheDirectPath()
    {
        var choice = Choose(MeasurementKind.Dense, 50, [400, 30, 400]);
        output.WriteLine(choice.Reason);
        Assert.Equal(EvaluationPath.Direct, choice.Path);
        Assert.Contains("gram on test cpu: does not fit", choice.Reason);
        Assert.False(choice.Candidates.Single(c => c.Path == EvaluationPath.Gram).Cost.Feasible);
        Assert.Throws<ProblemTooLargeException>(() => Choose(MeasurementKind.Dense, 50, [400, 30, 400], new EvaluatorOptions { Path = EvaluationPath.Gram }));
    }

    [Fact]
    public void OverTheMemoryBudgetNothingIsChosenAndTheMessageSaysWhy()
    {
        DeviceModel[] small = [Cpu with { MemoryBudgetBytes = 3e6 }];
        var choice = Choose(MeasurementKind.Dense, 100, [30, 30, 30, 30], devices: small);
        output.WriteLine(choice.Reason);
        Assert.Equal(EvaluationPath.Direct, choice.Path);
        Assert.Contains("gram on test cpu: does not fit (needs", choice.Reason);
        DeviceModel[] tiny = [Cpu with { MemoryBudgetBytes = 1e6 }];
        var error = Assert.Throws<ProblemTooLargeException>(() => Choose(MeasurementKind.Dense, 100, [30, 30, 30, 30], devices: tiny));
        Assert.Contains("1 MB available", error.Message);
    }

    [Theory]
    [InlineData(MeasurementKind.Completion, EvaluationPath.Completion)]
    [InlineData(MeasurementKind.RankOne, EvaluationPath.RankOne)]
    public void StructuredMeasurementsUseTheirOperators(MeasurementKind kind, EvaluationPath path)
    {
        foreach (int n in new[] { 100, 100_000 })
        {
            var choice = Choose(kind, n, [300, 20, 20, 300]);
            output.WriteLine(choice.Reason);
            Assert.Equal(path, choice.Path);
            Assert.Equal(BackendKind.Cpu, choice.Backend);
        }
        // Many measurements of a tiny matrix: the Gram path, independent of n, is cheaper even for structured ones.
        Assert.Equal(EvaluationPath.Gram, Choose(kind, 1_000_000, [5, 5, 5]).Path);
        // The dense paths run them too (materialised), when asked; the other structured path does not.
        Assert.Equal(EvaluationPath.Gram, Choose(kind, 10, [5, 5], new EvaluatorOptions { Path = EvaluationPath.Gram }).Path);
        var other = path == EvaluationPath.Completion ? EvaluationPath.RankOne : EvaluationPath.Completion;
        Assert.Throws<ArgumentException>(() => Choose(kind, 10, [5, 5], new EvaluatorOptions { Path = other }));
        Assert.Throws<ArgumentException>(() => Choose(MeasurementKind.Dense, 10, [5, 5], new EvaluatorOptions { Path = path }));
    }

    [Fact]
    public void ForcedPathsBackendsAndPrecisionsAreHonoured()
    {
        var forced = Choose(MeasurementKind.Dense, 1_000_000, [10, 10, 10], new EvaluatorOptions { Path = EvaluationPath.Direct, Precision = Precision.F32 });
        Assert.Equal((BackendKind.Cpu, EvaluationPath.Direct, Precision.F32), (forced.Backend, forced.Path, forced.Precision));
        Assert.Contains("as requested", forced.Reason);
        var reference = Choose(MeasurementKind.Dense, 10, [3, 3], new EvaluatorOptions { Backend = BackendKind.Reference });
        Assert.Equal((BackendKind.Reference, EvaluationPath.Reference, Precision.F64), (reference.Backend, reference.Path, reference.Precision));
        Assert.Throws<ArgumentException>(() => Choose(MeasurementKind.Dense, 10, [3, 3], new EvaluatorOptions { Backend = BackendKind.Reference, Precision = Precision.F32 }));
        Assert.Throws<ArgumentException>(() => Choose(MeasurementKind.Dense, 10, [3, 3], new EvaluatorOptions { Backend = BackendKind.Cpu, Path = EvaluationPath.Reference }));
    }

    [Fact]
    public void NamesAreParsedInOnePlaceWithOneMessage()
    {
        Assert.Equal(Precision.F32, ChoiceNames.ParsePrecision("F32"));
        Assert.Equal(BackendKind.IlgpuCuda, ChoiceNames.ParseBackend("ilgpu-cuda"));
        Assert.Equal(EvaluationPath.RankOne, ChoiceNames.ParsePath("rank-one"));
        Assert.Null(ChoiceNames.ParsePath("auto"));
        Assert.Contains("accepted: auto, cpu, reference, ilgpu", Assert.Throws<ArgumentException>(() => ChoiceNames.ParseBackend("abacus")).Message);
        Assert.Contains("accepted: f64, f32", Assert.Throws<ArgumentException>(() => ChoiceNames.ParsePrecision("f16")).Message);
        Assert.Contains("accepted: auto, reference, direct, gram, completion, rank-one", Assert.Throws<ArgumentException>(() => ChoiceNames.ParsePath("sideways")).Message);
        foreach (var name in ChoiceNames.Backends) Assert.Equal(name, ChoiceNames.ParseBackend(name).Name());
        foreach (var name in ChoiceNames.Precisions) Assert.Equal(name, ChoiceNames.ParsePrecision(name).Name());
    }

    [Fact]
    public void AGpuWinsLargeProblemsAndLosesSmallOnesOnTheSameModel()
    {
        DeviceModel[] machine = [Cpu, DeviceModel.Gpu(H200, Precision.F32)];
        var big = Choose(MeasurementKind.Dense, 20000, [256, 256, 256, 256, 256], new EvaluatorOptions { Precision = Precision.F32 }, machine);
        output.WriteLine(big.Reason);
        Assert.Equal(BackendKind.IlgpuCuda, big.Backend);
        var small = Choose(MeasurementKind.Dense, 50, [5, 5, 5], new EvaluatorOptions { Precision = Precision.F32 }, machine);
        output.WriteLine(small.Reason);
        Assert.Equal(BackendKind.Cpu, small.Backend);
        Assert.Equal(4, small.Candidates.Count);
        // ilgpu on a machine without a GPU runs the CPU and says so.
        var noGpu = Choose(MeasurementKind.Dense, 50, [5, 5, 5], new EvaluatorOptions { Backend = BackendKind.Ilgpu });
        Assert.Equal(BackendKind.Cpu, noGpu.Backend);
        Assert.Contains("no CUDA or OpenCL device found", noGpu.Reason);
        var forcedGpu = Choose(MeasurementKind.Dense, 50, [5, 5, 5], new EvaluatorOptions { Backend = BackendKind.Ilgpu }, machine);
        Assert.Equal(BackendKind.IlgpuCuda, forcedGpu.Backend);
    }

    [Fact]
    public void FactoryBuildsWhatTheChoiceNames()
    {
        var data = new SolverTestData(2);
        var problem = data.WithRandomLabels(data.GaussianDense(12, 3, 4));
        using var reference = Evaluators.Create(problem, [4, 2, 3], new EvaluatorOptions { Backend = BackendKind.Reference });
        Assert.IsType<ReferenceEvaluator>(reference);
        using var gram = Evaluators.Create(problem, [4, 2, 3], new EvaluatorOptions { Backend = BackendKind.Cpu, Path = EvaluationPath.Gram, Precision = Precision.F32 });
        Assert.Equal((BackendKind.Cpu, EvaluationPath.Gram, Precision.F32), (gram.Backend, gram.Path, gram.Precision));
        using var auto = Evaluators.Create(problem, [4, 2, 3]);
        Assert.Equal(BackendKind.Cpu, auto.Backend);
        Assert.Throws<ArgumentException>(() => Evaluators.Create(problem, [5, 2, 3]));
        var completion = data.WithRandomLabels(data.RandomCompletion(9, 3, 4, 1.0));
        using var structured = Evaluators.Create(completion, [4, 2, 3]);
        Assert.Equal(EvaluationPath.Completion, structured.Path);
    }

    [Theory]
    [InlineData(EvaluationPath.Gram)]
    [InlineData(EvaluationPath.Direct)]
    public void ACancelledTokenStopsTheSetup(EvaluationPath path)
    {
        var problem = Generators.Gaussian(inputDim: 6, outputDim: 5, rank: 2, count: 40, seed: 3);
        int[] dims = Initializers.Dims(6, 5, depth: 3);
        var options = new EvaluatorOptions { Backend = BackendKind.Cpu, Path = path, Cancellation = new CancellationToken(canceled: true) };
        Assert.Throws<OperationCanceledException>(() => Evaluators.Create(problem, dims, options));
        using var evaluator = Evaluators.Create(problem, dims, options with { Cancellation = default });
        Assert.Equal(path, evaluator.Path);
    }
}
