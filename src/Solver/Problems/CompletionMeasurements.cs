using Flatness.Kernels.Tensors;

namespace Flatness.Solver.Problems;

/// <summary>Matrix completion: A_i = s e_{row_i} e_{col_i}^T. Never materialises A_i.</summary>
public sealed class CompletionMeasurements : Measurements
{
    /// <summary>Observed entries (rows[i], cols[i]) of a d_L x d_0 matrix, each measured with factor <paramref name="scale"/>.</summary>
    /// <exception cref="ArgumentException">index arrays of different lengths.</exception>
    /// <exception cref="ArgumentOutOfRangeException">an index outside the matrix, or a zero or non-finite scale.</exception>
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

    /// <inheritdoc/>
    public override MeasurementKind Kind => MeasurementKind.Completion;
    /// <summary>The row of each observed entry.</summary>
    public int[] RowIndex { get; }
    /// <summary>The column of each observed entry.</summary>
    public int[] ColIndex { get; }
    /// <summary>s in A_i = s e_{row_i} e_{col_i}^T.</summary>
    public double Scale { get; }

    /// <inheritdoc/>
    public override void Forward(Matrix<double> e, Span<double> f)
    {
        for (int i = 0; i < Count; i++) f[i] = Scale * e[RowIndex[i], ColIndex[i]];
    }

    /// <inheritdoc/>
    public override Matrix<double> Adjoint(ReadOnlySpan<double> w)
    {
        var z = new Matrix<double>(OutputDim, InputDim);
        for (int i = 0; i < Count; i++) z[RowIndex[i], ColIndex[i]] += Scale * w[i];
        return z;
    }

    /// <inheritdoc/>
    public override Matrix<double> S(Matrix<double> h)
    {
        var s = new Matrix<double>(OutputDim, OutputDim);
        double w = Scale * Scale / Count;
        for (int i = 0; i < Count; i++) s[RowIndex[i], RowIndex[i]] += w * h[ColIndex[i], ColIndex[i]];
        return s;
    }

    /// <inheritdoc/>
    public override Matrix<double> SAdjoint(Matrix<double> g)
    {
        var s = new Matrix<double>(InputDim, InputDim);
        double w = Scale * Scale / Count;
        for (int i = 0; i < Count; i++) s[ColIndex[i], ColIndex[i]] += w * g[RowIndex[i], RowIndex[i]];
        return s;
    }

    /// <inheritdoc/>
    public override Measurements Select(ReadOnlySpan<int> indices)
    {
        var r = new int[indices.Length];
        var c = new int[indices.Length];
        for (int k = 0; k < indices.Length; k++) { r[k] = RowIndex[indices[k]]; c[k] = ColIndex[indices[k]]; }
        return new CompletionMeasurements(OutputDim, InputDim, r, c, Scale);
    }

    /// <inheritdoc/>
    public override Matrix<double> Dense(int i)
    {
        var m = new Matrix<double>(OutputDim, InputDim);
        m[RowIndex[i], ColIndex[i]] = Scale;
        return m;
    }
}
