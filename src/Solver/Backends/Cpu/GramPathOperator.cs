using System.Runtime.CompilerServices;
using System.Numerics;
using System.Numerics.Tensors;
using Flatness.Kernels.Cpu;
using Flatness.Kernels.Tensors;
using Flatness.Solver.Problems;

namespace Flatness.Solver.Backends.Cpu;

/// <summary>
/// The Gram path: K (equivalently the upper block triangle of M = (1/n) X^T X) is built once, O(n d_L^2 d_0^2);
/// then every evaluation is one pass over K (<see cref="GramOperator.Apply{T}"/>) with one right-hand side per
/// wanted sandwich, independent of n. The loss comes from the same pass as
/// vec(E)^T M vec(E) - 2 vec(E)^T c + beta (c = X^T b / n, beta = b^T b / n), or from the residual when X is at hand
/// and reading it is cheaper. The quadratic form cancels when the loss is small: its absolute error is about
/// eps * b^T b / n (eps the unit roundoff of T), which the residual avoids.
/// </summary>
internal sealed class GramPathOperator<T> : DenseSandwichOperator<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly GramLayout _layout;
    private readonly T[] _k;
    private readonly T[]? _x;
    private readonly T[] _c;
    private readonly double _beta;
    private readonly int _workers;
    private readonly T[] _workspace;
    private readonly T[] _hs, _gs, _sOut, _sAdjointOut;
    private readonly T[] _me;
    private readonly int[] _sSlot, _sAdjointSlot;
    private readonly Matrix<T> _sIdentity, _sAdjointIdentity;

    public GramPathOperator(SensingProblem problem, IReadOnlyList<int> dims) : base(problem, dims)
    {
        if (problem.Measurements is not DenseMeasurements dense)
            throw new ArgumentException($"the Gram path needs dense measurements, the problem has {problem.Measurements.Kind}", nameof(problem));
        int dL = OutputDim, d0 = InputDim, size = dL * d0;
        _layout = new GramLayout(dL, d0);
        _k = new T[_layout.Length];
        GramOperator.Build<double, T>(_layout, Count, dense.A, _k);

        // c = X^T b / n and beta = b^T b / n, accumulated in float64.
        var c = new double[size];
        for (int i = 0; i < Count; i++)
        {
            double bi = problem.Labels[i] / Count;
            if (bi != 0) TensorPrimitives.MultiplyAdd(dense.Item(i), bi, c, c);
        }
        _c = Numerics.As<T>(c);
        _beta = TensorPrimitives.SumOfSquares(problem.Labels) / Count;
        // X is kept for the residual when it costs nothing (the problem's own float64 array) or is small next to K.
        if (typeof(T) == typeof(double) || 2L * Count * size < _layout.Length)
            _x = Numerics.As<T>(dense.A);

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

    public override string Path => "gram";

    /// <summary>Whether the loss is read from the residual rather than from K in this evaluation.</summary>
    private bool UseResidual(SandwichPlan plan) =>
        _x is not null && 2L * Count * OutputDim * InputDim < (plan.AnySandwich ? 2L : 1L) * _layout.Length;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override double Prepare(SandwichPlan plan, Matrix<T>[] prefix, Matrix<T>[] suffix, Matrix<T> z)
    {
        int dL = OutputDim, d0 = InputDim;
        int nh = 0, ng = 0;
        for (int j = 2; j <= Depth; j++)
        {
            if (!plan.S[j]) continue;
            var q = prefix[j - 1]; // H_j = Q_j^T Q_j
            SymmetricGemm.Compute(Op.Transpose, Op.None, d0, q.Rows, T.One, q.Data, d0, q.Data, d0, T.Zero, _hs.AsSpan(nh * d0 * d0, d0 * d0), d0);
            _sSlot[j] = nh++;
        }
        for (int j = 1; j < Depth; j++)
        {
            if (!plan.SAdjoint[j]) continue;
            var p = suffix[j]; // G_j = P_j P_j^T
            SymmetricGemm.Compute(Op.None, Op.Transpose, dL, p.Cols, T.One, p.Data, p.Cols, p.Data, p.Cols, T.Zero, _gs.AsSpan(ng * dL * dL, dL * dL), dL);
            _sAdjointSlot[j] = ng++;
        }

        bool residual = plan.Loss && UseResidual(plan);
        bool lossFromK = plan.Loss && !residual;
        var e = prefix[Depth];
        if (nh + ng > 0 || lossFromK)
            GramOperator.Apply<T>(_layout, _k,
                _hs.AsMemory(0, nh * d0 * d0), _sOut.AsMemory(0, nh * dL * dL),
                _gs.AsMemory(0, ng * dL * dL), _sAdjointOut.AsMemory(0, ng * d0 * d0),
                lossFromK ? e.Data : ReadOnlyMemory<T>.Empty, lossFromK ? _me : Memory<T>.Empty,
                _workspace, _workers);

        if (residual) return ResidualLoss(e, plan.LossGradient ? z : null);
        if (!lossFromK) return double.NaN;
        // loss = e^T M e - 2 c^T e + beta, Z = 2 (M e - c).
        // A sum of squares: the expanded form can dip below zero by round-off at an interpolant, never truly.
        double loss = Math.Max(0.0, Numerics.Dot<T>(e.Data, _me) - 2 * Numerics.Dot<T>(_c, e.Data) + _beta);
        if (plan.LossGradient)
        {
            TensorPrimitives.Subtract(_me, _c, z.Data);
            TensorPrimitives.Multiply(z.Data, T.CreateTruncating(2), z.Data);
        }
        return loss;
    }

    protected override ReadOnlySpan<T> SMatrix(int j) =>
        j == 1 ? _sIdentity.Data : _sOut.AsSpan(_sSlot[j] * OutputDim * OutputDim, OutputDim * OutputDim);

    protected override ReadOnlySpan<T> SAdjointMatrix(int j) =>
        j == Depth ? _sAdjointIdentity.Data : _sAdjointOut.AsSpan(_sAdjointSlot[j] * InputDim * InputDim, InputDim * InputDim);

    public override double SFlops(int j) => GramOperator.ApplyFlops(_layout, 1, 0, false);
    public override double SAdjointFlops(int j) => GramOperator.ApplyFlops(_layout, 0, 1, false);

    protected override void Forward(Matrix<T> e, Span<T> f) => Sensing.Forward<T>(Count, _x, e.Data, f);
    protected override void Adjoint(ReadOnlySpan<T> w, T alpha, Matrix<T> z) => Sensing.Adjoint<T>(Count, _x, w, alpha, z.Data);
}
