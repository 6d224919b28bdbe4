using System.Runtime.CompilerServices;
using System.Numerics;
using System.Numerics.Tensors;
using Flatness.Kernels.Cpu;
using Flatness.Kernels.Tensors;
using Flatness.Solver.Backends.Core;
using Flatness.Solver.Problems;

namespace Flatness.Solver.Backends.Cpu;

/// <summary>
/// The Gram path: K (equivalently the upper block triangle of M = (1/n) X^T X) is built once, O(n d_L^2 d_0^2);
/// then every evaluation is one pass over K (<see cref="GramOperator.Apply{T}"/>) with one right-hand side per
/// wanted sandwich, independent of n. The loss comes from the same pass as
/// vec(E)^T M vec(E) - 2 vec(E)^T c + beta (c = X^T b / n, beta = b^T b / n), or from the residual when X is at hand
/// and reading it is cheaper. The quadratic form cancels when the loss is small: its absolute error is about
/// eps times the size of its terms (eps the unit roundoff of T), so below <see cref="ResidualBelow"/> of that size the
/// loss and Z are taken again from the float64 residual.
/// </summary>
internal sealed class GramPathOperator<T> : DenseSandwichOperator<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly GramLayout _layout;
    private readonly T[] _k;
    private readonly T[]? _x;
    private readonly double[] _x64;               // the problem's own float64 X, for the near-interpolant residual
    private readonly double[] _e64, _residual64, _z64;
    private readonly double[] _labels64;
    private readonly T[] _c;
    private readonly double _beta;
    private readonly int _workers;
    private readonly T[] _workspace;
    private readonly T[] _hs, _gs, _sOut, _sAdjointOut;
    private readonly T[] _me;
    private readonly int[] _sSlot, _sAdjointSlot;
    private readonly Matrix<T> _sIdentity, _sAdjointIdentity;

    /// <summary>
    /// The expanded loss is replaced by the residual's when it falls below this fraction of the size of its terms,
    /// |e^T M e| + 2 |c^T e| + beta: there its round-off (about eps times that size) would exceed 1e-10 relative in
    /// float64 and 1e-5 in float32.
    /// </summary>
    public static double ResidualBelow => typeof(T) == typeof(float) ? 1e-2 : 1e-6;

    public GramPathOperator(SensingProblem problem, IReadOnlyList<int> dims, CpuOps<T> ops, CancellationToken cancellation = default)
        : base(problem, dims, ops)
    {
        var a = DenseStack.Of(problem.Measurements);
        int dL = OutputDim, d0 = InputDim, size = dL * d0;
        _layout = new GramLayout(dL, d0);
        _k = new T[_layout.Length];
        GramOperator.Build<double, T>(_layout, Count, a, _k, cancellation);
        _x64 = a;
        _labels64 = problem.Labels;
        _e64 = new double[size];
        _z64 = new double[size];
        _residual64 = new double[Count];

        // c = X^T b / n and beta = b^T b / n, accumulated in float64.
        var c = new double[size];
        for (int i = 0; i < Count; i++)
        {
            double bi = problem.Labels[i] / Count;
            if (bi != 0) TensorPrimitives.MultiplyAdd(a.AsSpan(i * size, size), bi, c, c);
        }
        _c = Numerics.As<T>(c);
        _beta = TensorPrimitives.SumOfSquares(problem.Labels) / Count;
        // X is kept for the residual when it costs nothing (the problem's own float64 array) or is small next to K.
        if (typeof(T) == typeof(double) || 2L * Count * size < _layout.Length)
            _x = Numerics.As<T>(a);

        int slots = Math.Max(1, Depth - 2); // sandwiches per evaluation: layers 2..L-1
        _workers = GramOperator.Workers(_layout);
        _workspace = new T[GramOperator.WorkspaceLength(_layout, Math.Max(1, slots), _workers)];
        _hs = new T[slots * d0 * d0];
        _sOut = new T[slots * dL * dL];
        _gs = new T[slots * dL * dL];
        _sAdjointOut = new T[slots * d0 * d0];
        _me = new T[size];
        _sSlot = new int[Depth + 1];
        _sAdjointSlot = new int[Depth + 1];

        _sIdentity = new Matrix<T>(dL, dL);
        _sAdjointIdentity = new Matrix<T>(d0, d0);
        var identityH = Matrix<T>.Identity(d0);
        var identityG = Matrix<T>.Identity(dL);
        var workspace = new T[GramOperator.WorkspaceLength(_layout, 1, _workers)];
        GramOperator.Apply<T>(_layout, _k, identityH.Data, _sIdentity.Data, identityG.Data, _sAdjointIdentity.Data,
            ReadOnlyMemory<T>.Empty, Memory<T>.Empty, workspace, _workers);
    }

    /// <summary>Building K once (its upper block triangle), then one pass over it per evaluation.</summary>
    public static PathCost Cost(ProblemShape shape)
    {
        int d0 = shape.InputDim, dL = shape.OutputDim, bytes = shape.ElementBytes;
        double length = (double)dL * (dL + 1) / 2 * d0 * d0;
        if (length > Array.MaxLength) return PathCost.Infeasible(length * bytes);
        var layout = new GramLayout(dL, d0);
        int inner = Math.Max(0, shape.Depth - 2);
        double step = GramOperator.ApplyFlops(layout, inner, inner, loss: true) + shape.CoreFlops;
        // Structured measurements are materialised, and that float64 X is kept for the near-interpolant residual.
        double x = shape.Kind == MeasurementKind.Dense ? 0 : shape.DenseElements * sizeof(double);
        return new PathCost(GramOperator.BuildFlops(layout, shape.Count), step, length * bytes, length * bytes + x);
    }

    public override EvaluationPath Path => EvaluationPath.Gram;

    /// <summary>Whether the loss is read from the residual rather than from K in this evaluation.</summary>
    private bool UseResidual(SandwichPlan plan) =>
        _x is not null && 2L * Count * OutputDim * InputDim < (plan.AnySandwich ? 2L : 1L) * _layout.Length;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void Prepare(SandwichPlan plan, PartialProducts<T, Matrix<T>> products, Matrix<T> z)
    {
        int dL = OutputDim, d0 = InputDim;
        int nh = 0, ng = 0;
        for (int j = 2; j <= Depth; j++)
        {
            if (!plan.S[j]) continue;
            var q = products.Q[j]; // H_j = Q_j^T Q_j
            SymmetricGemm.Compute(Op.Transpose, Op.None, d0, q.Rows, T.One, q.Data, d0, q.Data, d0, T.Zero, _hs.AsSpan(nh * d0 * d0, d0 * d0), d0);
            _sSlot[j] = nh++;
        }
        for (int j = 1; j < Depth; j++)
        {
            if (!plan.SAdjoint[j]) continue;
            var p = products.P[j]; // G_j = P_j P_j^T
            SymmetricGemm.Compute(Op.None, Op.Transpose, dL, p.Cols, T.One, p.Data, p.Cols, p.Data, p.Cols, T.Zero, _gs.AsSpan(ng * dL * dL, dL * dL), dL);
            _sAdjointSlot[j] = ng++;
        }

        bool residual = plan.Loss && UseResidual(plan);
        bool lossFromK = plan.Loss && !residual;
        var e = products.E;
        if (nh + ng > 0 || lossFromK)
            GramOperator.Apply<T>(_layout, _k,
                _hs.AsMemory(0, nh * d0 * d0), _sOut.AsMemory(0, nh * dL * dL),
                _gs.AsMemory(0, ng * dL * dL), _sAdjointOut.AsMemory(0, ng * d0 * d0),
                lossFromK ? e.Data : ReadOnlyMemory<T>.Empty, lossFromK ? _me : Memory<T>.Empty,
                _workspace, _workers);

        if (residual) ResidualLoss(e, plan.LossGradient ? z : null);
        if (!lossFromK) return;
        // loss = e^T M e - 2 c^T e + beta, Z = 2 (M e - c).
        double quadratic = Numerics.Dot<T>(e.Data, _me), linear = Numerics.Dot<T>(_c, e.Data);
        double loss = quadratic - 2 * linear + _beta;
        if (loss < ResidualBelow * (Math.Abs(quadratic) + 2 * Math.Abs(linear) + _beta))
        {
            ResidualLoss64(e, plan.LossGradient ? z : null);
            return;
        }
        Ops.Scalars[0] = loss;
        if (plan.LossGradient)
        {
            TensorPrimitives.Subtract(_me, _c, z.Data);
            TensorPrimitives.Multiply(z.Data, T.CreateTruncating(2), z.Data);
        }
    }

    /// <summary>
    /// dZ = alpha X^T X vec(dE) = alpha n M vec(dE) for each dE of the block: one pass over K's loss product for all of
    /// them (K is read from memory once), or through X in T when reading it twice per product is cheaper than reading K.
    /// </summary>
    public override void ApplyNormal(IReadOnlyList<Matrix<T>> dE, IReadOnlyList<Matrix<T>> dZ, T alpha)
    {
        if (_x is not null && 2L * Count * OutputDim * InputDim * dE.Count < _layout.Length)
        {
            base.ApplyNormal(dE, dZ, alpha);
            return;
        }
        int size = OutputDim * InputDim, m = dE.Count;
        if (_block.Length < m * size)
        {
            _block = new T[m * size];
            _blockProducts = new T[m * size];
            _blockWorkspace = new T[GramOperator.WorkspaceLength(_layout, 0, _workers, m)];
        }
        for (int r = 0; r < m; r++) dE[r].Data.CopyTo(_block, r * size);
        GramOperator.Apply<T>(_layout, _k, ReadOnlyMemory<T>.Empty, Memory<T>.Empty, ReadOnlyMemory<T>.Empty, Memory<T>.Empty,
            _block.AsMemory(0, m * size), _blockProducts.AsMemory(0, m * size), m == 1 ? _workspace : _blockWorkspace, _workers);
        for (int r = 0; r < m; r++)
            TensorPrimitives.Multiply(_blockProducts.AsSpan(r * size, size), alpha * T.CreateTruncating(Count), dZ[r].Data);
    }

    // The stacked directions of a block of Hessian-vector products, their products and the pass's workspace (grown on demand).
    private T[] _block = [], _blockProducts = [], _blockWorkspace = [];

    /// <summary>The loss and Z from the float64 residual of the problem's own X (near an interpolant).</summary>
    private void ResidualLoss64(Matrix<T> e, Matrix<T>? z)
    {
        Numerics.Convert<T, double>(e.Data, _e64);
        Sensing.Forward<double>(Count, _x64, _e64, _residual64);
        TensorPrimitives.Subtract(_residual64, _labels64, _residual64);
        Ops.Scalars[0] = TensorPrimitives.SumOfSquares<double>(_residual64) / Count;
        if (z is null) return;
        Sensing.Adjoint<double>(Count, _x64, _residual64, 2.0 / Count, _z64);
        Numerics.Convert<double, T>(_z64, z.Data);
    }

    protected override ReadOnlySpan<T> SMatrix(int j) =>
        j == 1 ? _sIdentity.Data : _sOut.AsSpan(_sSlot[j] * OutputDim * OutputDim, OutputDim * OutputDim);

    protected override ReadOnlySpan<T> SAdjointMatrix(int j) =>
        j == Depth ? _sAdjointIdentity.Data : _sAdjointOut.AsSpan(_sAdjointSlot[j] * InputDim * InputDim, InputDim * InputDim);

    public override double SFlops(int j) => GramOperator.ApplyFlops(_layout, 1, 0, false);
    public override double SAdjointFlops(int j) => GramOperator.ApplyFlops(_layout, 0, 1, false);

    // Called only when X is held in T (UseResidual).
    protected override void Forward(Matrix<T> e, Span<T> f) => Sensing.Forward<T>(Count, _x!, e.Data, f);
    protected override void Adjoint(ReadOnlySpan<T> w, T alpha, Matrix<T> z) => Sensing.Adjoint<T>(Count, _x!, w, alpha, z.Data);
}
