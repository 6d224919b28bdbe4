using Flatness.Kernels.Linalg;
using Flatness.Kernels.Tensors;
using Flatness.Solver.Problems;

namespace Flatness.Solver.Theory;

/// <summary>
/// Matrix completion at depth 2, where no RIP holds (docs/MATH.md section 6): with p_a, q_b the observation counts of row a and
/// column b and s the scale, tr H = (2 s^2 / n) (||D_p^{1/2} W_2||_F^2 + ||W_1 D_q^{1/2}||_F^2), and by AM-GM with
/// ||X Y||_* &lt;= (||X||_F^2 + ||Y||_F^2) / 2 the minimum over W_2 W_1 = M is (4 s^2 / n) ||D_p^{1/2} M D_q^{1/2}||_*
/// when every p_a, q_b &gt; 0: a weighted trace norm, not the nuclear norm.
/// </summary>
public static class CompletionFlatness
{
    /// <summary>The observation counts per row (length d_L) and per column (length d_0).</summary>
    public static (int[] Rows, int[] Cols) Counts(CompletionMeasurements m)
    {
        ArgumentNullException.ThrowIfNull(m);
        var rows = new int[m.OutputDim];
        var cols = new int[m.InputDim];
        for (int i = 0; i < m.Count; i++)
        {
            rows[m.RowIndex[i]]++;
            cols[m.ColIndex[i]]++;
        }
        return (rows, cols);
    }

    /// <summary>Whether every row and every column is observed (the minimum is attained only then).</summary>
    public static bool Covers(CompletionMeasurements m)
    {
        var (rows, cols) = Counts(m);
        return rows.All(c => c > 0) && cols.All(c => c > 0);
    }

    /// <summary>D_p^{1/2} M D_q^{1/2}.</summary>
    public static Matrix<double> Weighted(CompletionMeasurements m, Matrix<double> e)
    {
        ArgumentNullException.ThrowIfNull(e);
        if (e.Rows != m.OutputDim || e.Cols != m.InputDim)
            throw new ArgumentException($"M is {e.Rows}x{e.Cols} but the measurements are {m.OutputDim}x{m.InputDim}", nameof(e));
        var (rows, cols) = Counts(m);
        var w = new Matrix<double>(e.Rows, e.Cols);
        for (int a = 0; a < e.Rows; a++)
            for (int b = 0; b < e.Cols; b++) w[a, b] = Math.Sqrt(rows[a]) * e[a, b] * Math.Sqrt(cols[b]);
        return w;
    }

    /// <summary>min over depth-2 factorisations W_2 W_1 = M of tr H: (4 s^2 / n) ||D_p^{1/2} M D_q^{1/2}||_*.</summary>
    public static double MinimumTrace(CompletionMeasurements m, Matrix<double> e) =>
        4 * m.Scale * m.Scale / m.Count * MatrixNorms.Nuclear(Weighted(m, e));

    /// <summary>
    /// The depth-2 factorisation that attains <see cref="MinimumTrace"/>: with D_p^{1/2} M D_q^{1/2} = U S V^T,
    /// W_2 = D_p^{-1/2} U S^{1/2} R^T and W_1 = R S^{1/2} V^T D_q^{-1/2} (R the first rank-M columns of I_width).
    /// Needs every row and column observed and width &gt;= rank M.
    /// </summary>
    public static Matrix<double>[] FlattestFactorization(CompletionMeasurements m, Matrix<double> e, int width)
    {
        if (!Covers(m)) throw new ArgumentException("the flattest completion factorisation needs every row and column observed");
        var (rowCounts, colCounts) = Counts(m);
        var svd = Svd.Decompose(Weighted(m, e));
        int rank = svd.Rank;
        if (width < rank) throw new ArgumentException($"hidden width {width} is below the rank {rank} of the weighted matrix", nameof(width));
        var w2 = new Matrix<double>(e.Rows, width);
        var w1 = new Matrix<double>(width, e.Cols);
        for (int i = 0; i < rank; i++)
        {
            double root = Math.Sqrt(svd.S[i]);
            for (int a = 0; a < e.Rows; a++) w2[a, i] = svd.U[a, i] * root / Math.Sqrt(rowCounts[a]);
            for (int b = 0; b < e.Cols; b++) w1[i, b] = root * svd.Vt[i, b] / Math.Sqrt(colCounts[b]);
        }
        return [w1, w2];
    }
}
