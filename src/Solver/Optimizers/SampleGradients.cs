using Flatness.Kernels.Cpu;
using Flatness.Kernels.Tensors;
using Flatness.Solver.Problems;

namespace Flatness.Solver.Optimizers;

/// <summary>
/// Per-sample values and gradients for one-sample methods: f_i = &lt;A_i, E&gt; and the gradient of (f_i - t)^2,
/// 2 r_i P_j^T A_i Q_j^T for every layer (r_i = f_i - t), through the chain products, without building a sub-problem.
/// Rank-one and completion measurements A_i = u v^T cost O(L d^2): P_j^T A_i Q_j^T = (P_j^T u)(Q_j v)^T, with
/// P_j^T u and Q_j v pushed through the layers one matrix-vector product at a time. Dense measurements cost about
/// 3(L - 1) small GEMMs: Y_j = P_j^T A_i by Y_{j-1} = W_j^T Y_j, the prefixes Q_j, and Y_j Q_j^T.
/// </summary>
public sealed class SampleGradients
{
    private readonly Measurements _measurements;
    private readonly int[] _dims;
    private readonly double[][] _left;    // P_j^T u (length d_j), j = 0..L
    private readonly double[][] _right;   // Q_{j+1} v = W_j ... W_1 v (length d_j), j = 0..L
    private readonly Matrix<double>[] _prefix;  // Q_j (d_{j-1} x d_0), j = 2..L at index j - 1
    private readonly Matrix<double>[] _y;       // Y_j = P_j^T A_i (d_j x d_0), j = 1..L-1 at index j - 1

    public SampleGradients(Measurements measurements, IReadOnlyList<int> dims)
    {
        ArgumentNullException.ThrowIfNull(measurements);
        ArgumentNullException.ThrowIfNull(dims);
        if (dims.Count < 2) throw new ArgumentException("dims must list d_0..d_L with L >= 1", nameof(dims));
        if (dims[0] != measurements.InputDim || dims[^1] != measurements.OutputDim)
            throw new ArgumentException(
                $"the factorisation maps {dims[0]} to {dims[^1]} but the measurements are {measurements.OutputDim}x{measurements.InputDim}", nameof(dims));
        _measurements = measurements;
        _dims = dims.ToArray();
        int depth = _dims.Length - 1;
        _left = _dims.Select(d => new double[d]).ToArray();
        _right = _dims.Select(d => new double[d]).ToArray();
        _prefix = new Matrix<double>[depth];
        _y = new Matrix<double>[depth];
        if (measurements.Kind == MeasurementKind.Dense)
            for (int j = 1; j <= depth; j++)
            {
                if (j >= 2) _prefix[j - 1] = new Matrix<double>(_dims[j - 1], _dims[0]);
                if (j <= depth - 1) _y[j - 1] = new Matrix<double>(_dims[j], _dims[0]);
            }
    }

    public int Count => _measurements.Count;

    /// <summary>
    /// Writes the gradient of (f_i - target)^2 with respect to each layer into <paramref name="gradient"/> (same shapes as
    /// the layers) and returns the residual f_i - target.
    /// </summary>
    public double Compute(IReadOnlyList<Matrix<double>> layers, int i, double target, Matrix<double>[] gradient)
    {
        if ((uint)i >= (uint)_measurements.Count)
            throw new ArgumentOutOfRangeException(nameof(i), $"sample {i} is outside [0, {_measurements.Count})");
        return _measurements switch
        {
            CompletionMeasurements c => Outer(layers, target, gradient, c.Scale, c.RowIndex[i], c.ColIndex[i], default, default),
            RankOneMeasurements r => Outer(layers, target, gradient, 1.0, -1, -1, r.Ui(i), r.Vi(i)),
            DenseMeasurements d => Dense(layers, target, gradient, d.Item(i)),
            _ => Dense(layers, target, gradient, _measurements.Dense(i).Data),
        };
    }

    /// <summary>f_i = &lt;A_i, E&gt; alone.</summary>
    public double Value(IReadOnlyList<Matrix<double>> layers, int i)
    {
        var scratch = layers.Select(w => new Matrix<double>(w.Rows, w.Cols)).ToArray();
        return Compute(layers, i, 0.0, scratch);
    }

