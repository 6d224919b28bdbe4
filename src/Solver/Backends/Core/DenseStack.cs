using Flatness.Solver.Problems;

namespace Flatness.Solver.Backends.Core;

/// <summary>The measurements as dense A_i stacked row-major (n x d_L x d_0), for the dense paths.</summary>
internal static class DenseStack
{
    /// <summary>The problem's own array for dense measurements; structured ones are materialised.</summary>
    public static double[] Of(Measurements m)
    {
        if (m is DenseMeasurements dense) return dense.A;
        long size = (long)m.OutputDim * m.InputDim;
        if (m.Count * size > Array.MaxLength)
            throw new ArgumentException($"the {m.Count} measurements of {m.OutputDim}x{m.InputDim} are too many to hold as dense matrices");
        var a = new double[m.Count * size];
        for (int i = 0; i < m.Count; i++) m.Dense(i).Data.CopyTo(a, i * size);
        return a;
    }
}
