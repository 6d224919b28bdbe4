using Flatness.Kernels.Tensors;
using Flatness.Solver.Problems;

namespace Flatness.Solver.Backends;

/// <summary>Shape checks at the evaluator boundary (the chain itself: <see cref="LayerShapes"/>); inner loops trust them.</summary>
internal static class LayerChecks
{
    /// <summary>The layers chain and map the problem's d_0 to its d_L.</summary>
    public static void RequireMatches(IReadOnlyList<Matrix<double>> layers, SensingProblem problem)
    {
        var dims = LayerShapes.Dims(layers);
        if (dims[^1] != problem.OutputDim || dims[0] != problem.InputDim)
            throw new ArgumentException(
                $"end-to-end matrix is {dims[^1]}x{dims[0]} but the measurements are {problem.OutputDim}x{problem.InputDim}", nameof(layers));
    }

    /// <summary>A factorisation shape [d_0, .., d_L] (L &gt;= 1, positive) that maps the problem's d_0 to its d_L.</summary>
    public static void RequireDims(IReadOnlyList<int> dims, SensingProblem problem)
    {
        ArgumentNullException.ThrowIfNull(dims);
        ArgumentNullException.ThrowIfNull(problem);
        if (dims.Count < 2)
            throw new ArgumentException($"dims must list d_0..d_L for at least one layer, got {dims.Count} entries", nameof(dims));
        for (int j = 0; j < dims.Count; j++)
            if (dims[j] < 1) throw new ArgumentException($"dims[{j}] = {dims[j]} must be positive", nameof(dims));
        if (dims[0] != problem.InputDim || dims[^1] != problem.OutputDim)
            throw new ArgumentException(
                $"the factorisation maps {dims[0]} to {dims[^1]} but the problem's measurements are {problem.OutputDim}x{problem.InputDim} (d_L x d_0)", nameof(dims));
    }

    /// <summary>The layers have exactly the shape [d_0, .., d_L] an evaluator is laid out for.</summary>
    public static void RequireShape(IReadOnlyList<Matrix<double>> layers, IReadOnlyList<int> dims)
    {
        ArgumentNullException.ThrowIfNull(layers);
        if (layers.Count != dims.Count - 1)
            throw new ArgumentException($"the evaluator is laid out for {dims.Count - 1} layers, got {layers.Count}", nameof(layers));
        for (int k = 1; k < dims.Count; k++)
        {
            var w = layers[k - 1] ?? throw new ArgumentException($"W{k} is missing", nameof(layers));
            if (w.Rows != dims[k] || w.Cols != dims[k - 1])
                throw new ArgumentException($"W{k} is {w.Rows}x{w.Cols}, the evaluator expects {dims[k]}x{dims[k - 1]}", nameof(layers));
        }
    }
}
