using System.Runtime.CompilerServices;
using System.Numerics;
using Flatness.Kernels.Cpu;
using Flatness.Kernels.Tensors;
using Flatness.Solver.Backends.Core;
using Flatness.Solver.Problems;

namespace Flatness.Solver.Backends.Cpu;

/// <summary>
/// The direct path, O(n L d^3) per evaluation: the measurements are kept side by side (<see cref="SideLayout"/>)
/// for the sandwiches, which run as a few large GEMMs per chunk (<see cref="DenseSandwich"/>), and as the rows of
/// X for the residual (<see cref="Sensing"/>). S(I) and S*(I), the j = 1 and j = L sandwiches, are computed once.
/// </summary>
internal sealed class DirectPathOperator<T> : DenseSandwichOperator<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Measurements per chunk are sized to about this many bytes, so that a chunk and its intermediates stay in cache.</summary>
    public const long ChunkBytes = 4 << 20;

    private readonly SideLayout _layout;
    private readonly T[] _side;
    private readonly T[] _x;
    private readonly T[] _workspace;
    private readonly Matrix<T>[] _s;
    private readonly Matrix<T>[] _sAdjoint;

    public DirectPathOperator(SensingProblem problem, IReadOnlyList<int> dims, CpuOps<T> ops) : base(problem, dims, ops)
    {
        var a = DenseStack.Of(problem.Measurements);
        _layout = Layout(Count, OutputDim, InputDim, System.Runtime.CompilerServices.Unsafe.SizeOf<T>());
        _side = new T[_layout.Length];
        _layout.Pack<double, T>(a, _side);
        _x = Numerics.As<T>(a);
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

    public override EvaluationPath Path => EvaluationPath.Direct;

    /// <summary>
    /// Per evaluation S(H_j) and S*(G_j) for the inner layers j = 2..L-1 (the end layers use the constants S(I), S*(I))
    /// plus the residual; the measurements are read once per sandwich and twice for the loss.
    /// </summary>
    public static PathCost Cost(ProblemShape shape)
    {
        int depth = shape.Depth, d0 = shape.InputDim, dL = shape.OutputDim, bytes = shape.ElementBytes;
        double a = shape.DenseElements;
        if (a > Array.MaxLength) return PathCost.Infeasible(a * bytes);
        var layout = Layout(shape.Count, dL, d0, bytes);
        double step = 2 * Sensing.Flops(shape.Count, dL * d0) + shape.CoreFlops;
        int sandwiches = 0;
        for (int j = 2; j < depth; j++)
        {
            step += DenseSandwich.SOfGramFlops(layout, shape.Dims[j - 1]) + DenseSandwich.SAdjointOfGramFlops(layout, shape.Dims[j]);
            sandwiches += 2;
        }
        double setup = a * (dL + d0);
        int maxWidth = 1;
        for (int j = 1; j < depth; j++) maxWidth = Math.Max(maxWidth, shape.Dims[j]);
        // The side-by-side copy, X (the problem's own array in float64, a converted copy in float32) and the workspace;
        // structured measurements are materialised first (a float64 copy).
        double memory = ((bytes == sizeof(double) ? 1 : 2) * a + DenseSandwich.WorkspaceLength(layout, maxWidth)) * bytes
            + (shape.Kind == MeasurementKind.Dense ? 0 : a * sizeof(double));
        return new PathCost(setup, step, (sandwiches + 2) * a * bytes, memory);
    }

    public static SideLayout Layout(int count, int outputDim, int inputDim, int elementBytes) =>
        SideLayout.ForChunkBytes(count, outputDim, inputDim, ChunkBytes, elementBytes);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void Prepare(SandwichPlan plan, PartialProducts<T, Matrix<T>> products, Matrix<T> z)
    {
        for (int j = 2; j <= Depth; j++)
            if (plan.S[j])
                DenseSandwich.SOfGram<T>(_layout, _side, Dims[j - 1], products.Q[j].Data, _s[j].Data, _workspace);
        for (int j = 1; j < Depth; j++)
            if (plan.SAdjoint[j])
                DenseSandwich.SAdjointOfGram<T>(_layout, _side, Dims[j], products.P[j].Data, _sAdjoint[j].Data, _workspace);
        if (plan.Loss) ResidualLoss(products.E, plan.LossGradient ? z : null);
    }

    protected override ReadOnlySpan<T> SMatrix(int j) => _s[j].Data;
    protected override ReadOnlySpan<T> SAdjointMatrix(int j) => _sAdjoint[j].Data;

    public override double SFlops(int j) => DenseSandwich.SOfGramFlops(_layout, Dims[j - 1]);
    public override double SAdjointFlops(int j) => DenseSandwich.SAdjointOfGramFlops(_layout, Dims[j]);

    protected override void Forward(Matrix<T> e, Span<T> f) => Sensing.Forward<T>(Count, _x, e.Data, f);
    protected override void Adjoint(ReadOnlySpan<T> w, T alpha, Matrix<T> z) => Sensing.Adjoint<T>(Count, _x, w, alpha, z.Data);
}
