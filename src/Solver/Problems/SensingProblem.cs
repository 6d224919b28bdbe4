using Flatness.Kernels.Tensors;

namespace Flatness.Solver.Problems;

/// <summary>A sensing problem: measurements A, labels b (length n) and, when known, the ground truth M*.</summary>
public sealed class SensingProblem
{
    /// <summary>A problem from its measurements, labels b (one per measurement) and optionally the ground truth M*.</summary>
    /// <exception cref="ArgumentException">n = 0, a label count that is not n, or M* of another shape than the A_i.</exception>
    public SensingProblem(Measurements measurements, double[] labels, Matrix<double>? groundTruth = null)
    {
        if (measurements.Count == 0)
            throw new ArgumentException("the problem has no measurements (n = 0)", nameof(measurements));
        if (labels.Length != measurements.Count)
            throw new ArgumentException($"b has length {labels.Length} but there are {measurements.Count} measurements", nameof(labels));
        if (groundTruth is not null && (groundTruth.Rows != measurements.OutputDim || groundTruth.Cols != measurements.InputDim))
            throw new ArgumentException($"M_star is {groundTruth.Rows}x{groundTruth.Cols} but the measurements are {measurements.OutputDim}x{measurements.InputDim}", nameof(groundTruth));
        Measurements = measurements;
        Labels = labels;
        GroundTruth = groundTruth;
    }

    /// <summary>The measurement operator A.</summary>
    public Measurements Measurements { get; }
    /// <summary>b, one label per measurement.</summary>
    public double[] Labels { get; }
    /// <summary>M*, when known (generated problems, files that carry it); recovery errors need it.</summary>
    public Matrix<double>? GroundTruth { get; }
    /// <summary>n, the number of measurements.</summary>
    public int Count => Measurements.Count;
    /// <summary>d_L.</summary>
    public int OutputDim => Measurements.OutputDim;
    /// <summary>d_0.</summary>
    public int InputDim => Measurements.InputDim;
}
