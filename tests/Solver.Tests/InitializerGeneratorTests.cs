using Flatness.Kernels.Linalg;
using Flatness.Kernels.Reference;
using Flatness.Kernels.Tensors;
using Flatness.Solver.Model;
using Flatness.Solver.Optimizers;
using Flatness.Solver.Problems;

namespace Flatness.Tests;

public class InitializerGeneratorTests
{
    private static double MaxAbsDifference(Matrix<double> a, Matrix<double> b) => a.Data.Zip(b.Data).Max(p => Math.Abs(p.First - p.Second));

    [Fact]
    public void DimsUseTheWidthOrMaxOfTheEnds()
    {
        Assert.Equal([5, 5, 5, 3], Initializers.Dims(5, 3, 3));
        Assert.Equal([2, 6, 6], Initializers.Dims(2, 6, 2));
        Assert.Equal([5, 2, 2, 2, 3], Initializers.Dims(5, 3, 4, 2));
        Assert.Equal([5, 3], Initializers.Dims(5, 3, 1));
        Assert.Contains("depth", Assert.Throws<ArgumentOutOfRangeException>(() => Initializers.Dims(5, 3, 0)).Message);
        Assert.Contains("width", Assert.Throws<ArgumentOutOfRangeException>(() => Initializers.Dims(5, 3, 2, 0)).Message);
        Assert.Contains("depth >= 2", Assert.Throws<ArgumentException>(() => Initializers.Dims(5, 3, 1, 4)).Message);
    }

    [Fact]
    public void GaussianHasFanInVariance()
    {
        var f = Initializers.Gaussian([400, 300, 200], 0.5, 1);
        for (int j = 0; j < 2; j++)
        {
            var w = f.Layers[j];
            double variance = w.Data.Select(x => x * x).Average();
            double expected = 0.25 / w.Cols;
            Assert.InRange(variance / expected, 0.98, 1.02);
        }
        Assert.Equal(f.Layers[1].Data, Initializers.Gaussian([400, 300, 200], 0.5, 1).Layers[1].Data);
        Assert.NotEqual(f.Layers[1].Data, Initializers.Gaussian([400, 300, 200], 0.5, 2).Layers[1].Data);
    }

    [Fact]
    public void OrthogonalLayersHaveAllSingularValuesEqualToTheScale()
    {
        var f = Initializers.Orthogonal([4, 7, 3, 5], 1.5, 3);
        foreach (var w in f.Layers)
        {
            var s = Svd.SingularValues(w);
            Assert.Equal(Math.Min(w.Rows, w.Cols), s.Length);
            foreach (double x in s) Assert.Equal(1.5, x, 1e-12);
        }
    }

    [Fact]
    public void SmallBalancedIsExactlyBalancedWithEndToEndSingularValuesAtTheScale()
    {
        var dims = new[] { 6, 8, 5, 7 };
        var f = Initializers.SmallBalanced(dims, 1e-2, 4);
        for (int j = 0; j + 1 < f.Depth; j++)
        {
            var upper = ReferenceBlas.Multiply(f.Layers[j + 1], f.Layers[j + 1], transposeA: true);
            var lower = ReferenceBlas.Multiply(f.Layers[j], f.Layers[j], transposeB: true);
            Assert.True(MaxAbsDifference(upper, lower) < 1e-16, $"layers {j + 1}, {j + 2} are not balanced");
        }
        var s = Svd.SingularValues(LayerMath.EndToEnd(f.Layers));
        for (int k = 0; k < 5; k++) Assert.Equal(1e-2, s[k], 1e-15); // k = min dims = 5
        Assert.True(s[5] < 1e-17);
        foreach (var w in f.Layers) Assert.Equal(Math.Pow(1e-2, 1.0 / 3), Svd.SingularValues(w)[0], 1e-12);
    }

    [Fact]
    public void BadScalesAndDimsAreRejected()
    {
        Assert.Contains("scale", Assert.Throws<ArgumentOutOfRangeException>(() => Initializers.Gaussian([3, 3], 0, 1)).Message);
        Assert.Contains("scale", Assert.Throws<ArgumentOutOfRangeException>(() => Initializers.Orthogonal([3, 3], double.NaN, 1)).Message);
        Assert.Contains("d_1", Assert.Throws<ArgumentOutOfRangeException>(() => Initializers.SmallBalanced([3, 0, 3], 1, 1)).Message);
        Assert.Throws<ArgumentException>(() => Initializers.Create(InitKind.File, [3, 3], 1, 1));
    }

    [Fact]
    public void FromFileChecksTheProblemShape()
    {
        var problem = Generators.Gaussian(4, 3, 1, 5);
        var path = Path.Combine(Path.GetTempPath(), $"layers-{Guid.NewGuid():N}.npz");
        try
        {
            ProblemFiles.SaveLayers(path, Initializers.Gaussian([4, 2, 3], 1, 1).Layers);
            Assert.Equal([4, 2, 3], ProblemFiles.LoadLayers(path, problem).Dims);
            ProblemFiles.SaveLayers(path, Initializers.Gaussian([3, 2, 3], 1, 1).Layers);
            Assert.Throws<ProblemFileException>(() => ProblemFiles.LoadLayers(path, problem));
        }
        finally { File.Delete(path); }
    }
}
