using Flatness.Kernels.Gpu;
using Flatness.Kernels.Tensors;
using Flatness.Solver.Backends;
using Flatness.Solver.Problems;
using Flatness.Solver.Theory;
using Xunit.Abstractions;

namespace Flatness.Tests;

/// <summary>
/// One suite for every evaluator: each backend x path x precision x depth 1-5 x measurement kind against the plain
/// float64 <see cref="ReferenceEvaluator"/>, through <see cref="EvaluationDifference"/>. A device that is absent here is
/// a skip with the reason, never a pass.
/// </summary>
[Collection("gpu")]
public sealed class EvaluatorConformanceTests(GpuFixture fixture, ITestOutputHelper output)
{
    private static readonly BackendKind[] Backends = [BackendKind.Cpu, BackendKind.IlgpuCpu, BackendKind.IlgpuCuda];

    public static TheoryData<BackendKind, MeasurementKind, EvaluationPath, Precision, int> Cases()
    {
        var data = new TheoryData<BackendKind, MeasurementKind, EvaluationPath, Precision, int>();
        foreach (var backend in Backends)
            foreach (var kind in new[] { MeasurementKind.Dense, MeasurementKind.Completion, MeasurementKind.RankOne })
                foreach (var path in new[] { EvaluationPath.Direct, EvaluationPath.Gram, EvaluationPath.Completion, EvaluationPath.RankOne })
                {
                    bool applies = path is EvaluationPath.Direct or EvaluationPath.Gram
                        || (path == EvaluationPath.Completion && kind == MeasurementKind.Completion)
                        || (path == EvaluationPath.RankOne && kind == MeasurementKind.RankOne);
                    if (!applies) continue;
                    foreach (var precision in new[] { Precision.F64, Precision.F32 })
                        for (int depth = 1; depth <= 5; depth++) data.Add(backend, kind, path, precision, depth);
                }
        return data;
    }

    /// <summary>Skips, with the reason, a backend this machine (or this test run's accelerator) cannot give.</summary>
    private void RequireBackend(BackendKind backend)
    {
        if (backend == BackendKind.IlgpuCuda)
            Skip.If(DeviceInventory.BestAccelerator(GpuKind.Cuda) is null, "no CUDA device on this machine");
        if (backend == BackendKind.IlgpuCpu)
            Skip.IfNot(fixture.Kind == GpuKind.Cpu, "this run's accelerator is a real device (FLATNESS_TEST_ACCELERATOR)");
    }

    private IEvaluator Create(BackendKind backend, SensingProblem problem, int[] dims, EvaluationPath path, Precision precision) =>
        backend == BackendKind.IlgpuCpu
            ? GpuBackend.Create(problem, dims, path, precision, GpuKind.Cpu, fixture.Context)
            : Evaluators.Create(problem, dims, new EvaluatorOptions { Backend = backend, Path = path, Precision = precision });

