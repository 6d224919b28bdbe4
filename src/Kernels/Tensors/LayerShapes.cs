using System.Numerics;

namespace Flatness.Kernels.Tensors;

/// <summary>The one check that layers W_1..W_L (W_j of shape d_j x d_{j-1}, index 0 is W_1) form a chain.</summary>
public static class LayerShapes
{
    /// <summary>[d_0, .., d_L] of a chain of layers; throws <see cref="ArgumentException"/> naming the first break.</summary>
    public static int[] Dims<T>(IReadOnlyList<Matrix<T>> layers) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(layers);
        if (layers.Count == 0) throw new ArgumentException("no layers given: a factorisation needs at least W1", nameof(layers));
        var dims = new int[layers.Count + 1];
        dims[0] = layers[0]?.Cols ?? throw new ArgumentException("W1 is missing", nameof(layers));
        for (int j = 0; j < layers.Count; j++)
        {
            if (layers[j] is null) throw new ArgumentException($"W{j + 1} is missing", nameof(layers));
            if (layers[j].Cols != dims[j])
                throw new ArgumentException(
                    $"layers do not chain: W{j + 1} is {layers[j].Rows}x{layers[j].Cols} but W{j} has {dims[j]} rows", nameof(layers));
            dims[j + 1] = layers[j].Rows;
        }
        return dims;
    }
}
