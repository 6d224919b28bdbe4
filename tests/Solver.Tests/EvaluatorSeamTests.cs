using Flatness.Kernels.Tensors;
using Flatness.Solver.Backends;
using Flatness.Solver.Problems;

namespace Flatness.Tests;

/// <summary>Quick end-to-end checks of the reference evaluator through the seam: values against finite differences.</summary>
public class EvaluatorSeamTests
{
    private static Matrix<double> Random(Random rng, int r, int c)
    {
        var m = new Matrix<double>(r, c);
        for (int t = 0; t < m.Length; t++) m.Data[t] = rng.NextDouble() * 2 - 1;
        return m;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void TraceGradientMatchesCentralDifferences(int depth)
    {
        var rng = new Random(7 + depth);
        int d0 = 4, dl = 3, n = 9;
        var a = new double[n * dl * d0];
        for (int t = 0; t < a.Length; t++) a[t] = rng.NextDouble() * 2 - 1;
        var b = new double[n];
        for (int t = 0; t < n; t++) b[t] = rng.NextDouble();
        var problem = new SensingProblem(new DenseMeasurements(n, dl, d0, a), b);
        int[] dims = depth switch { 1 => [d0, dl], 2 => [d0, 5, dl], _ => [d0, 2, 5, dl] };
        var layers = Enumerable.Range(0, depth).Select(j => Random(rng, dims[j + 1], dims[j])).ToArray();
        var evaluator = new ReferenceEvaluator(problem);
        var e = evaluator.Evaluate(layers, Quantities.All);

        const double h = 1e-6;
        for (int k = 0; k < depth; k++)
            for (int t = 0; t < layers[k].Length; t++)
            {
                double saved = layers[k].Data[t];
                layers[k].Data[t] = saved + h;
                var plus = evaluator.Evaluate(layers, Quantities.Values);
                layers[k].Data[t] = saved - h;
                var minus = evaluator.Evaluate(layers, Quantities.Values);
                layers[k].Data[t] = saved;
                Assert.Equal((plus.Trace - minus.Trace) / (2 * h), e.TraceGradient![k].Data[t], 1e-6 * (1 + Math.Abs(e.Trace)));
                Assert.Equal((plus.Loss - minus.Loss) / (2 * h), e.LossGradient![k].Data[t], 1e-6 * (1 + Math.Abs(e.Loss)));
            }
    }
}