    private static int[] Dims(int depth) => depth switch
    {
        1 => [4, 5],
        2 => [4, 3, 5],
        3 => [4, 6, 2, 5],
        4 => [4, 3, 5, 4, 5],
        _ => [4, 2, 5, 3, 6, 5],
    };

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public void MatchesTheReference(BackendKind backend, MeasurementKind kind, EvaluationPath path, Precision precision, int depth)
    {
        RequireBackend(backend);
        var problem = GpuEvaluatorTests.Problem(kind, n: 23, dl: 5, d0: 4, seed: 11 + depth);
        var dims = Dims(depth);
        var layers = GpuEvaluatorTests.Layers(dims, seed: depth);
        var reference = new ReferenceEvaluator(problem).Evaluate(layers, Quantities.All);
        using var evaluator = Create(backend, problem, dims, path, precision);
        Assert.Equal(backend, evaluator.Backend);
        Assert.Equal(path, evaluator.Path);
        Assert.Equal(precision, evaluator.Precision);
        double tolerance = precision == Precision.F64 ? 1e-10 : 5e-4;

        var all = evaluator.Evaluate(layers, Quantities.All);
        var difference = EvaluationDifference.Between(reference, all);
        output.WriteLine($"{backend.Name()} {kind} {path.Name()} {precision.Name()} L={depth}: {difference}");
        Assert.True(difference.Max < tolerance, $"worst relative error {difference.Max:E2} above {tolerance:E0}: {difference}");
        Assert.Equal(depth, all.LayerTraces!.Length);
        for (int j = 0; j < depth; j++)
            Assert.True(Math.Abs(all.LayerTraces[j] - reference.LayerTraces![j]) <= tolerance * Math.Abs(reference.Trace),
                $"layer {j + 1} trace {all.LayerTraces[j]} vs {reference.LayerTraces[j]}");

        // Parts asked for alone (the trace then takes the cheaper of S and S* per layer) give the same numbers.
        var traceOnly = evaluator.Evaluate(layers, Quantities.Trace);
        Assert.True(Math.Abs(traceOnly.Trace - reference.Trace) <= tolerance * Math.Abs(reference.Trace), $"trace alone {traceOnly.Trace} vs {reference.Trace}");
        Assert.True(double.IsNaN(traceOnly.Loss));
        Assert.Null(traceOnly.LossGradient);
        var lossOnly = evaluator.Evaluate(layers, Quantities.Loss | Quantities.LossGradient);
        var lossDifference = EvaluationDifference.Between(new Evaluation { Loss = reference.Loss, LossGradient = reference.LossGradient }, lossOnly);
        Assert.True(lossDifference.Max < tolerance, $"loss alone: {lossDifference}");
        Assert.Null(lossOnly.TraceGradient);
    }

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public void HessianVectorProductsMatchTheReference(BackendKind backend, MeasurementKind kind, EvaluationPath path, Precision precision, int depth)
    {
        RequireBackend(backend);
        var problem = GpuEvaluatorTests.Problem(kind, n: 23, dl: 5, d0: 4, seed: 31 + depth);
        var dims = Dims(depth);
        var layers = GpuEvaluatorTests.Layers(dims, seed: depth);
        var direction = GpuEvaluatorTests.Layers(dims, seed: 100 + depth);
        var want = new ReferenceEvaluator(problem).HessianVectorProduct(layers, direction);
        using var evaluator = Create(backend, problem, dims, path, precision);
        var got = evaluator.HessianVectorProduct(layers, direction);
        double error = EvaluationDifference.Between(new Evaluation { LossGradient = want }, new Evaluation { LossGradient = got }).LossGradient;
        double tolerance = precision == Precision.F64 ? 1e-10 : 5e-4;
        output.WriteLine($"{backend.Name()} {kind} {path.Name()} {precision.Name()} L={depth}: H V relative error {error:E2}");
        Assert.True(error < tolerance, $"H V relative error {error:E2} above {tolerance:E0}");

        // A block of products at once (one pass over K on the Gram path): each as the reference gives it alone.
        var directions = new[] { direction, GpuEvaluatorTests.Layers(dims, seed: 200 + depth), GpuEvaluatorTests.Layers(dims, seed: 300 + depth) };
        var block = evaluator.HessianVectorProducts(layers, directions);
        Assert.Equal(3, block.Length);
        for (int r = 0; r < 3; r++)
        {
            var alone = new ReferenceEvaluator(problem).HessianVectorProduct(layers, directions[r]);
            double blockError = EvaluationDifference.Between(new Evaluation { LossGradient = alone }, new Evaluation { LossGradient = block[r] }).LossGradient;
            Assert.True(blockError < tolerance, $"product {r} of the block: relative error {blockError:E2} above {tolerance:E0}");
        }
        Assert.Empty(evaluator.HessianVectorProducts(layers, []));
    }

