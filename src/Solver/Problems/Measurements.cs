using Flatness.Kernels.Tensors;

namespace Flatness.Solver.Problems;

/// <summary>The three kinds of measurement operator.</summary>
public enum MeasurementKind
{
    /// <summary>Dense A_i (for example Gaussian), stored as an n x d_L x d_0 array.</summary>
    Dense,
    /// <summary>Observed entries: A_i = s e_{r_i} e_{c_i}^T.</summary>
    Completion,
    /// <summary>Rank-one A_i = u_i v_i^T.</summary>
    RankOne,
}

/// <summary>
/// A linear measurement operator M -> (&lt;A_i, M&gt;)_i on d_L x d_0 matrices, with the sandwich operators of
/// docs/MATH.md section 2. These are the plain float64 (reference) implementations; fast backends read the raw data.
/// </summary>
public abstract class Measurements
{
    /// <summary>For the derived kinds: n measurements of d_L x d_0 matrices.</summary>
    protected Measurements(int count, int outputDim, int inputDim)
    {
        Count = count;
        OutputDim = outputDim;
        InputDim = inputDim;
    }

    /// <summary>Which kind of operator this is.</summary>
    public abstract MeasurementKind Kind { get; }
    /// <summary>n, the number of measurements.</summary>
    public int Count { get; }
    /// <summary>d_L, the number of rows of every A_i.</summary>
    public int OutputDim { get; }
    /// <summary>d_0, the number of columns of every A_i.</summary>
    public int InputDim { get; }

    /// <summary>f_i = &lt;A_i, E&gt; for every i.</summary>
    public abstract void Forward(Matrix<double> e, Span<double> f);
    /// <summary>sum_i w_i A_i (no 1/n).</summary>
    public abstract Matrix<double> Adjoint(ReadOnlySpan<double> w);
    /// <summary>S(H) = (1/n) sum_i A_i H A_i^T, H is d_0 x d_0, result d_L x d_L.</summary>
    public abstract Matrix<double> S(Matrix<double> h);
    /// <summary>S*(G) = (1/n) sum_i A_i^T G A_i, G is d_L x d_L, result d_0 x d_0.</summary>
    public abstract Matrix<double> SAdjoint(Matrix<double> g);
    /// <summary>The measurements with the given indices, in that order (for per-sample methods).</summary>
    public abstract Measurements Select(ReadOnlySpan<int> indices);
    /// <summary>A_i as a dense d_L x d_0 matrix (tests, small problems).</summary>
    public abstract Matrix<double> Dense(int i);
}
