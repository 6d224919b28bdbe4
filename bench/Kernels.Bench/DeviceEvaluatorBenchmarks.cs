using BenchmarkDotNet.Attributes;
using Flatness.Kernels.Tensors;
using Flatness.Solver.Backends;
using Flatness.Solver.Model;
using Flatness.Solver.Problems;

namespace Flatness.Bench;

/// <summary>
/// CPU against GPU: one objective-plus-gradient evaluation on the CPU evaluator and on the ILGPU evaluator (the best
/// accelerator ILGPU finds), same path and precision, across sizes. Meant for a machine with a GPU; without one the
/// factory falls back to the CPU with a warning, or ILGPU runs on its (slow) CPU accelerator.
/// Run: dotnet run -c Release --project bench/Kernels.Bench -- --filter '*DeviceEvaluatorBenchmarks*'
/// </summary>
public class DeviceEvaluatorBenchmarks
{
    public static IEnumerable<EvaluatorBenchmarks.Case> Cases => [new(50, 3, 2000), new(100, 4, 8000), new(256, 4, 20000)];

    [ParamsSource(nameof(Cases))]
    public EvaluatorBenchmarks.Case Size { get; set; } = new(50, 3, 2000);

    [Params(EvaluationPath.Direct, EvaluationPath.Gram)]
    public EvaluationPath Path { get; set; } = EvaluationPath.Direct;

    [Params(Precision.F32, Precision.F64)]
    public Precision Precision { get; set; } = Precision.F32;

    private Matrix<double>[] _layers = [];
    private IEvaluator _cpu = null!, _gpu = null!;

    [GlobalSetup]
    public void Setup()
    {
        var problem = Generators.Generate(new ProblemSpec(ProblemKind.Gaussian, Size.D, Size.D, Rank: Math.Min(Size.D, 5), Count: Size.N, Seed: 0));
        var dims = Initializers.Dims(Size.D, Size.D, Size.Depth);
        _layers = Initializers.Gaussian(dims, 1.0, 1).Layers;
        _cpu = Evaluators.Create(problem, dims, new EvaluatorOptions { Backend = BackendKind.Cpu, Path = Path, Precision = Precision });
        _gpu = Evaluators.Create(problem, dims, new EvaluatorOptions { Backend = BackendKind.Ilgpu, Path = Path, Precision = Precision });
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _cpu.Dispose();
        _gpu.Dispose();
    }

    [Benchmark(Baseline = true)]
    public Evaluation Cpu() => _cpu.Evaluate(_layers, Quantities.All);

    [Benchmark]
    public Evaluation Gpu() => _gpu.Evaluate(_layers, Quantities.All);
}
