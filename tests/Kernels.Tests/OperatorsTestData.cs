using Flatness.Kernels.Reference;
using Flatness.Kernels.Tensors;

namespace Flatness.Tests;

/// <summary>
/// Seeded measurements for the operator tests and the plain float64 oracle they are checked against:
/// S, S*, the sensing map and its adjoint written straight from their definitions on a list of dense A_i.
/// </summary>
internal sealed class OperatorsTestData(int seed)
{
    private readonly Random _random = new(seed);

    public Random Random => _random;

    public double Normal()
    {
        double u1 = 1.0 - _random.NextDouble(), u2 = _random.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    public double[] Normals(int count)
    {
        var x = new double[count];
        for (int i = 0; i < count; i++) x[i] = Normal();
        return x;
    }

    public Matrix<double> Gaussian(int rows, int cols) => new(rows, cols, Normals(rows * cols));

    public Matrix<double> Symmetric(int n)
    {
        var g = Gaussian(n, n);
        return ReferenceBlas.Add(g, g.Transpose());
    }

    /// <summary>Stacked (n, d_L, d_0) measurements.</summary>
    public double[] Stacked(int n, int dl, int d0) => Normals(n * dl * d0);

    public static Matrix<double> Item(double[] stacked, int i, int dl, int d0) =>
        new(dl, d0, stacked.AsSpan(i * dl * d0, dl * d0).ToArray());

    /// <summary>S(H) = (1/n) sum_i A_i H A_i^T from the definition.</summary>
    public static Matrix<double> S(double[] stacked, int n, int dl, int d0, Matrix<double> h)
    {
        var s = new Matrix<double>(dl, dl);
        for (int i = 0; i < n; i++)
        {
            var a = Item(stacked, i, dl, d0);
            s = ReferenceBlas.Add(s, ReferenceBlas.Product(a, h, a.Transpose()), 1.0 / n);
        }
        return s;
    }

    /// <summary>S*(G) = (1/n) sum_i A_i^T G A_i from the definition.</summary>
    public static Matrix<double> SAdjoint(double[] stacked, int n, int dl, int d0, Matrix<double> g)
    {
        var s = new Matrix<double>(d0, d0);
        for (int i = 0; i < n; i++)
        {
            var a = Item(stacked, i, dl, d0);
            s = ReferenceBlas.Add(s, ReferenceBlas.Product(a.Transpose(), g, a), 1.0 / n);
        }
        return s;
    }

    /// <summary>M vec(E) with M = (1/n) X^T X, as a d_L x d_0 matrix.</summary>
    public static Matrix<double> GramTimes(double[] stacked, int n, int dl, int d0, Matrix<double> e)
    {
        var f = Forward(stacked, n, dl, d0, e);
        var y = Adjoint(stacked, n, dl, d0, f);
        return ReferenceBlas.Scale(y, 1.0 / n);
    }

    public static double[] Forward(double[] stacked, int n, int dl, int d0, Matrix<double> e)
    {
        var f = new double[n];
        for (int i = 0; i < n; i++) f[i] = ReferenceBlas.Dot(Item(stacked, i, dl, d0), e);
        return f;
    }

    public static Matrix<double> Adjoint(double[] stacked, int n, int dl, int d0, double[] w)
    {
        var z = new Matrix<double>(dl, d0);
        for (int i = 0; i < n; i++) z = ReferenceBlas.Add(z, Item(stacked, i, dl, d0), w[i]);
        return z;
    }

    /// <summary>max |actual - expected| / max |expected|.</summary>
    public static double RelativeError(ReadOnlySpan<double> actual, ReadOnlySpan<double> expected)
    {
        double diff = 0, scale = 0;
        for (int t = 0; t < expected.Length; t++)
        {
            diff = Math.Max(diff, Math.Abs(actual[t] - expected[t]));
            scale = Math.Max(scale, Math.Abs(expected[t]));
        }
        return diff / scale;
    }

    public static double RelativeError(ReadOnlySpan<float> actual, ReadOnlySpan<double> expected)
    {
        var widened = new double[actual.Length];
        for (int t = 0; t < actual.Length; t++) widened[t] = actual[t];
        return RelativeError(widened, expected);
    }
}
