using Flatness.Kernels.Tensors;

namespace Flatness.Solver.Model;

/// <summary>
/// A deep linear factorisation W_L ... W_1 with W_j of shape (d_j, d_{j-1}); Dims = [d_0, d_1, ..., d_L].
/// </summary>
public sealed class Factorization
{
    /// <summary>The layers W_1 .. W_L (index 0 is W_1; the list is copied, the matrices are not).</summary>
    /// <exception cref="ArgumentException">no layers, or shapes that do not chain.</exception>
    public Factorization(IReadOnlyList<Matrix<double>> layers)
    {
        Dims = LayerShapes.Dims(layers);
        Layers = layers.ToArray();
    }

    /// <summary>W_1 .. W_L (index 0 is W_1).</summary>
    public Matrix<double>[] Layers { get; }
    /// <summary>[d_0, d_1, ..., d_L].</summary>
    public int[] Dims { get; }
    /// <summary>L, the number of layers.</summary>
    public int Depth => Layers.Length;
    /// <summary>d_0, the columns of W_1.</summary>
    public int InputDim => Dims[0];
    /// <summary>d_L, the rows of W_L.</summary>
    public int OutputDim => Dims[^1];

    /// <summary>A deep copy (new matrices).</summary>
    public Factorization Clone() => new(Layers.Select(w => w.Clone()).ToArray());
}