    /// <summary>A_i = s u v^T with u = e_row (row &gt;= 0) or the given u, likewise v.</summary>
    private double Outer(IReadOnlyList<Matrix<double>> layers, double target, Matrix<double>[] gradient, double scale,
        int row, int col, ReadOnlySpan<double> u, ReadOnlySpan<double> v)
    {
        int depth = layers.Count;
        var left = _left;
        var right = _right;
        if (row >= 0) { Array.Clear(left[depth]); left[depth][row] = scale; } else u.CopyTo(left[depth]);
        if (col >= 0) { Array.Clear(right[0]); right[0][col] = 1.0; } else v.CopyTo(right[0]);
        for (int j = depth; j >= 1; j--) MultiplyTransposed(layers[j - 1], left[j], left[j - 1]);
        for (int j = 1; j <= depth; j++) Multiply(layers[j - 1], right[j - 1], right[j]);
        double f = 0;
        for (int b = 0; b < _dims[0]; b++) f += left[0][b] * right[0][b];
        double r = f - target;
        for (int j = 1; j <= depth; j++)
        {
            // d/dW_j (f - t)^2 = 2 r (P_j^T u)(Q_j v)^T: left[j] is P_j^T u, right[j - 1] is Q_j v.
            var g = gradient[j - 1];
            var l = left[j];
            var rv = right[j - 1];
            for (int a = 0; a < g.Rows; a++)
            {
                double c = 2 * r * l[a];
                var gRow = g.Row(a);
                for (int b = 0; b < gRow.Length; b++) gRow[b] = c * rv[b];
            }
        }
        return r;
    }

    private double Dense(IReadOnlyList<Matrix<double>> layers, double target, Matrix<double>[] gradient, ReadOnlySpan<double> a)
    {
        int depth = layers.Count;
        int d0 = _dims[0];
        if (depth == 1)
        {
            double f1 = 0;
            var w = layers[0].Data;
            for (int t = 0; t < a.Length; t++) f1 += a[t] * w[t];
            double r1 = f1 - target;
            var g = gradient[0].Data;
            for (int t = 0; t < a.Length; t++) g[t] = 2 * r1 * a[t];
            return r1;
        }
        // Prefixes Q_j = W_{j-1} ... W_1 for j = 2..L (Q_2 = W_1).
        layers[0].Data.AsSpan().CopyTo(_prefix[1].Data);
        for (int j = 3; j <= depth; j++)
            Gemm.Compute(Op.None, Op.None, _dims[j - 1], d0, _dims[j - 2], 1.0, layers[j - 2].Data, _dims[j - 2],
                _prefix[j - 2].Data, d0, 0.0, _prefix[j - 1].Data, d0);
        // Y_{L-1} = W_L^T A_i, Y_{j-1} = W_j^T Y_j.
        Gemm.Compute(Op.Transpose, Op.None, _dims[depth - 1], d0, _dims[depth], 1.0, layers[depth - 1].Data, _dims[depth - 1],
            a, d0, 0.0, _y[depth - 2].Data, d0);
        for (int j = depth - 1; j >= 2; j--)
            Gemm.Compute(Op.Transpose, Op.None, _dims[j - 1], d0, _dims[j], 1.0, layers[j - 1].Data, _dims[j - 1],
                _y[j - 1].Data, d0, 0.0, _y[j - 2].Data, d0);
        // f = <A_i, E> = <W_L^T A_i, Q_L> = <Y_{L-1}, Q_L>.
        double f = 0;
        var yl = _y[depth - 2].Data;
        var ql = _prefix[depth - 1].Data;
        for (int t = 0; t < yl.Length; t++) f += yl[t] * ql[t];
        double r = f - target;
        // Layer 1: 2 r Y_1 (Q_1 = I). Layer L: 2 r A_i Q_L^T. Between: 2 r Y_j Q_j^T.
        var g1 = gradient[0].Data;
        var y1 = _y[0].Data;
        for (int t = 0; t < g1.Length; t++) g1[t] = 2 * r * y1[t];
        for (int j = 2; j <= depth; j++)
        {
            ReadOnlySpan<double> yj = j == depth ? a : _y[j - 1].Data;
            Gemm.Compute(Op.None, Op.Transpose, _dims[j], _dims[j - 1], d0, 2 * r, yj, d0, _prefix[j - 1].Data, d0,
                0.0, gradient[j - 1].Data, _dims[j - 1]);
        }
        return r;
    }

    /// <summary>y = W x.</summary>
    private static void Multiply(Matrix<double> w, double[] x, double[] y)
    {
        for (int a = 0; a < w.Rows; a++)
        {
            var row = w.Row(a);
            double s = 0;
            for (int b = 0; b < row.Length; b++) s += row[b] * x[b];
            y[a] = s;
        }
    }

    /// <summary>y = W^T x.</summary>
    private static void MultiplyTransposed(Matrix<double> w, double[] x, double[] y)
    {
        Array.Clear(y);
        for (int a = 0; a < w.Rows; a++)
        {
            var row = w.Row(a);
            double c = x[a];
            for (int b = 0; b < row.Length; b++) y[b] += c * row[b];
        }
    }
}
