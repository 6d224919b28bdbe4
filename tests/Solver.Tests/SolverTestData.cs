using Flatness.Kernels.Tensors;
using Flatness.Solver.Problems;

namespace Flatness.Tests;

/// <summary>
/// Seeded test data: standard normals by Box-Muller, Gaussian matrices and layers, and small measurement
/// operators (Gaussian dense, random completion, Gaussian rank-one, the scaled full basis).
/// </summary>
internal sealed class SolverTestData(int seed)
{
    private readonly Random _random = new(seed);
    private double? _spare;

    public Random Random => _random;

    public double Normal()
    {
        if (_spare is double s) { _spare = null; return s; }
        double u1 = 1.0 - _random.NextDouble(), u2 = _random.NextDouble();
        double radius = Math.Sqrt(-2 * Math.Log(u1));
        _spare = radius * Math.Sin(2 * Math.PI * u2);
        return radius * Math.Cos(2 * Math.PI * u2);
    }

    public double[] Normals(int count, double scale = 1.0)
    {
        var x = new double[count];
        for (int i = 0; i < count; i++) x[i] = scale * Normal();
        return x;
    }

    public Matrix<double> Gaussian(int rows, int cols, double scale = 1.0) => new(rows, cols, Normals(rows * cols, scale));

    /// <summary>W_1..W_L for dims [d_0..d_L], i.i.d. N(0, scale^2) entries.</summary>
    public Matrix<double>[] Layers(int[] dims, double scale = 1.0)
    {
        var layers = new Matrix<double>[dims.Length - 1];
        for (int j = 0; j < layers.Length; j++) layers[j] = Gaussian(dims[j + 1], dims[j], scale);
        return layers;
    }

    /// <summary>n x n orthogonal: modified Gram-Schmidt, applied twice, on a Gaussian matrix.</summary>
    public Matrix<double> Orthogonal(int n)
    {
        var q = Gaussian(n, n);
        for (int c = 0; c < n; c++)
            for (int pass = 0; pass < 2; pass++)
            {
                for (int prev = 0; prev < c; prev++)
                {
                    double dot = 0;
                    for (int r = 0; r < n; r++) dot += q[r, prev] * q[r, c];
                    for (int r = 0; r < n; r++) q[r, c] -= dot * q[r, prev];
                }
                double norm = 0;
                for (int r = 0; r < n; r++) norm += q[r, c] * q[r, c];
                norm = Math.Sqrt(norm);
                for (int r = 0; r < n; r++) q[r, c] /= norm;
            }
        return q;
    }

    public double[] UnitVector(int n)
    {
        var x = Normals(n);
        double norm = Math.Sqrt(x.Sum(v => v * v));
        return x.Select(v => v / norm).ToArray();
    }

    /// <summary>A random rank-r matrix (d_L x d_0): product of Gaussian d_L x r and r x d_0 matrices.</summary>
    public Matrix<double> RankR(int rows, int cols, int rank) => Product(Gaussian(rows, rank), Gaussian(rank, cols));

    public DenseMeasurements GaussianDense(int n, int dl, int d0) => new(n, dl, d0, Normals(n * dl * d0));

    public CompletionMeasurements RandomCompletion(int n, int dl, int d0, double scale)
    {
        var rows = new int[n];
        var cols = new int[n];
        for (int i = 0; i < n; i++) { rows[i] = _random.Next(dl); cols[i] = _random.Next(d0); }
        return new CompletionMeasurements(dl, d0, rows, cols, scale);
    }

    public RankOneMeasurements GaussianRankOne(int n, int dl, int d0) => new(n, dl, d0, Normals(n * dl), Normals(n * d0));

    public SensingProblem WithRandomLabels(Measurements m) => new(m, Normals(m.Count));

    /// <summary>{sqrt(d_0 d_L) e_a e_b^T} for all (a, b), as a completion operator.</summary>
    public static CompletionMeasurements ScaledBasisCompletion(int dl, int d0)
    {
        var rows = new int[dl * d0];
        var cols = new int[dl * d0];
        for (int a = 0; a < dl; a++)
            for (int b = 0; b < d0; b++) { rows[a * d0 + b] = a; cols[a * d0 + b] = b; }
        return new CompletionMeasurements(dl, d0, rows, cols, Math.Sqrt((double)dl * d0));
    }

    /// <summary>The same operator materialised as dense A_i (optionally each multiplied by weight[i]).</summary>
    public static DenseMeasurements Materialise(Measurements m, double[]? weight = null)
    {
        int size = m.OutputDim * m.InputDim;
        var a = new double[m.Count * size];
        for (int i = 0; i < m.Count; i++)
        {
            var ai = m.Dense(i).Data;
            for (int t = 0; t < size; t++) a[i * size + t] = (weight?[i] ?? 1.0) * ai[t];
        }
        return new DenseMeasurements(m.Count, m.OutputDim, m.InputDim, a);
    }

    /// <summary>Plain triple-loop product, the tests' own oracle.</summary>
    public static Matrix<double> Product(Matrix<double> a, Matrix<double> b)
    {
        var c = new Matrix<double>(a.Rows, b.Cols);
        for (int i = 0; i < a.Rows; i++)
            for (int j = 0; j < b.Cols; j++)
            {
                double s = 0;
                for (int p = 0; p < a.Cols; p++) s += a[i, p] * b[p, j];
                c[i, j] = s;
            }
        return c;
    }

    /// <summary>E = W_L ... W_1 by the tests' own product.</summary>
    public static Matrix<double> EndToEnd(IReadOnlyList<Matrix<double>> layers)
    {
        var e = layers[0];
        for (int j = 1; j < layers.Count; j++) e = Product(layers[j], e);
        return e;
    }

    public static double SumSquares(Matrix<double> m) => m.Data.Sum(x => x * x);

    public static double MaxAbs(Matrix<double> m) => m.Data.Max(Math.Abs);

    public static double MaxAbsDiff(Matrix<double> a, Matrix<double> b)
    {
        double d = 0;
        for (int t = 0; t < a.Length; t++) d = Math.Max(d, Math.Abs(a.Data[t] - b.Data[t]));
        return d;
    }

    public static double Relative(double actual, double expected) => Math.Abs(actual - expected) / Math.Abs(expected);
}

/// <summary>Tracks the worst error of one identity across the cases of a test and prints it.</summary>
internal sealed class WorstError(string identity)
{
    public double Value { get; private set; }

    public void Add(double error) => Value = Math.Max(Value, error);

    public void Report(Xunit.Abstractions.ITestOutputHelper output) => output.WriteLine($"{identity}: worst relative error {Value:E2}");
}
