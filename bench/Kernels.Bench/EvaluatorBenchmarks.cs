using BenchmarkDotNet.Attributes;
using Flatness.Kernels.Tensors;
using Flatness.Solver.Backends;
using Flatness.Solver.Model;
using Flatness.Solver.Problems;

namespace Flatness.Bench;

/// <summary>
/// One objective-plus-gradient evaluation (loss, trace and both gradients) on a Gaussian problem with
/// d_0 = d_L = every hidden width = D: the CPU direct and Gram paths in float64 and float32 against the plain
/// float64 reference. Setup (packing A, building K) happens once, outside the measurement.
/// Run: dotnet run -c Release --project bench/Kernels.Bench -- --filter '*EvaluatorBenchmarks*'
/// </summary>
[MemoryDiagnoser]
public class EvaluatorBenchmarks
{
    /// <summary>A problem size; printed as the parameter's value.</summary>
    public sealed record Case(int D, int Depth, int N)
    {
        public override string ToString() => $"D={D} L={Depth} n={N}";
    }

    public static IEnumerable<Case> Cases => [new(10, 3, 500), new(30, 3, 1000), new(50, 3, 2000)];

    [ParamsSource(nameof(Cases))]
    public Case Size { get; set; } = new(10, 3, 500);

    private Matrix<double>[] _layers = [];
    private IEvaluator _reference = null!, _direct = null!, _gram = null!, _direct32 = null!, _gram32 = null!;

    [GlobalSetup]
    public void Setup()
    {
        var problem = Generators.Generate(new ProblemSpec(ProblemKind.Gaussian, Size.D, Size.D, Rank: Math.Min(Size.D, 5), Count: Size.N, Seed: 0));
        var dims = Initializers.Dims(Size.D, Size.D, Size.Depth);
        _layers = Initializers.Gaussian(dims, 1.0, 1).Layers;
        _reference = new ReferenceEvaluator(problem);
        _direct = Evaluators.Create(problem, dims, new EvaluatorOptions { Backend = BackendKind.Cpu, Path = EvaluationPath.Direct, Precision = Precision.F64 });
        _gram = Evaluators.Create(problem, dims, new EvaluatorOptions { Backend = BackendKind.Cpu, Path = EvaluationPath.Gram, Precision = Precision.F64 });
        _direct32 = Evaluators.Create(problem, dims, new EvaluatorOptions { Backend = BackendKind.Cpu, Path = EvaluationPath.Direct, Precision = Precision.F32 });
        _gram32 = Evaluators.Create(problem, dims, new EvaluatorOptions { Backend = BackendKind.Cpu, Path = EvaluationPath.Gram, Precision = Precision.F32 });
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var e in new[] { _reference, _direct, _gram, _direct32, _gram32 }) e.Dispose();
    }

    [Benchmark(Baseline = true)]
    public Evaluation Reference() => _reference.Evaluate(_layers, Quantities.All);

    [Benchmark]
    public Evaluation DirectF64() => _direct.Evaluate(_layers, Quantities.All);

    [Benchmark]
    public Evaluation GramF64() => _gram.Evaluate(_layers, Quantities.All);

    [Benchmark]
    public Evaluation DirectF32() => _direct32.Evaluate(_layers, Quantities.All);

    [Benchmark]
    public Evaluation GramF32() => _gram32.Evaluate(_layers, Quantities.All);
}
