using Flatness.Kernels.Tensors;
using Flatness.Solver.Backends;
using Flatness.Solver.Model;
using Flatness.Solver.Optimizers;
using Flatness.Solver.Problems;

namespace Flatness.Tests;

/// <summary>The per-sample gradient helper against the reference evaluator on the one-sample sub-problem.</summary>
public class SampleGradientOptimizerTests
{
    public static TheoryData<ProblemKind, int> Cases()
    {
        var data = new TheoryData<ProblemKind, int>();
        foreach (var kind in new[] { ProblemKind.Gaussian, ProblemKind.Completion, ProblemKind.RankOne })
            foreach (int depth in new[] { 1, 2, 3, 4 })
                data.Add(kind, depth);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesTheReferenceEvaluatorOnOneSample(ProblemKind kind, int depth)
    {
        var p = Generators.Generate(new ProblemSpec(kind, 5, 4, 2, 12, Seed: 3));
        int[] dims = depth switch { 1 => [5, 4], 2 => [5, 3, 4], 3 => [5, 6, 2, 4], _ => [5, 3, 7, 2, 4] };
        var layers = Initializers.Gaussian(dims, 1.0, 8).Layers;
        var helper = new SampleGradients(p.Measurements, dims);
        var gradient = LayerMath.ZerosLike(layers);
        foreach (int i in new[] { 0, 5, 11 })
        {
            double target = p.Labels[i] + 0.3;
            double r = helper.Compute(layers, i, target, gradient);
            var one = new SensingProblem(p.Measurements.Select([i]), [target]);
            var e = new ReferenceEvaluator(one).Evaluate(layers, Quantities.Loss | Quantities.LossGradient);
            Assert.Equal(e.Loss, r * r, 1e-12 * (1 + e.Loss));
            for (int j = 0; j < depth; j++)
                for (int t = 0; t < gradient[j].Length; t++)
                    Assert.Equal(e.LossGradient![j].Data[t], gradient[j].Data[t], 1e-11 * (1 + Math.Abs(e.LossGradient[j].Data[t])));
            Assert.Equal(r + target, helper.Value(layers, i), 1e-12 * (1 + Math.Abs(target)));
        }
    }

    [Fact]
    public void RejectsMismatchedDimsAndSamples()
    {
        var p = Generators.Gaussian(5, 4, 1, 6);
        Assert.Throws<ArgumentException>(() => new SampleGradients(p.Measurements, [4, 4]));
        var helper = new SampleGradients(p.Measurements, [5, 4]);
        var g = new[] { new Matrix<double>(4, 5) };
        Assert.Throws<ArgumentOutOfRangeException>(() => helper.Compute([new Matrix<double>(4, 5)], 6, 0, g));
    }
}
