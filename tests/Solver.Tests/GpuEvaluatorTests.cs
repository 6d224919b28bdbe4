using Flatness.Kernels.Cpu;
using Flatness.Kernels.Gpu;
using Flatness.Kernels.Tensors;
using Flatness.Solver.Backends;
using Flatness.Solver.Problems;

namespace Flatness.Tests;

/// <summary>
/// The ILGPU evaluator against an independent float64 oracle built from the measurement operators
/// (Forward, Adjoint, S, S*) and the O(L^2) form of the trace gradient, for every measurement type and path.
/// </summary>
[Collection("gpu")]
public sealed class GpuEvaluatorTests(GpuFixture fixture)
{
    // ------------------------------------------------------------ problems and layers

    private static double[] Gaussian(Random rng, long count)
    {
        var x = new double[count];
        for (long i = 0; i < count; i++)
            x[i] = Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
        return x;
    }

    internal static SensingProblem Problem(MeasurementKind kind, int n, int dl, int d0, int seed)
    {
        var rng = new Random(seed);
        Measurements m = kind switch
        {
            MeasurementKind.Dense => new DenseMeasurements(n, dl, d0, Gaussian(rng, (long)n * dl * d0)),
            MeasurementKind.RankOne => new RankOneMeasurements(n, dl, d0, Gaussian(rng, (long)n * dl), Gaussian(rng, (long)n * d0)),
            _ => new CompletionMeasurements(dl, d0,
                Enumerable.Range(0, n).Select(_ => rng.Next(dl)).ToArray(),
                Enumerable.Range(0, n).Select(_ => rng.Next(d0)).ToArray(), scale: 1.7),
        };
        return new SensingProblem(m, Gaussian(rng, n));
    }

    internal static Matrix<double>[] Layers(int[] dims, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(1, dims.Length - 1)
            .Select(j => new Matrix<double>(dims[j], dims[j - 1], Gaussian(rng, (long)dims[j] * dims[j - 1]).Select(v => v / Math.Sqrt(dims[j - 1])).ToArray()))
            .ToArray();
    }

    // ------------------------------------------------------------ float64 oracle (docs/MATH.md sections 1-2)

    private static Matrix<double> Mul(Matrix<double> a, Matrix<double> b, Op opA = Op.None, Op opB = Op.None) => Gemm.Multiply(a, b, opA, opB);

    /// <summary>W_{k:j} = W_k ... W_j (1-based), the identity of size d_{j-1} when k &lt; j.</summary>
    private static Matrix<double> Chain(Matrix<double>[] w, int k, int j)
    {
        var result = Matrix<double>.Identity(j == 1 ? w[0].Cols : w[j - 2].Rows);
        for (int t = j; t <= k; t++) result = Mul(w[t - 1], result);
        return result;
    }

    private static double Inner(Matrix<double> a, Matrix<double> b) => a.Data.Zip(b.Data, (x, y) => x * y).Sum();

    internal static Evaluation Oracle(SensingProblem problem, Matrix<double>[] w)
    {
        var m = problem.Measurements;
        int l = w.Length, n = problem.Count;
        var e = Chain(w, l, 1);
        var f = new double[n];
        m.Forward(e, f);
        var r = f.Select((v, i) => v - problem.Labels[i]).ToArray();
        double loss = r.Sum(v => v * v) / n;
        var z = m.Adjoint(r.Select(v => 2.0 * v / n).ToArray());
        var lossGrad = new Matrix<double>[l];
        var traceGrad = new Matrix<double>[l];
        var p = new Matrix<double>[l + 1];
        var q = new Matrix<double>[l + 1];
        for (int j = 1; j <= l; j++) { p[j] = Chain(w, l, j + 1); q[j] = Chain(w, j - 1, 1); }
        for (int k = 1; k <= l; k++)
        {
            lossGrad[k - 1] = Mul(Mul(p[k], z, Op.Transpose), q[k], Op.None, Op.Transpose);
            traceGrad[k - 1] = new Matrix<double>(w[k - 1].Rows, w[k - 1].Cols);
        }
        double trace = 0;
        for (int j = 1; j <= l; j++)
        {
            var g = Mul(p[j], p[j], Op.None, Op.Transpose);
            var h = Mul(q[j], q[j], Op.Transpose);
            var s = m.S(h);
            var sAdj = m.SAdjoint(g);
            trace += 2 * Inner(g, s);
            var dp = Mul(s, p[j]);       // d tr_j / d P_j = 4 S(H_j) P_j (factor 4 applied below)
            var dq = Mul(q[j], sAdj);    // d tr_j / d Q_j = 4 Q_j S*(G_j)
            // P_j = P_k W_k W_{k-1:j+1} for k > j;  Q_j = W_{j-1:k+1} W_k Q_k for k < j.
            for (int k = j + 1; k <= l; k++)
                Accumulate(traceGrad[k - 1], Mul(Mul(p[k], dp, Op.Transpose), Chain(w, k - 1, j + 1), Op.None, Op.Transpose), 4);
            for (int k = 1; k < j; k++)
                Accumulate(traceGrad[k - 1], Mul(Mul(Chain(w, j - 1, k + 1), dq, Op.Transpose), q[k], Op.None, Op.Transpose), 4);
        }
        return new Evaluation { Loss = loss, Trace = trace, LossGradient = lossGrad, TraceGradient = traceGrad };
    }

