using Flatness.Kernels.Tensors;

namespace Flatness.Solver.Problems;

/// <summary>Dense measurements: A holds the n matrices A_i (d_L x d_0, row-major) one after another.</summary>
public sealed class DenseMeasurements : Measurements
{
    /// <summary>n dense measurements stacked in <paramref name="a"/> (n x d_L x d_0, C order), kept without copying.</summary>
    /// <exception cref="ArgumentException">A of the wrong length.</exception>
    public DenseMeasurements(int count, int outputDim, int inputDim, double[] a) : base(count, outputDim, inputDim)
    {
        if (a.Length != (long)count * outputDim * inputDim)
            throw new ArgumentException($"A has {a.Length} values, expected n*d_L*d_0 = {count}*{outputDim}*{inputDim}", nameof(a));
        A = a;
    }

    /// <inheritdoc/>
    public override MeasurementKind Kind => MeasurementKind.Dense;
    /// <summary>Stacked A_i, shape (n, d_L, d_0), C order.</summary>
    public double[] A { get; }
    private int Size => OutputDim * InputDim;
    /// <summary>A_i, row-major.</summary>
    public ReadOnlySpan<double> Item(int i) => A.AsSpan(i * Size, Size);

    /// <inheritdoc/>
    public override void Forward(Matrix<double> e, Span<double> f)
    {
        for (int i = 0; i < Count; i++)
        {
            var ai = Item(i);
            double s = 0;
            for (int t = 0; t < ai.Length; t++) s += ai[t] * e.Data[t];
            f[i] = s;
        }
    }

    /// <inheritdoc/>
    public override Matrix<double> Adjoint(ReadOnlySpan<double> w)
    {
        var z = new Matrix<double>(OutputDim, InputDim);
        for (int i = 0; i < Count; i++)
        {
            var ai = Item(i);
            for (int t = 0; t < ai.Length; t++) z.Data[t] += w[i] * ai[t];
        }
        return z;
    }

    /// <inheritdoc/>
    public override Matrix<double> S(Matrix<double> h)
    {
        int dl = OutputDim, d0 = InputDim;
        var s = new Matrix<double>(dl, dl);
        var ah = new double[dl * d0];
        for (int i = 0; i < Count; i++)
        {
            var ai = Item(i);
            Array.Clear(ah);
            for (int a = 0; a < dl; a++)
                for (int b = 0; b < d0; b++)
                {
                    double v = ai[a * d0 + b];
                    for (int c = 0; c < d0; c++) ah[a * d0 + c] += v * h[b, c];
                }
            for (int a = 0; a < dl; a++)
                for (int c = 0; c < dl; c++)
                {
                    double sum = 0;
                    for (int t = 0; t < d0; t++) sum += ah[a * d0 + t] * ai[c * d0 + t];
                    s[a, c] += sum / Count;
                }
        }
        return s;
    }

    /// <inheritdoc/>
    public override Matrix<double> SAdjoint(Matrix<double> g)
    {
        int dl = OutputDim, d0 = InputDim;
        var s = new Matrix<double>(d0, d0);
        var ga = new double[dl * d0];
        for (int i = 0; i < Count; i++)
        {
            var ai = Item(i);
            Array.Clear(ga);
            for (int a = 0; a < dl; a++)
                for (int c = 0; c < dl; c++)
                {
                    double v = g[a, c];
                    for (int b = 0; b < d0; b++) ga[a * d0 + b] += v * ai[c * d0 + b];
                }
            for (int b = 0; b < d0; b++)
                for (int e = 0; e < d0; e++)
                {
                    double sum = 0;
                    for (int t = 0; t < dl; t++) sum += ai[t * d0 + b] * ga[t * d0 + e];
                    s[b, e] += sum / Count;
                }
        }
        return s;
    }

    /// <inheritdoc/>
    public override Measurements Select(ReadOnlySpan<int> indices)
    {
        var a = new double[indices.Length * Size];
        for (int k = 0; k < indices.Length; k++) Item(indices[k]).CopyTo(a.AsSpan(k * Size, Size));
        return new DenseMeasurements(indices.Length, OutputDim, InputDim, a);
    }

    /// <inheritdoc/>
    public override Matrix<double> Dense(int i) => new(OutputDim, InputDim, Item(i).ToArray());
}
