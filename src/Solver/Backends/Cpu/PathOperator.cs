using System.Numerics;
using System.Numerics.Tensors;
using Flatness.Kernels.Cpu;
using Flatness.Kernels.Tensors;
using Flatness.Solver.Problems;

namespace Flatness.Solver.Backends.Cpu;

/// <summary>
/// Which sandwiches one evaluation needs, by layer j = 1..L (index j; index 0 unused):
/// S(H_j) with H_j = Q_j^T Q_j for j &gt;= 2 (S(H_1) = S(I) is a constant), S*(G_j) with G_j = P_j P_j^T for
/// j &lt;= L - 1 (S*(G_L) = S*(I) is a constant); and whether the loss and its Z = (2/n) sum_i r_i A_i are wanted.
/// </summary>
internal sealed class SandwichPlan(int depth)
{
    public int Depth { get; } = depth;
    public bool[] S { get; } = new bool[depth + 1];
    public bool[] SAdjoint { get; } = new bool[depth + 1];
    public bool Loss { get; set; }
    public bool LossGradient { get; set; }

    public int SCount => CountSet(S);
    public int SAdjointCount => CountSet(SAdjoint);
    public bool AnySandwich => SCount + SAdjointCount > 0;

    private static int CountSet(bool[] flags)
    {
        int count = 0;
        foreach (bool flag in flags) if (flag) count++;
        return count;
    }

    public void Clear()
    {
        Array.Clear(S);
        Array.Clear(SAdjoint);
        Loss = false;
        LossGradient = false;
    }
}

/// <summary>
/// The measurement-dependent half of a CPU evaluator for one path: it holds the measurements resident in the
/// layouts its kernels want and answers the sandwiches and the loss; the evaluator does the rest (chains,
/// trace terms, chain rule). Q_j = prefix[j - 1] and P_j = suffix[j] (see <see cref="Chains"/>).
/// </summary>
internal abstract class PathOperator<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T[] _labels;
    private readonly T[] _residual;

    protected PathOperator(SensingProblem problem, IReadOnlyList<int> dims)
    {
        Count = problem.Count;
        OutputDim = problem.OutputDim;
        InputDim = problem.InputDim;
        Dims = dims.ToArray();
        Depth = dims.Count - 1;
        _labels = Numerics.As<T>(problem.Labels);
        _residual = new T[Count];
    }

    public abstract string Path { get; }
    protected int Count { get; }
    protected int OutputDim { get; }
    protected int InputDim { get; }
    protected int[] Dims { get; }
    protected int Depth { get; }

    /// <summary>
    /// Computes what <paramref name="plan"/> asks: the sandwiches, kept for <see cref="MultiplyS"/> and
    /// <see cref="MultiplySAdjoint"/>, and the loss (returned; NaN when not asked) with Z into <paramref name="z"/>.
    /// </summary>
    public abstract double Prepare(SandwichPlan plan, Matrix<T>[] prefix, Matrix<T>[] suffix, Matrix<T> z);

    /// <summary>dp = alpha S(H_j) p for p d_L x d_j (S(H_1) = S(I)).</summary>
    public abstract void MultiplyS(int j, Matrix<T> p, Matrix<T> dp, T alpha);

    /// <summary>dq = alpha q S*(G_j) for q d_{j-1} x d_0 (S*(G_L) = S*(I)).</summary>
    public abstract void MultiplySAdjoint(int j, Matrix<T> q, Matrix<T> dq, T alpha);

    /// <summary>Flops of S(H_j) from Q_j, for choosing between S and S* when only the trace is wanted.</summary>
    public abstract double SFlops(int j);

    /// <summary>Flops of S*(G_j) from P_j.</summary>
    public abstract double SAdjointFlops(int j);

    /// <summary>f_i = &lt;A_i, E&gt;, for paths that compute the loss from the residual.</summary>
    protected virtual void Forward(Matrix<T> e, Span<T> f) =>
        throw new InvalidOperationException($"the {Path} path does not evaluate the residual");

    /// <summary>Z = alpha sum_i w_i A_i.</summary>
    protected virtual void Adjoint(ReadOnlySpan<T> w, T alpha, Matrix<T> z) =>
        throw new InvalidOperationException($"the {Path} path does not evaluate the residual");

    /// <summary>(1/n) ||f - b||^2 through the residual, and Z = (2/n) sum_i r_i A_i when asked.</summary>
    protected double ResidualLoss(Matrix<T> e, Matrix<T>? z)
    {
        Forward(e, _residual);
        TensorPrimitives.Subtract(_residual, _labels, _residual);
        double loss = Numerics.SumOfSquares<T>(_residual) / Count;
        if (z is not null) Adjoint(_residual, T.CreateTruncating(2.0 / Count), z);
        return loss;
    }
}

/// <summary>A path whose sandwiches are dense matrices S(H_j) (d_L x d_L) and S*(G_j) (d_0 x d_0).</summary>
internal abstract class DenseSandwichOperator<T> : PathOperator<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    protected DenseSandwichOperator(SensingProblem problem, IReadOnlyList<int> dims) : base(problem, dims) { }

    /// <summary>S(H_j) as a row-major d_L x d_L span; j = 1 gives S(I).</summary>
    protected abstract ReadOnlySpan<T> SMatrix(int j);

    /// <summary>S*(G_j) as a row-major d_0 x d_0 span; j = L gives S*(I).</summary>
    protected abstract ReadOnlySpan<T> SAdjointMatrix(int j);

    public override void MultiplyS(int j, Matrix<T> p, Matrix<T> dp, T alpha) =>
        Gemm.Compute(Op.None, Op.None, OutputDim, p.Cols, OutputDim, alpha, SMatrix(j), OutputDim, p.Data, p.Cols, T.Zero, dp.Data, dp.Cols);

    public override void MultiplySAdjoint(int j, Matrix<T> q, Matrix<T> dq, T alpha) =>
        Gemm.Compute(Op.None, Op.None, q.Rows, InputDim, InputDim, alpha, q.Data, q.Cols, SAdjointMatrix(j), InputDim, T.Zero, dq.Data, dq.Cols);
}
