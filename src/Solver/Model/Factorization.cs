using Flatness.Kernels.Tensors;

namespace Flatness.Solver.Model;

/// <summary>
/// A deep linear factorisation W_L ... W_1 with W_j of shape (d_j, d_{j-1}); Dims = [d_0, d_1, ..., d_L].
/// </summary>
public sealed class Factorization
{
    public Factorization(IReadOnlyList<Matrix<double>> layers)
    {
        if (layers.Count == 0) throw new ArgumentException("a factorisation needs at least one layer", nameof(layers));
        for (int j = 1; j < layers.Count; j++)
            if (layers[j].Cols != layers[j - 1].Rows)
                throw new ArgumentException(
                    $"layers do not chain: W{j + 1} is {layers[j].Rows}x{layers[j].Cols} but W{j} has {layers[j - 1].Rows} rows", nameof(layers));
        Layers = layers.ToArray();
        Dims = new int[Layers.Length + 1];
        Dims[0] = Layers[0].Cols;
        for (int j = 0; j < Layers.Length; j++) Dims[j + 1] = Layers[j].Rows;
    }

    /// <summary>W_1 .. W_L (index 0 is W_1).</summary>
    public Matrix<double>[] Layers { get; }
    /// <summary>[d_0, d_1, ..., d_L].</summary>
    public int[] Dims { get; }
    public int Depth => Layers.Length;
    public int InputDim => Dims[0];
    public int OutputDim => Dims[^1];

    public Factorization Clone() => new(Layers.Select(w => w.Clone()).ToArray());
}