    private static void Accumulate(Matrix<double> target, Matrix<double> x, double scale)
    {
        for (int t = 0; t < x.Data.Length; t++) target.Data[t] += scale * x.Data[t];
    }

    // ------------------------------------------------------------ comparison

    private static double GradientError(Matrix<double>[] got, Matrix<double>[] want)
    {
        double scale = want.SelectMany(g => g.Data).Select(Math.Abs).DefaultIfEmpty(0).Max();
        double worst = 0;
        for (int j = 0; j < want.Length; j++)
        {
            Assert.Equal(want[j].Rows, got[j].Rows);
            Assert.Equal(want[j].Cols, got[j].Cols);
            for (int t = 0; t < want[j].Data.Length; t++) worst = Math.Max(worst, Math.Abs(got[j].Data[t] - want[j].Data[t]));
        }
        return scale == 0 ? worst : worst / scale;
    }

    private static void AssertClose(Evaluation want, Evaluation got, double tolerance, string what)
    {
        double lossError = Math.Abs(got.Loss - want.Loss) / Math.Max(Math.Abs(want.Loss), 1e-300);
        double traceError = Math.Abs(got.Trace - want.Trace) / Math.Max(Math.Abs(want.Trace), 1e-300);
        double lossGradError = GradientError(got.LossGradient!, want.LossGradient!);
        double traceGradError = GradientError(got.TraceGradient!, want.TraceGradient!);
        Assert.True(lossError < tolerance, $"{what}: loss {got.Loss} vs {want.Loss} (relative error {lossError:E2})");
        Assert.True(traceError < tolerance, $"{what}: trace {got.Trace} vs {want.Trace} (relative error {traceError:E2})");
        Assert.True(lossGradError < tolerance, $"{what}: loss gradient relative error {lossGradError:E2}");
        Assert.True(traceGradError < tolerance, $"{what}: trace gradient relative error {traceGradError:E2}");
    }

