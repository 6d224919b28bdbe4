using Flatness.Kernels.Tensors;

namespace Flatness.Solver.Problems;

/// <summary>Matrix completion: A_i = s e_{row_i} e_{col_i}^T. Never materialises A_i.</summary>
public sealed class CompletionMeasurements : Measurements
{
    public CompletionMeasurements(int outputDim, int inputDim, int[] rows, int[] cols, double scale = 1.0)
        : base(rows.Length, outputDim, inputDim)
    {
        if (rows.Length != cols.Length)
            throw new ArgumentException($"rows has {rows.Length} entries but cols has {cols.Length}", nameof(cols));
        for (int i = 0; i < rows.Length; i++)
        {
            if ((uint)rows[i] >= (uint)outputDim)
                throw new ArgumentOutOfRangeException(nameof(rows), $"rows[{i}] = {rows[i]} is outside [0, {outputDim})");
            if ((uint)cols[i] >= (uint)inputDim)
                throw new ArgumentOutOfRangeException(nameof(cols), $"cols[{i}] = {cols[i]} is outside [0, {inputDim})");
        }
        if (!double.IsFinite(scale) || scale == 0)
            throw new ArgumentOutOfRangeException(nameof(scale), $"scale must be finite and non-zero, got {scale}");
        RowIndex = rows;
        ColIndex = cols;
        Scale = scale;
    }

    public override MeasurementKind Kind => MeasurementKind.Completion;
    public int[] RowIndex { get; }
    public int[] ColIndex { get; }
    public double Scale { get; }

    public override void Forward(Matrix<double> e, Span<double> f)
    {
        for (int i = 0; i < Count; i++) f[i] = Scale * e[RowIndex[i], ColIndex[i]];
    }

    public override Matrix<double> Adjoint(ReadOnlySpan<double> w)
    {
        var z = new Matrix<double>(OutputDim, InputDim);
        for (int i = 0; i < Count; i++) z[RowIndex[i], ColIndex[i]] += Scale * w[i];
        return z;
    }

    public override Matrix<double> S(Matrix<double> h)
    {
        var s = new Matrix<double>(OutputDim, OutputDim);
        double w = Scale * Scale / Count;
        for (int i = 0; i < Count; i++) s[RowIndex[i], RowIndex[i]] += w * h[ColIndex[i], ColIndex[i]];
        return s;
    }

    public override Matrix<double> SAdjoint(Matrix<double> g)
    {
        var s = new Matrix<double>(InputDim, InputDim);
        double w = Scale * Scale / Count;
        for (int i = 0; i < Count; i++) s[ColIndex[i], ColIndex[i]] += w * g[RowIndex[i], RowIndex[i]];
        return s;
    }

    public override Measurements Select(ReadOnlySpan<int> indices)
    {
        var r = new int[indices.Length];
        var c = new int[indices.Length];
        for (int k = 0; k < indices.Length; k++) { r[k] = RowIndex[indices[k]]; c[k] = ColIndex[indices[k]]; }
        return new CompletionMeasurements(OutputDim, InputDim, r, c, Scale);
    }

    public override Matrix<double> Dense(int i)
    {
        var m = new Matrix<double>(OutputDim, InputDim);
        m[RowIndex[i], ColIndex[i]] = Scale;
        return m;
    }
}
