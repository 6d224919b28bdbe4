using System.Runtime.CompilerServices;
using System.Numerics;
using System.Numerics.Tensors;
using Flatness.Kernels.Cpu;
using Flatness.Kernels.Tensors;
using Flatness.Solver.Backends.Core;
using Flatness.Solver.Problems;

namespace Flatness.Solver.Backends.Cpu;

/// <summary>
/// Matrix completion (A_i = s e_{r_i} e_{c_i}^T): the sandwiches are diagonal (<see cref="CompletionOperator"/>), so
/// S(H_j) needs only diag H_j (the squared column norms of Q_j), S*(G_j) only diag G_j (the squared row norms of
/// P_j), and the products S(H_j) P_j, Q_j S*(G_j) are row and column scalings. O(n + L d^2) per evaluation
/// beyond the chains.
/// </summary>
internal sealed class CompletionPathOperator<T> : CpuPathOperator<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly int[] _rows, _cols;
    private readonly T _scale;
    private readonly T[][] _sDiagonal, _sAdjointDiagonal;
    private readonly T[] _hDiagonal, _gDiagonal;

    public CompletionPathOperator(SensingProblem problem, IReadOnlyList<int> dims, CpuOps<T> ops) : base(problem, dims, ops)
    {
        if (problem.Measurements is not CompletionMeasurements completion)
            throw new ArgumentException($"the completion path needs completion measurements, the problem has {problem.Measurements.Kind.Name()}", nameof(problem));
        _rows = completion.RowIndex;
        _cols = completion.ColIndex;
        _scale = T.CreateTruncating(completion.Scale);
        _sDiagonal = new T[Depth + 1][];
        _sAdjointDiagonal = new T[Depth + 1][];
        for (int j = 1; j <= Depth; j++)
        {
            _sDiagonal[j] = new T[OutputDim];
            _sAdjointDiagonal[j] = new T[InputDim];
        }
        _hDiagonal = new T[InputDim];
        _gDiagonal = new T[OutputDim];
        _hDiagonal.AsSpan().Fill(T.One);
        _gDiagonal.AsSpan().Fill(T.One);
        CompletionOperator.SDiagonal<T>(_rows, _cols, _scale, _hDiagonal, _sDiagonal[1]);
        CompletionOperator.SAdjointDiagonal<T>(_rows, _cols, _scale, _gDiagonal, _sAdjointDiagonal[Depth]);
    }

    /// <summary>Gather, scatter and diagonal sandwiches: O(n + L d^2) per evaluation beyond the core.</summary>
    public static PathCost Cost(ProblemShape shape)
    {
        double n = shape.Count, step = shape.CoreFlops + 6 * n;
        for (int j = 2; j < shape.Depth; j++) step += 2.0 * shape.Dims[j - 1] * shape.InputDim + 2.0 * shape.OutputDim * shape.Dims[j] + 4 * n;
        double memory = n * (2 * sizeof(int) + 2 * shape.ElementBytes);
        return new PathCost(0, step, n * (2 * sizeof(int) + 2 * shape.ElementBytes) * Math.Max(1, shape.Depth - 1), memory);
    }

    public override EvaluationPath Path => EvaluationPath.Completion;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void Prepare(SandwichPlan plan, PartialProducts<T, Matrix<T>> products, Matrix<T> z)
    {
        for (int j = 2; j <= Depth; j++)
        {
            if (!plan.S[j]) continue;
            var q = products.Q[j]; // diag(Q^T Q)[b] = sum_r Q[r,b]^2
            _hDiagonal.AsSpan().Clear();
            for (int r = 0; r < q.Rows; r++) TensorPrimitives.FusedMultiplyAdd(q.Row(r), q.Row(r), _hDiagonal, _hDiagonal);
            CompletionOperator.SDiagonal<T>(_rows, _cols, _scale, _hDiagonal, _sDiagonal[j]);
        }
        for (int j = 1; j < Depth; j++)
        {
            if (!plan.SAdjoint[j]) continue;
            var p = products.P[j]; // diag(P P^T)[a] = ||P[a,:]||^2
            for (int a = 0; a < p.Rows; a++) _gDiagonal[a] = TensorPrimitives.SumOfSquares<T>(p.Row(a));
            CompletionOperator.SAdjointDiagonal<T>(_rows, _cols, _scale, _gDiagonal, _sAdjointDiagonal[j]);
        }
        if (plan.Loss) ResidualLoss(products.E, plan.LossGradient ? z : null);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void MultiplyS(int j, Matrix<T> p, Matrix<T> x, T alpha)
    {
        var d = _sDiagonal[j];
        for (int a = 0; a < p.Rows; a++) TensorPrimitives.Multiply(p.Row(a), alpha * d[a], x.Row(a));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void MultiplySAdjoint(int j, Matrix<T> q, Matrix<T> y, T alpha)
    {
        var d = _sAdjointDiagonal[j];
        for (int r = 0; r < q.Rows; r++)
        {
            TensorPrimitives.Multiply(q.Row(r), d, y.Row(r));
            TensorPrimitives.Multiply(y.Row(r), alpha, y.Row(r));
        }
    }

    public override double SFlops(int j) => 2.0 * Dims[j - 1] * InputDim + 2.0 * Count;
    public override double SAdjointFlops(int j) => 2.0 * OutputDim * Dims[j] + 2.0 * Count;

    protected override void Forward(Matrix<T> e, Span<T> f) => CompletionOperator.Forward<T>(_rows, _cols, _scale, e.Data, InputDim, f);
    protected override void Adjoint(ReadOnlySpan<T> w, T alpha, Matrix<T> z) => CompletionOperator.Adjoint<T>(_rows, _cols, _scale, w, alpha, z.Data, InputDim);
}
