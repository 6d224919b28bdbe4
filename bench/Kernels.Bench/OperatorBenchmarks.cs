using BenchmarkDotNet.Attributes;
using Flatness.Kernels.Cpu;
using Flatness.Kernels.Tensors;

namespace Flatness.Bench;

/// <summary>
/// The CPU operators of one evaluation on their own, float64, n Gaussian d x d measurements and d x d factors:
/// the partial products, the direct-path sandwiches, one pass over K (with and without the loss product),
/// building K, the dense sensing map, and the structured operators.
/// Run: dotnet run -c Release --project bench/Kernels.Bench -- --filter '*OperatorBenchmarks*'
/// </summary>
[MemoryDiagnoser]
public class OperatorBenchmarks
{
    [Params(30, 50)]
    public int D { get; set; }

    [Params(2000)]
    public int N { get; set; }

    private double[] _stacked = [], _side = [], _k = [], _workspace = [], _gramWorkspace = [];
    private SideLayout _layout;
    private GramLayout _gram;
    private double[] _factor = [], _square = [], _squares = [], _out = [], _outs = [], _adjointOuts = [], _e = [], _me = [], _f = [], _z = [];
    private double[] _u = [], _v = [], _forms = [], _rankOneWorkspace = [];
    private int[] _rows = [], _cols = [];

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(1);
        double[] Normals(int count) => Enumerable.Range(0, count).Select(_ => random.NextDouble() * 2 - 1).ToArray();
        int d = D, n = N;
        _stacked = Normals(n * d * d);
        _layout = SideLayout.ForChunkBytes(n, d, d, 1 << 20, sizeof(double));
        _side = new double[_layout.Length];
        _layout.Pack<double, double>(_stacked, _side);
        _workspace = new double[DenseSandwich.WorkspaceLength(_layout, d)];
        _gram = new GramLayout(d, d);
        _k = new double[_gram.Length];
        GramOperator.Build<double, double>(_gram, n, _stacked, _k);
        _gramWorkspace = new double[GramOperator.WorkspaceLength(_gram, 2, GramOperator.Workers(_gram))];

        _factor = Normals(d * d);
        _square = Normals(d * d);
        _squares = Normals(2 * d * d);
        _out = new double[d * d];
        _outs = new double[2 * d * d];
        _adjointOuts = new double[2 * d * d];
        _e = Normals(d * d);
        _me = new double[d * d];
        _f = new double[n];
        _z = new double[d * d];
        _u = Normals(n * d);
        _v = Normals(n * d);
        _forms = new double[n];
        _rankOneWorkspace = new double[n * d];
        _rows = Enumerable.Range(0, n).Select(_ => random.Next(d)).ToArray();
        _cols = Enumerable.Range(0, n).Select(_ => random.Next(d)).ToArray();
    }

    [Benchmark]
    public void DirectSOfGram() => DenseSandwich.SOfGram<double>(_layout, _side, D, _factor, _out, _workspace);

    [Benchmark]
    public void DirectSAdjointOfGram() => DenseSandwich.SAdjointOfGram<double>(_layout, _side, D, _factor, _out, _workspace);

    [Benchmark]
    public void GramPassTwoLayers() => GramOperator.Apply<double>(_gram, _k, _squares, _outs, _squares, _adjointOuts,
        ReadOnlyMemory<double>.Empty, Memory<double>.Empty, _gramWorkspace, GramOperator.Workers(_gram));

    [Benchmark]
    public void GramPassTwoLayersAndLoss() => GramOperator.Apply<double>(_gram, _k, _squares, _outs, _squares, _adjointOuts,
        _e, _me, _gramWorkspace, GramOperator.Workers(_gram));

    [Benchmark]
    public void GramBuild() => GramOperator.Build<double, double>(_gram, N, _stacked, _k);

    [Benchmark]
    public void SensingForwardAndAdjoint()
    {
        Sensing.Forward<double>(N, _stacked, _e, _f);
        Sensing.Adjoint<double>(N, _stacked, _f, 1.0, _z);
    }

    [Benchmark]
    public void RankOneS()
    {
        RankOneOperator.FactoredQuadraticForms<double>(N, D, _v, D, _factor, Op.None, _forms, _rankOneWorkspace);
        RankOneOperator.WeightedGram<double>(N, D, _u, _forms, 1.0 / N, _out, _rankOneWorkspace);
    }

    [Benchmark]
    public void CompletionS() => CompletionOperator.SDiagonal<double>(_rows, _cols, 1.0, _e.AsSpan(0, D), _out.AsSpan(0, D));
}
