using System.Numerics;

namespace Flatness.Solver.Backends.Core;

/// <summary>
/// Which sandwiches one evaluation needs, by layer j = 1..L (index 0 unused): S(H_j) for j &gt;= 2 (S(H_1) = S(I) is
/// a constant the operator holds), S*(G_j) for j &lt;= L - 1 (S*(G_L) = S*(I) likewise), and whether the loss and
/// Z = (2/n) sum_i r_i A_i are wanted.
/// </summary>
internal sealed class SandwichPlan(int depth)
{
    public int Depth { get; } = depth;
    public bool[] S { get; } = new bool[depth + 1];
    public bool[] SAdjoint { get; } = new bool[depth + 1];
    public bool Loss { get; set; }
    public bool LossGradient { get; set; }

    public bool AnySandwich => S.Contains(true) || SAdjoint.Contains(true);

    public void Clear()
    {
        Array.Clear(S);
        Array.Clear(SAdjoint);
        Loss = false;
        LossGradient = false;
    }
}

/// <summary>
/// The measurement-dependent half of an evaluation on one device and path: it holds the measurements resident in the
/// layouts its kernels want and answers the sandwiches, the loss and Z; the core (<see cref="Evaluator{T, TMatrix}"/>)
/// does the rest. One implementation per path per device (Backends/Cpu, Backends/Gpu).
/// </summary>
internal interface IPathOperator<T, TMatrix> : IDisposable where T : unmanaged, IFloatingPointIeee754<T>
{
    EvaluationPath Path { get; }

    /// <summary>
    /// Computes what <paramref name="plan"/> asks from the partial products: the sandwiches S(H_j), S*(G_j), kept for
    /// <see cref="MultiplyS"/> and <see cref="MultiplySAdjoint"/>, and when <c>plan.Loss</c> the loss into scalar slot 0
    /// and, when <c>plan.LossGradient</c>, Z = (2/n) sum_i r_i A_i into <paramref name="z"/> (d_L x d_0).
    /// </summary>
    void Prepare(SandwichPlan plan, PartialProducts<T, TMatrix> products, TMatrix z);

    /// <summary>x = alpha S(H_j) p for p of d_L rows (j = 1 uses the constant S(I)).</summary>
    void MultiplyS(int j, TMatrix p, TMatrix x, T alpha);

    /// <summary>y = alpha q S*(G_j) for q of d_0 columns (j = L uses the constant S*(I)).</summary>
    void MultiplySAdjoint(int j, TMatrix q, TMatrix y, T alpha);

    /// <summary>
    /// dZ[r] = alpha sum_i &lt;A_i, dE[r]&gt; A_i for each r: the measurement operator followed by its adjoint
    /// (Hessian-vector products; a path may serve the whole block in one pass over its data).
    /// </summary>
    void ApplyNormal(IReadOnlyList<TMatrix> dE, IReadOnlyList<TMatrix> dZ, T alpha);

    /// <summary>Flops of S(H_j) from Q_j, for choosing S or S* when only the trace is wanted.</summary>
    double SFlops(int j);

    /// <summary>Flops of S*(G_j) from P_j.</summary>
    double SAdjointFlops(int j);
}
