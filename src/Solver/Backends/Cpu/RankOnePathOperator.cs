using System.Runtime.CompilerServices;
using System.Numerics;
using Flatness.Kernels.Cpu;
using Flatness.Kernels.Tensors;
using Flatness.Solver.Backends.Core;
using Flatness.Solver.Problems;

namespace Flatness.Solver.Backends.Cpu;

/// <summary>
/// Rank-one measurements (A_i = u_i v_i^T) through <see cref="RankOneOperator"/>:
/// S(H_j) = (1/n) U^T diag(h) U with h_i = v_i^T Q_j^T Q_j v_i = ||Q_j v_i||^2 (one GEMM V Q_j^T and row sums of squares,
/// or V H_j when Q_j has more rows than columns), and S*(G_j) = (1/n) V^T diag(g) V with g_i = ||P_j^T u_i||^2.
/// O(n d^2) per sandwich instead of the dense O(n d^3).
/// </summary>
internal sealed class RankOnePathOperator<T> : DenseSandwichOperator<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T[] _u, _v;
    private readonly T[] _forms;
    private readonly T[] _workspace;
    private readonly T[] _square;
    private readonly Matrix<T>[] _s, _sAdjoint;

    public RankOnePathOperator(SensingProblem problem, IReadOnlyList<int> dims, CpuOps<T> ops) : base(problem, dims, ops)
    {
        if (problem.Measurements is not RankOneMeasurements rankOne)
            throw new ArgumentException($"the rank-one path needs rank-one measurements, the problem has {problem.Measurements.Kind.Name()}", nameof(problem));
        _u = Numerics.As<T>(rankOne.U);
        _v = Numerics.As<T>(rankOne.V);
        _forms = new T[Count];
        int maxWidth = dims.Max();
        _workspace = new T[(long)Count * maxWidth <= Array.MaxLength ? Count * maxWidth : throw new ArgumentException($"n * max width = {Count}*{maxWidth} is too large", nameof(dims))];
        _square = new T[Math.Max(OutputDim * OutputDim, InputDim * InputDim)];
        _s = new Matrix<T>[Depth + 1];
        _sAdjoint = new Matrix<T>[Depth + 1];
        for (int j = 1; j <= Depth; j++)
        {
            _s[j] = new Matrix<T>(OutputDim, OutputDim);
            _sAdjoint[j] = new Matrix<T>(InputDim, InputDim);
        }
        T invN = T.One / T.CreateTruncating(Count);
        // S(I): h_i = ||v_i||^2; S*(I): g_i = ||u_i||^2.
        var identity0 = Matrix<T>.Identity(InputDim);
        RankOneOperator.FactoredQuadraticForms<T>(Count, InputDim, _v, InputDim, identity0.Data, Op.None, _forms, _workspace);
        RankOneOperator.WeightedGram<T>(Count, OutputDim, _u, _forms, invN, _s[1].Data, _workspace);
        var identityL = Matrix<T>.Identity(OutputDim);
        RankOneOperator.FactoredQuadraticForms<T>(Count, OutputDim, _u, OutputDim, identityL.Data, Op.None, _forms, _workspace);
        RankOneOperator.WeightedGram<T>(Count, InputDim, _v, _forms, invN, _sAdjoint[Depth].Data, _workspace);
    }

    /// <summary>GEMMs over the vectors u_i, v_i: O(n L d^2) per evaluation.</summary>
    public static PathCost Cost(ProblemShape shape)
    {
        double n = shape.Count;
        int d0 = shape.InputDim, dL = shape.OutputDim, bytes = shape.ElementBytes;
        double step = shape.CoreFlops + 4 * n * dL * d0;
        for (int j = 2; j < shape.Depth; j++)
            step += 2.0 * n * d0 * Math.Min(shape.Dims[j - 1], d0) + n * dL * dL + 2.0 * n * dL * Math.Min(shape.Dims[j], dL) + n * d0 * d0;
        double memory = n * (dL + d0 + shape.Dims.Max() + 1) * bytes;
        return new PathCost(0, step, 2 * n * (dL + d0) * bytes * Math.Max(1, shape.Depth - 1), memory);
    }

    public override EvaluationPath Path => EvaluationPath.RankOne;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void Prepare(SandwichPlan plan, PartialProducts<T, Matrix<T>> products, Matrix<T> z)
    {
        T invN = T.One / T.CreateTruncating(Count);
        int dL = OutputDim, d0 = InputDim;
        for (int j = 2; j <= Depth; j++)
        {
            if (!plan.S[j]) continue;
            var q = products.Q[j]; // d_{j-1} x d_0
            if (q.Rows <= d0)
                RankOneOperator.FactoredQuadraticForms<T>(Count, d0, _v, q.Rows, q.Data, Op.None, _forms, _workspace);
            else
            {
                var h = _square.AsSpan(0, d0 * d0);
                SymmetricGemm.Compute(Op.Transpose, Op.None, d0, q.Rows, T.One, q.Data, d0, q.Data, d0, T.Zero, h, d0);
                RankOneOperator.QuadraticForms<T>(Count, d0, _v, h, _forms, _workspace);
            }
            RankOneOperator.WeightedGram<T>(Count, dL, _u, _forms, invN, _s[j].Data, _workspace);
        }
        for (int j = 1; j < Depth; j++)
        {
            if (!plan.SAdjoint[j]) continue;
            var p = products.P[j]; // d_L x d_j; g_i = ||P^T u_i||^2, factor F = P^T given as P (stored d_L x d_j)
            if (p.Cols <= dL)
                RankOneOperator.FactoredQuadraticForms<T>(Count, dL, _u, p.Cols, p.Data, Op.Transpose, _forms, _workspace);
            else
            {
                var g = _square.AsSpan(0, dL * dL);
                SymmetricGemm.Compute(Op.None, Op.Transpose, dL, p.Cols, T.One, p.Data, p.Cols, p.Data, p.Cols, T.Zero, g, dL);
                RankOneOperator.QuadraticForms<T>(Count, dL, _u, g, _forms, _workspace);
            }
            RankOneOperator.WeightedGram<T>(Count, d0, _v, _forms, invN, _sAdjoint[j].Data, _workspace);
        }
        if (plan.Loss) ResidualLoss(products.E, plan.LossGradient ? z : null);
    }

    protected override ReadOnlySpan<T> SMatrix(int j) => _s[j].Data;
    protected override ReadOnlySpan<T> SAdjointMatrix(int j) => _sAdjoint[j].Data;

    public override double SFlops(int j) => 2.0 * Count * InputDim * Math.Min(Dims[j - 1], InputDim) + 1.0 * Count * OutputDim * OutputDim;
    public override double SAdjointFlops(int j) => 2.0 * Count * OutputDim * Math.Min(Dims[j], OutputDim) + 1.0 * Count * InputDim * InputDim;

    protected override void Forward(Matrix<T> e, Span<T> f) => RankOneOperator.Forward<T>(Count, OutputDim, InputDim, _u, _v, e.Data, f, _workspace);
    protected override void Adjoint(ReadOnlySpan<T> w, T alpha, Matrix<T> z) => RankOneOperator.Adjoint<T>(Count, OutputDim, InputDim, _u, _v, w, alpha, z.Data, _workspace);
}
