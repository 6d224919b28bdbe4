using Flatness.Solver.Backends;
using Flatness.Solver.Problems;
using Xunit.Abstractions;

namespace Flatness.Tests;

/// <summary>The selector's choices on clear-cut cases, with a fixed machine model so that they do not depend on the host.</summary>
public class CpuEvaluatorSelectorTests(ITestOutputHelper output)
{
    private static readonly MachineModel Machine = new(FlopsPerSecond: 32e9, BytesPerSecond: 10e9, MemoryBudgetBytes: 8e9);

    [Fact]
    public void ManyMeasurementsOfSmallMatricesTakeTheGramPath()
    {
        var choice = EvaluatorSelector.Choose(MeasurementKind.Dense, 1_000_000, [10, 10, 10, 10], machine: Machine);
        output.WriteLine(choice.Reason);
        Assert.Equal(("cpu", "gram", "f64"), (choice.Backend, choice.Path, choice.Precision));
        Assert.StartsWith("gram", choice.Reason);
        Assert.Contains("K needs", choice.Reason);
    }

    [Fact]
    public void FewMeasurementsOfLargeMatricesTakeTheDirectPath()
    {
        var choice = EvaluatorSelector.Choose(MeasurementKind.Dense, 20, [100, 100, 100, 100], machine: Machine);
        output.WriteLine(choice.Reason);
        Assert.Equal("direct", choice.Path);
        Assert.StartsWith("direct (cheaper)", choice.Reason);
    }

    [Fact]
    public void GramOperatorTooLargeForAnArrayTakesTheDirectPath()
    {
        var choice = EvaluatorSelector.Choose(MeasurementKind.Dense, 50, [400, 30, 400], machine: Machine);
        output.WriteLine(choice.Reason);
        Assert.Equal("direct", choice.Path);
        Assert.Contains("gram infeasible", choice.Reason);
        Assert.Throws<ArgumentException>(() => EvaluatorSelector.Choose(MeasurementKind.Dense, 50, [400, 30, 400], path: "gram", machine: Machine));
    }

    [Fact]
    public void GramOperatorOverTheMemoryBudgetTakesTheDirectPath()
    {
        var small = Machine with { MemoryBudgetBytes = 1e6 };
        var choice = EvaluatorSelector.Choose(MeasurementKind.Dense, 100, [30, 30, 30, 30], machine: small with { MemoryBudgetBytes = 3e6 });
        output.WriteLine(choice.Reason);
        Assert.Equal("direct", choice.Path);
        Assert.Contains("K does not fit", choice.Reason);
        Assert.Throws<InvalidOperationException>(() => EvaluatorSelector.Choose(MeasurementKind.Dense, 100, [30, 30, 30, 30], machine: small));
    }

    [Theory]
    [InlineData(MeasurementKind.Completion, "completion")]
    [InlineData(MeasurementKind.RankOne, "rank-one")]
    public void StructuredMeasurementsAlwaysUseTheirOperators(MeasurementKind kind, string path)
    {
        foreach (int n in new[] { 10, 10_000_000 })
            foreach (var dims in new[] { new[] { 5, 5, 5 }, new[] { 300, 20, 20, 300 } })
            {
                var choice = EvaluatorSelector.Choose(kind, n, dims, machine: Machine);
                Assert.Equal(path, choice.Path);
                Assert.Equal("cpu", choice.Backend);
            }
        Assert.Throws<ArgumentException>(() => EvaluatorSelector.Choose(kind, 10, [5, 5], path: "gram", machine: Machine));
        Assert.Throws<ArgumentException>(() => EvaluatorSelector.Choose(kind, 10, [5, 5], path: "direct", machine: Machine));
    }

    [Fact]
    public void ForcedPathsBackendsAndPrecisionsAreHonoured()
    {
        var forced = EvaluatorSelector.Choose(MeasurementKind.Dense, 1_000_000, [10, 10, 10], path: "direct", precision: "f32", machine: Machine);
        Assert.Equal(("cpu", "direct", "f32"), (forced.Backend, forced.Path, forced.Precision));
        var reference = EvaluatorSelector.Choose(MeasurementKind.Dense, 10, [3, 3], backend: "reference", machine: Machine);
        Assert.Equal(("reference", "reference", "f64"), (reference.Backend, reference.Path, reference.Precision));
        Assert.Throws<ArgumentException>(() => EvaluatorSelector.Choose(MeasurementKind.Dense, 10, [3, 3], backend: "reference", precision: "f32"));
        Assert.Contains("backend", Assert.Throws<ArgumentException>(() => EvaluatorSelector.Choose(MeasurementKind.Dense, 10, [3, 3], backend: "abacus")).Message);
        Assert.Contains("precision", Assert.Throws<ArgumentException>(() => EvaluatorSelector.Choose(MeasurementKind.Dense, 10, [3, 3], precision: "f16")).Message);
    }

    [Fact]
    public void FactoryBuildsWhatTheChoiceNames()
    {
        var data = new SolverTestData(2);
        var problem = data.WithRandomLabels(data.GaussianDense(12, 3, 4));
        using var reference = Evaluators.Create(problem, [4, 2, 3], backend: "reference");
        Assert.IsType<ReferenceEvaluator>(reference);
        using var gram = Evaluators.Create(problem, [4, 2, 3], backend: "cpu", path: "gram", precision: "f32");
        Assert.IsType<CpuEvaluator<float>>(gram);
        Assert.Equal("gram", gram.Path);
        using var auto = Evaluators.Create(problem, [4, 2, 3]);
        Assert.Equal("cpu", auto.Backend);
        Assert.Throws<ArgumentException>(() => Evaluators.Create(problem, [5, 2, 3]));
        var completion = data.WithRandomLabels(data.RandomCompletion(9, 3, 4, 1.0));
        using var structured = Evaluators.Create(completion, [4, 2, 3]);
        Assert.Equal("completion", structured.Path);
    }
}
