using System.Globalization;
using System.Numerics;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Filters;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Flatness.Kernels.Cpu;
using Flatness.Solver.Benchmarking;

namespace Flatness.Bench;

/// <summary>
/// Our GEMM against OpenBLAS (the baseline) in the same run, both on all cores, C = A B row-major.
/// When OpenBLAS is not installed its benchmarks are filtered out with a message.
/// Run: dotnet run -c Release --project bench/Kernels.Bench -- --filter '*Gemm*'
/// </summary>
public class GemmConfig : ManualConfig
{
    public GemmConfig()
    {
        AddColumn(new GflopsColumn());
        if (!OpenBlas.IsAvailable)
        {
            Console.WriteLine(OpenBlas.Status);
            AddFilter(new SimpleFilter(b => b.Descriptor.WorkloadMethod.Name != nameof(GemmSquareBenchmarks<float>.OpenBLAS)));
        }
    }
}

/// <summary>Square products n x n x n.</summary>
[Config(typeof(GemmConfig))]
[GenericTypeArguments(typeof(float))]
[GenericTypeArguments(typeof(double))]
public class GemmSquareBenchmarks<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private GemmOperands<T> _operands = null!;

    [Params(64, 128, 256, 512, 1024, 2048)]
    public int N { get; set; }

    [GlobalSetup]
    public void Setup() => _operands = new GemmOperands<T>(N, N, N);

    [Benchmark(Baseline = true)]
    public void OpenBLAS() => _operands.RunOpenBlas();

    [Benchmark]
    public void Ours() => _operands.RunOurs();
}

/// <summary>Tall-skinny products of the direct evaluation path: a small m x k matrix times a wide k x n one.</summary>
[Config(typeof(GemmConfig))]
[GenericTypeArguments(typeof(float))]
[GenericTypeArguments(typeof(double))]
public class GemmTallSkinnyBenchmarks<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private GemmOperands<T> _operands = null!;

    /// <summary>m x k x n.</summary>
    [Params("50x50x100000", "100x100x20000")]
    public string Shape { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        int[] d = Shape.Split('x').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        _operands = new GemmOperands<T>(d[0], d[1], d[2]);
    }

    [Benchmark(Baseline = true)]
    public void OpenBLAS() => _operands.RunOpenBlas();

    [Benchmark]
    public void Ours() => _operands.RunOurs();
}

/// <summary>Random operands of one product and the two ways to compute it, both on all cores.</summary>
internal sealed class GemmOperands<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly int _m, _n, _k;
    private readonly T[] _a, _b, _c;

    public GemmOperands(int m, int k, int n)
    {
        (_m, _k, _n) = (m, k, n);
        var random = new Random(1);
        _a = GemmBenchmark.RandomArray<T>(random, m * k);
        _b = GemmBenchmark.RandomArray<T>(random, k * n);
        _c = new T[m * n];
        Gemm.MaxThreads = Environment.ProcessorCount;
        if (OpenBlas.IsAvailable) OpenBlas.SetThreads(Environment.ProcessorCount);
    }

    public void RunOurs() => Gemm.Compute(Op.None, Op.None, _m, _n, _k, T.One, _a, _k, _b, _n, T.Zero, _c, _n);

    public void RunOpenBlas() => OpenBlas.Gemm(Op.None, Op.None, _m, _n, _k, T.One, _a, _k, _b, _n, T.Zero, _c, _n);
}

/// <summary>GFLOP/s of a GEMM benchmark (2 m n k over the mean time), from its N or Shape parameter.</summary>
internal sealed class GflopsColumn : IColumn
{
    public string Id => nameof(GflopsColumn);
    public string ColumnName => "GFLOP/s";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => "2 m n k / mean time, in 10^9 floating-point operations per second";

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    public bool IsAvailable(Summary summary) => true;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) =>
        GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var report = summary[benchmarkCase];
        if (report?.ResultStatistics is not { } statistics) return "NA";
        double flops;
        if (benchmarkCase.Parameters["N"] is int n)
            flops = GemmBenchmark.Flops(n, n, n);
        else if (benchmarkCase.Parameters["Shape"] is string shape)
        {
            int[] d = shape.Split('x').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
            flops = GemmBenchmark.Flops(d[0], d[2], d[1]);
        }
        else return "NA";
        return (flops / statistics.Mean).ToString("F1", CultureInfo.InvariantCulture); // ns -> GFLOP/s
    }

    public override string ToString() => ColumnName;
}