    public static TheoryData<MeasurementKind, string> Cases => new()
    {
        { MeasurementKind.Dense, "direct" }, { MeasurementKind.Dense, "gram" },
        { MeasurementKind.Completion, "completion" }, { MeasurementKind.Completion, "direct" }, { MeasurementKind.Completion, "gram" },
        { MeasurementKind.RankOne, "rank-one" }, { MeasurementKind.RankOne, "direct" }, { MeasurementKind.RankOne, "gram" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesFloat64OracleAtDepthsOneToThree(MeasurementKind kind, string pathName)
    {
        var problem = Problem(kind, n: 23, dl: 5, d0: 4, seed: 11);
        var path = ChoiceNames.ParsePath(pathName)!.Value;
        foreach (var dims in new[] { new[] { 4, 5 }, new[] { 4, 3, 5 }, new[] { 4, 6, 2, 5 } })
        {
            using var f64 = GpuBackend.Create(problem, dims, path, Precision.F64, fixture.Kind, fixture.Context);
            using var f32 = GpuBackend.Create(problem, dims, path, Precision.F32, fixture.Kind, fixture.Context);
            Assert.Equal(GpuBackend.BackendOf(fixture.Kind), f64.Backend);
            Assert.Equal(path, f64.Path);
            Assert.Equal(Precision.F32, f32.Precision);
            var w = Layers(dims, seed: dims.Length);
            var want = Oracle(problem, w);
            var reference = new ReferenceEvaluator(problem).Evaluate(w, Quantities.All);
            var got64 = f64.Evaluate(w, Quantities.All);
            AssertClose(want, got64, 1e-10, $"{kind}/{pathName}/f64/L={w.Length}");
            AssertClose(reference, got64, 1e-10, $"{kind}/{pathName}/f64 vs ReferenceEvaluator/L={w.Length}");
            AssertClose(reference, f32.Evaluate(w, Quantities.All), 2e-5, $"{kind}/{pathName}/f32/L={w.Length}");
        }
    }

    /// <summary>The oracle's trace gradient against central differences of its trace (so the oracle itself is checked).</summary>
    [Fact]
    public void OracleTraceGradientMatchesFiniteDifferences()
    {
        var problem = Problem(MeasurementKind.Dense, n: 9, dl: 3, d0: 2, seed: 5);
        var w = Layers(new[] { 2, 3, 2, 3 }, seed: 9);
        var want = Oracle(problem, w);
        const double h = 1e-5;
        for (int k = 0; k < w.Length; k++)
            for (int t = 0; t < w[k].Data.Length; t++)
            {
                double saved = w[k].Data[t];
                w[k].Data[t] = saved + h;
                double up = Oracle(problem, w).Trace;
                w[k].Data[t] = saved - h;
                double down = Oracle(problem, w).Trace;
                w[k].Data[t] = saved;
                Assert.Equal(want.TraceGradient![k].Data[t], (up - down) / (2 * h), 1e-6);
            }
    }

    /// <summary>The direct path in blocks of measurements (the memory-bounded schedule) gives the same numbers.</summary>
    [Fact]
    public void DirectPathInBlocksMatchesOracle()
    {
        var problem = Problem(MeasurementKind.Dense, n: 23, dl: 5, d0: 4, seed: 3);
        int[] dims = [4, 6, 5];
        using var evaluator = GpuBackend.Create(problem, dims, EvaluationPath.Direct, Precision.F64, fixture.Kind, fixture.Context, directChunk: 7);
        var w = Layers(dims, seed: 4);
        AssertClose(Oracle(problem, w), evaluator.Evaluate(w, Quantities.All), 1e-10, "direct in blocks of 7");
        var values = evaluator.Evaluate(w, Quantities.Values);
        Assert.Null(values.LossGradient);
        Assert.Null(values.TraceGradient);
        Assert.Equal(Oracle(problem, w).Trace, values.Trace, 1e-10);
    }

    [Fact]
    public void RejectsLayersThatDoNotFitTheProblem()
    {
        var problem = Problem(MeasurementKind.Dense, n: 5, dl: 3, d0: 2, seed: 1);
        using var evaluator = GpuBackend.Create(problem, [2, 3], EvaluationPath.Direct, Precision.F64, fixture.Kind, fixture.Context);
        var e = Assert.Throws<ArgumentException>(() => evaluator.Evaluate(Layers(new[] { 3, 3 }, 1), Quantities.All));
        Assert.Contains("3x2", e.Message);
        Assert.Throws<ArgumentException>(() => GpuBackend.Create(problem, [2, 3], EvaluationPath.RankOne, Precision.F64, fixture.Kind, fixture.Context));
        Assert.Throws<ArgumentException>(() => GpuBackend.Create(problem, [2, 4], EvaluationPath.Direct, Precision.F64, fixture.Kind, fixture.Context));
    }

    [SkippableFact]
    public void FactoryBuildsIlgpuEvaluatorsOnTheCpuAccelerator()
    {
        Skip.IfNot(fixture.Kind == GpuKind.Cpu, "the tests run on a real accelerator (FLATNESS_TEST_ACCELERATOR)");
        var problem = Problem(MeasurementKind.Dense, n: 12, dl: 3, d0: 4, seed: 2);
        int[] dims = [4, 3, 3];
        var w = Layers(dims, 6);
        using var onGpu = Evaluators.Create(problem, dims, new EvaluatorOptions { Backend = BackendKind.IlgpuCpu, Path = EvaluationPath.Gram });
        Assert.Equal(BackendKind.IlgpuCpu, onGpu.Backend);
        Assert.Equal(EvaluationPath.Gram, onGpu.Path);
        AssertClose(Oracle(problem, w), onGpu.Evaluate(w, Quantities.All), 1e-10, "factory ilgpu-cpu");
    }

    [Fact]
    public void ACancelledGramSetupStopsBeforeItsFirstBlockAndTheContextStaysUsable()
    {
        var problem = Problem(MeasurementKind.Dense, n: 12, dl: 3, d0: 4, seed: 2);
        int[] dims = [4, 3, 3];
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.Throws<OperationCanceledException>(() =>
            GpuBackend.Create(problem, dims, EvaluationPath.Gram, Precision.F64, fixture.Kind, fixture.Context, cancelled.Token));
        // The same request with a live token builds and evaluates as usual.
        using var live = new CancellationTokenSource();
        using var evaluator = GpuBackend.Create(problem, dims, EvaluationPath.Gram, Precision.F64, fixture.Kind, fixture.Context, live.Token);
        var w = Layers(dims, 6);
        AssertClose(Oracle(problem, w), evaluator.Evaluate(w, Quantities.All), 1e-10, "gram after a cancelled setup");
    }

    [SkippableFact]
    public void FactoryFallsBackToTheCpuWithOneWarningWithoutCuda()
    {
        Skip.If(DeviceInventory.BestAccelerator(GpuKind.Cuda) is not null, "a CUDA device is present: there is nothing to fall back from");
        var problem = Problem(MeasurementKind.Dense, n: 12, dl: 3, d0: 4, seed: 2);
        int[] dims = [4, 3, 3];
        var w = Layers(dims, 6);
        var warnings = new List<string>();
        using var fallback = Evaluators.Create(problem, dims,
            new EvaluatorOptions { Backend = BackendKind.IlgpuCuda, Path = EvaluationPath.Direct, Warn = warnings.Add });
        Assert.Equal(BackendKind.Cpu, fallback.Backend);
        Assert.Equal(EvaluationPath.Direct, fallback.Path);
        AssertClose(Oracle(problem, w), fallback.Evaluate(w, Quantities.All), 1e-10, "CPU fallback");
        var warning = Assert.Single(warnings);
        Assert.StartsWith("ILGPU unavailable (no CUDA accelerator found", warning);
        Assert.DoesNotContain('\n', warning);
    }
}