    /// <summary>
    /// 1e-7 (in residual scale) from an interpolant of a dense problem with n &gt; d_L d_0, where the Gram path's expanded
    /// quadratic form cancels: every f64 path and backend must still give the residual's loss and gradient.
    /// </summary>
    [SkippableTheory]
    [InlineData(BackendKind.Cpu, EvaluationPath.Gram)]
    [InlineData(BackendKind.Cpu, EvaluationPath.Direct)]
    [InlineData(BackendKind.IlgpuCpu, EvaluationPath.Gram)]
    [InlineData(BackendKind.IlgpuCpu, EvaluationPath.Direct)]
    [InlineData(BackendKind.IlgpuCuda, EvaluationPath.Gram)]
    [InlineData(BackendKind.IlgpuCuda, EvaluationPath.Direct)]
    public void NearAnInterpolantTheLossIsTheResiduals(BackendKind backend, EvaluationPath path)
    {
        RequireBackend(backend);
        var problem = Generators.Gaussian(6, 6, 2, 150, seed: 4);
        int[] dims = [6, 6, 6, 6];
        var layers = FlatnessTheory.FlattestFactorization(problem.GroundTruth!, dims);
        var data = new SolverTestData(8);
        foreach (var w in layers)
            for (int t = 0; t < w.Data.Length; t++) w.Data[t] += 1e-7 * data.Normal();
        var reference = new ReferenceEvaluator(problem).Evaluate(layers, Quantities.All);
        Assert.InRange(reference.Loss, 1e-16, 1e-11); // the residual scale is about 1e-7
        using var evaluator = Create(backend, problem, dims, path, Precision.F64);
        var got = evaluator.Evaluate(layers, Quantities.All);
        var difference = EvaluationDifference.Between(reference, got);
        output.WriteLine($"{backend.Name()} {path.Name()}: loss {got.Loss:E6} vs {reference.Loss:E6}; {difference}");
        Assert.True(difference.Loss < 1e-6, $"loss {got.Loss} vs {reference.Loss}: relative error {difference.Loss:E2}");
        Assert.True(difference.LossGradient < 1e-6, $"loss gradient relative error {difference.LossGradient:E2}");
        var lossOnly = evaluator.Evaluate(layers, Quantities.Loss);
        Assert.True(Math.Abs(lossOnly.Loss - reference.Loss) < 1e-6 * reference.Loss, $"loss alone {lossOnly.Loss} vs {reference.Loss}");
    }

    /// <summary>The loss gradient and trace gradient of the core against central differences (independent of the reference).</summary>
    [Theory]
    [InlineData(EvaluationPath.Direct)]
    [InlineData(EvaluationPath.Gram)]
    public void GradientsMatchCentralDifferences(EvaluationPath path)
    {
        int[] dims = [3, 4, 2, 3, 5];
        var problem = GpuEvaluatorTests.Problem(MeasurementKind.Dense, n: 9, dl: 5, d0: 3, seed: 2);
        var layers = GpuEvaluatorTests.Layers(dims, seed: 3);
        using var evaluator = Evaluators.Create(problem, dims, new EvaluatorOptions { Backend = BackendKind.Cpu, Path = path });
        var at = evaluator.Evaluate(layers, Quantities.All);
        const double h = 1e-5;
        for (int k = 0; k < layers.Length; k++)
            for (int t = 0; t < layers[k].Data.Length; t++)
            {
                double saved = layers[k].Data[t];
                layers[k].Data[t] = saved + h;
                var plus = evaluator.Evaluate(layers, Quantities.Values);
                layers[k].Data[t] = saved - h;
                var minus = evaluator.Evaluate(layers, Quantities.Values);
                layers[k].Data[t] = saved;
                // Both functions are quadratic along a coordinate: central differences are exact up to rounding.
                Assert.Equal((plus.Trace - minus.Trace) / (2 * h), at.TraceGradient![k].Data[t], 1e-6 * (1 + Math.Abs(at.Trace)));
                Assert.Equal((plus.Loss - minus.Loss) / (2 * h), at.LossGradient![k].Data[t], 1e-6 * (1 + Math.Abs(at.Loss)));
            }
    }
}
