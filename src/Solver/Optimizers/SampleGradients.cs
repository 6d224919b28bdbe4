using System.Numerics.Tensors;
using Flatness.Kernels.Cpu;
using Flatness.Kernels.Tensors;
using Flatness.Solver.Backends;
using Flatness.Solver.Backends.Core;
using Flatness.Solver.Backends.Cpu;
using Flatness.Solver.Problems;

namespace Flatness.Solver.Optimizers;

/// <summary>
/// Per-sample values and gradients for one-sample methods: f_i = &lt;A_i, E&gt; and the gradient of (f_i - t)^2,
/// 2 r_i P_j^T A_i Q_j^T for every layer (r_i = f_i - t), through the chain products, without building a sub-problem.
/// Rank-one and completion measurements A_i = u v^T cost O(L d^2): P_j^T A_i Q_j^T = (P_j^T u)(Q_j v)^T, with
/// P_j^T u and Q_j v pushed through the layers one matrix-vector product at a time. Dense measurements use the
/// evaluation core's partial products P_j, Q_j and two small GEMMs per layer.
/// </summary>
internal sealed class SampleGradients
{
    private readonly Measurements _measurements;
    private readonly int[] _dims;
    private readonly double[][] _left;    // P_j^T u (length d_j), j = 0..L
    private readonly double[][] _right;   // Q_{j+1} v = W_j ... W_1 v (length d_j), j = 0..L
    private readonly PartialProducts<double, Matrix<double>>? _products; // dense measurements: P_j, Q_j
    private readonly Matrix<double>? _a;                                 // A_i (d_L x d_0)
    private readonly Matrix<double>[]? _pA;                              // P_j^T A_i (d_j x d_0), j = 1..L

    /// <summary>Per-sample gradients for layers of widths <paramref name="dims"/> on these measurements.</summary>
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
        if (measurements.Kind == MeasurementKind.Dense)
        {
            _products = new PartialProducts<double, Matrix<double>>(new CpuOps<double>(0), _dims);
            _a = new Matrix<double>(_dims[^1], _dims[0]);
            _pA = _dims.Select(d => new Matrix<double>(d, _dims[0])).ToArray();
        }
    }

    /// <summary>n, the number of samples.</summary>
    public int Count => _measurements.Count;

    /// <summary>
    /// Writes the gradient of (f_i - target)^2 with respect to each layer into <paramref name="gradient"/> (same shapes as
    /// the layers) and returns the residual f_i - target.
    /// </summary>
    public double Compute(IReadOnlyList<Matrix<double>> layers, int i, double target, Matrix<double>[] gradient)
    {
        LayerChecks.RequireShape(layers, _dims);
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

    /// <summary>
    /// f = &lt;A_i, E&gt; and 2 r P_j^T A_i Q_j^T per layer, from the evaluation core's partial products
    /// (<see cref="PartialProducts{T, TMatrix}"/>): 2L - 3 GEMMs for the chains and two per layer.
    /// </summary>
    private double Dense(IReadOnlyList<Matrix<double>> layers, double target, Matrix<double>[] gradient, ReadOnlySpan<double> a)
    {
        var products = _products!;
        products.Compute(layers, withP: true);
        a.CopyTo(_a!.Data);
        double r = TensorPrimitives.Dot(_a.Data, products.E.Data) - target;
        for (int j = 1; j <= products.Depth; j++)
        {
            var pa = _pA![j];
            Gemm.Compute(Op.Transpose, Op.None, _dims[j], _dims[0], _dims[^1], 1.0, products.P[j].Data, _dims[j], _a.Data, _dims[0],
                0.0, pa.Data, _dims[0]);
            Gemm.Compute(Op.None, Op.Transpose, _dims[j], _dims[j - 1], _dims[0], 2 * r, pa.Data, _dims[0], products.Q[j].Data, _dims[0],
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
