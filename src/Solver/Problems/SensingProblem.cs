using Flatness.Kernels.Tensors;

namespace Flatness.Solver.Problems;

/// <summary>A sensing problem: measurements A, labels b (length n) and, when known, the ground truth M*.</summary>
public sealed class SensingProblem
{
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

    public Measurements Measurements { get; }
    public double[] Labels { get; }
    public Matrix<double>? GroundTruth { get; }
    public int Count => Measurements.Count;
    public int OutputDim => Measurements.OutputDim;
    public int InputDim => Measurements.InputDim;
}
