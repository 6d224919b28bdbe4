using Flatness.Kernels.Tensors;

namespace Flatness.Solver.Model;

/// <summary>
/// A deep linear factorisation W_L ... W_1 with W_j of shape (d_j, d_{j-1}); Dims = [d_0, d_1, ..., d_L].
/// </summary>
public sealed class Factorization
{
    public Factorization(IReadOnlyList<Matrix<double>> layers)
    {
        Dims = LayerShapes.Dims(layers);
        Layers = layers.ToArray();
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
