using Flatness.Kernels.Tensors;
using Flatness.Solver.Problems;

namespace Flatness.Solver.Backends;

/// <summary>Shape and value checks on layers at the evaluator boundary; inner loops trust them.</summary>
public static class LayerChecks
{
    public static void RequireMatches(IReadOnlyList<Matrix<double>> layers, SensingProblem problem)
    {
        if (layers.Count == 0) throw new ArgumentException("no layers given: a factorisation needs at least W1");
        for (int j = 1; j < layers.Count; j++)
            if (layers[j].Cols != layers[j - 1].Rows)
                throw new ArgumentException(
                    $"layers do not chain: W{j + 1} is {layers[j].Rows}x{layers[j].Cols} but W{j} has {layers[j - 1].Rows} rows");
        int dl = layers[^1].Rows, d0 = layers[0].Cols;
        if (dl != problem.OutputDim || d0 != problem.InputDim)
            throw new ArgumentException(
                $"end-to-end matrix is {dl}x{d0} but the measurements are {problem.OutputDim}x{problem.InputDim}");
    }
}
