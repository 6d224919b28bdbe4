using System.Runtime.CompilerServices;
using System.Numerics;
using Flatness.Kernels.Cpu;
using Flatness.Kernels.Tensors;
using Flatness.Solver.Problems;

namespace Flatness.Solver.Backends.Cpu;

/// <summary>
/// The direct path, O(n L d^3) per evaluation: the measurements are kept side by side (<see cref="SideLayout"/>)
/// for the sandwiches, which run as a few large GEMMs per chunk (<see cref="DenseSandwich"/>), and as the rows of
/// X for the residual (<see cref="Sensing"/>). S(I) and S*(I), the j = 1 and j = L sandwiches, are computed once.
/// </summary>
internal sealed class DirectOperator<T> : DenseSandwichOperator<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Measurements per chunk are sized to about this many bytes, so that a chunk and its intermediates stay in cache.</summary>
    public const long ChunkBytes = 4 << 20;

    private readonly SideLayout _layout;
    private readonly T[] _side;
    private readonly T[] _x;
    private readonly T[] _workspace;
    private readonly Matrix<T>[] _s;
    private readonly Matrix<T>[] _sAdjoint;

    public DirectOperator(SensingProblem problem, IReadOnlyList<int> dims) : base(problem, dims)
    {
        if (problem.Measurements is not DenseMeasurements dense)
            throw new ArgumentException($"the direct path needs dense measurements, the problem has {problem.Measurements.Kind}", nameof(problem));
        _layout = Layout(Count, OutputDim, InputDim, System.Runtime.CompilerServices.Unsafe.SizeOf<T>());
        _side = new T[_layout.Length];
        _layout.Pack<double, T>(dense.A, _side);
        _x = Numerics.As<T>(dense.A);
        int maxWidth = 1;
        for (int j = 1; j < Depth; j++) maxWidth = Math.Max(maxWidth, Dims[j]);
        _workspace = new T[DenseSandwich.WorkspaceLength(_layout, maxWidth)];
        _s = new Matrix<T>[Depth + 1];
        _sAdjoint = new Matrix<T>[Depth + 1];
        for (int j = 1; j <= Depth; j++)
        {
            _s[j] = new Matrix<T>(OutputDim, OutputDim);
            _sAdjoint[j] = new Matrix<T>(InputDim, InputDim);
        }
        DenseSandwich.SIdentity<T>(_layout, _side, _s[1].Data);
        DenseSandwich.SAdjointIdentity<T>(_layout, _side, _sAdjoint[Depth].Data);
    }

    public override string Path => "direct";

    public static SideLayout Layout(int count, int outputDim, int inputDim, int elementBytes) =>
        SideLayout.ForChunkBytes(count, outputDim, inputDim, ChunkBytes, elementBytes);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override double Prepare(SandwichPlan plan, Matrix<T>[] prefix, Matrix<T>[] suffix, Matrix<T> z)
    {
        for (int j = 2; j <= Depth; j++)
            if (plan.S[j])
                DenseSandwich.SOfGram<T>(_layout, _side, Dims[j - 1], prefix[j - 1].Data, _s[j].Data, _workspace);
        for (int j = 1; j < Depth; j++)
            if (plan.SAdjoint[j])
                DenseSandwich.SAdjointOfGram<T>(_layout, _side, Dims[j], suffix[j].Data, _sAdjoint[j].Data, _workspace);
        return plan.Loss ? ResidualLoss(prefix[Depth], plan.LossGradient ? z : null) : double.NaN;
    }

    protected override ReadOnlySpan<T> SMatrix(int j) => _s[j].Data;
    protected override ReadOnlySpan<T> SAdjointMatrix(int j) => _sAdjoint[j].Data;

    public override double SFlops(int j) => DenseSandwich.SOfGramFlops(_layout, Dims[j - 1]);
    public override double SAdjointFlops(int j) => DenseSandwich.SAdjointOfGramFlops(_layout, Dims[j]);

    protected override void Forward(Matrix<T> e, Span<T> f) => Sensing.Forward<T>(Count, _x, e.Data, f);
    protected override void Adjoint(ReadOnlySpan<T> w, T alpha, Matrix<T> z) => Sensing.Adjoint<T>(Count, _x, w, alpha, z.Data);
}
