using System.Numerics;
using System.Numerics.Tensors;
using Flatness.Kernels.Cpu;
using Flatness.Kernels.Tensors;
using Flatness.Solver.Backends.Core;
using Flatness.Solver.Problems;

namespace Flatness.Solver.Backends.Cpu;

/// <summary>
/// The host side of <see cref="IPathOperator{T, TMatrix}"/>: what every CPU path shares (sizes, the labels, the loss
/// from the residual). The loss goes into scalar slot 0 of <see cref="Ops"/>.
/// </summary>
internal abstract class CpuPathOperator<T> : IPathOperator<T, Matrix<T>> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T[] _labels;
    private readonly T[] _residual;
    private readonly T[] _directional; // <A_i, dE> for ApplyNormal

    protected CpuPathOperator(SensingProblem problem, IReadOnlyList<int> dims, CpuOps<T> ops)
    {
        Ops = ops;
        Count = problem.Count;
        OutputDim = problem.OutputDim;
        InputDim = problem.InputDim;
        Dims = dims.ToArray();
        Depth = dims.Count - 1;
        _labels = Numerics.As<T>(problem.Labels);
        _residual = new T[Count];
        _directional = new T[Count];
    }

    public abstract EvaluationPath Path { get; }
    protected CpuOps<T> Ops { get; }
    protected int Count { get; }
    protected int OutputDim { get; }
    protected int InputDim { get; }
    protected int[] Dims { get; }
    protected int Depth { get; }

    public abstract void Prepare(SandwichPlan plan, PartialProducts<T, Matrix<T>> products, Matrix<T> z);
    public abstract void MultiplyS(int j, Matrix<T> p, Matrix<T> x, T alpha);
    public abstract void MultiplySAdjoint(int j, Matrix<T> q, Matrix<T> y, T alpha);
    public abstract double SFlops(int j);
    public abstract double SAdjointFlops(int j);
    public virtual void Dispose() { }

    public virtual void ApplyNormal(IReadOnlyList<Matrix<T>> dE, IReadOnlyList<Matrix<T>> dZ, T alpha)
    {
        for (int r = 0; r < dE.Count; r++)
        {
            Forward(dE[r], _directional);
            Adjoint(_directional, alpha, dZ[r]);
        }
    }

    /// <summary>f_i = &lt;A_i, E&gt; (the measurement operator).</summary>
    protected abstract void Forward(Matrix<T> e, Span<T> f);

    /// <summary>Z = alpha sum_i w_i A_i (its adjoint).</summary>
    protected abstract void Adjoint(ReadOnlySpan<T> w, T alpha, Matrix<T> z);

    /// <summary>Slot 0 = (1/n) ||f - b||^2 through the residual, and Z = (2/n) sum_i r_i A_i when asked.</summary>
    protected void ResidualLoss(Matrix<T> e, Matrix<T>? z)
    {
        Forward(e, _residual);
        TensorPrimitives.Subtract(_residual, _labels, _residual);
        Ops.Scalars[0] = Numerics.SumOfSquares<T>(_residual) / Count;
        if (z is not null) Adjoint(_residual, T.CreateTruncating(2.0 / Count), z);
    }
}

/// <summary>A path whose sandwiches are dense matrices S(H_j) (d_L x d_L) and S*(G_j) (d_0 x d_0).</summary>
internal abstract class DenseSandwichOperator<T> : CpuPathOperator<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    protected DenseSandwichOperator(SensingProblem problem, IReadOnlyList<int> dims, CpuOps<T> ops) : base(problem, dims, ops) { }

    /// <summary>S(H_j) as a row-major d_L x d_L span; j = 1 gives S(I).</summary>
    protected abstract ReadOnlySpan<T> SMatrix(int j);

    /// <summary>S*(G_j) as a row-major d_0 x d_0 span; j = L gives S*(I).</summary>
    protected abstract ReadOnlySpan<T> SAdjointMatrix(int j);

    public override void MultiplyS(int j, Matrix<T> p, Matrix<T> x, T alpha) =>
        Gemm.Compute(Op.None, Op.None, OutputDim, p.Cols, OutputDim, alpha, SMatrix(j), OutputDim, p.Data, p.Cols, T.Zero, x.Data, x.Cols);

    public override void MultiplySAdjoint(int j, Matrix<T> q, Matrix<T> y, T alpha) =>
        Gemm.Compute(Op.None, Op.None, q.Rows, InputDim, InputDim, alpha, q.Data, q.Cols, SAdjointMatrix(j), InputDim, T.Zero, y.Data, y.Cols);
}
