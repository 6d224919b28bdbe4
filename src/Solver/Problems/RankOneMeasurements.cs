using Flatness.Kernels.Tensors;

namespace Flatness.Solver.Problems;

/// <summary>Rank-one measurements A_i = u_i v_i^T; U is (n, d_L) and V is (n, d_0), row-major. Never materialises A_i.</summary>
public sealed class RankOneMeasurements : Measurements
{
    /// <summary>n rank-one measurements from the rows of U (n x d_L) and V (n x d_0), kept without copying.</summary>
    /// <exception cref="ArgumentException">U or V of the wrong length.</exception>
    public RankOneMeasurements(int count, int outputDim, int inputDim, double[] u, double[] v) : base(count, outputDim, inputDim)
    {
        if (u.Length != (long)count * outputDim)
            throw new ArgumentException($"u has {u.Length} values, expected n*d_L = {count}*{outputDim}", nameof(u));
        if (v.Length != (long)count * inputDim)
            throw new ArgumentException($"v has {v.Length} values, expected n*d_0 = {count}*{inputDim}", nameof(v));
        U = u;
        V = v;
    }

    /// <inheritdoc/>
    public override MeasurementKind Kind => MeasurementKind.RankOne;
    /// <summary>The u_i, stacked row-major (n x d_L).</summary>
    public double[] U { get; }
    /// <summary>The v_i, stacked row-major (n x d_0).</summary>
    public double[] V { get; }
    /// <summary>u_i.</summary>
    public ReadOnlySpan<double> Ui(int i) => U.AsSpan(i * OutputDim, OutputDim);
    /// <summary>v_i.</summary>
    public ReadOnlySpan<double> Vi(int i) => V.AsSpan(i * InputDim, InputDim);

    private static double Bilinear(ReadOnlySpan<double> x, Matrix<double> m, ReadOnlySpan<double> y)
    {
        double s = 0;
        for (int a = 0; a < x.Length; a++)
        {
            double row = 0;
            for (int b = 0; b < y.Length; b++) row += m[a, b] * y[b];
            s += x[a] * row;
        }
        return s;
    }

    private static void AddOuter(Matrix<double> target, double w, ReadOnlySpan<double> x, ReadOnlySpan<double> y)
    {
        for (int a = 0; a < x.Length; a++)
            for (int b = 0; b < y.Length; b++) target[a, b] += w * x[a] * y[b];
    }

    /// <inheritdoc/>
    public override void Forward(Matrix<double> e, Span<double> f)
    {
        for (int i = 0; i < Count; i++) f[i] = Bilinear(Ui(i), e, Vi(i));
    }

    /// <inheritdoc/>
    public override Matrix<double> Adjoint(ReadOnlySpan<double> w)
    {
        var z = new Matrix<double>(OutputDim, InputDim);
        for (int i = 0; i < Count; i++) AddOuter(z, w[i], Ui(i), Vi(i));
        return z;
    }

    /// <inheritdoc/>
    public override Matrix<double> S(Matrix<double> h)
    {
        var s = new Matrix<double>(OutputDim, OutputDim);
        for (int i = 0; i < Count; i++) AddOuter(s, Bilinear(Vi(i), h, Vi(i)) / Count, Ui(i), Ui(i));
        return s;
    }

    /// <inheritdoc/>
    public override Matrix<double> SAdjoint(Matrix<double> g)
    {
        var s = new Matrix<double>(InputDim, InputDim);
        for (int i = 0; i < Count; i++) AddOuter(s, Bilinear(Ui(i), g, Ui(i)) / Count, Vi(i), Vi(i));
        return s;
    }

    /// <inheritdoc/>
    public override Measurements Select(ReadOnlySpan<int> indices)
    {
        var u = new double[indices.Length * OutputDim];
        var v = new double[indices.Length * InputDim];
        for (int k = 0; k < indices.Length; k++)
        {
            Ui(indices[k]).CopyTo(u.AsSpan(k * OutputDim));
            Vi(indices[k]).CopyTo(v.AsSpan(k * InputDim));
        }
        return new RankOneMeasurements(indices.Length, OutputDim, InputDim, u, v);
    }

    /// <inheritdoc/>
    public override Matrix<double> Dense(int i)
    {
        var m = new Matrix<double>(OutputDim, InputDim);
        AddOuter(m, 1.0, Ui(i), Vi(i));
        return m;
    }
}
