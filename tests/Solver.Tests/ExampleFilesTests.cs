using Flatness.Kernels.Tensors;
using Flatness.Solver.Problems;

namespace Flatness.Tests;

/// <summary>
/// The example the repository ships, examples/gaussian-small: Gaussian sensing (A_i with independent N(0, 1)
/// entries) of a rank-2 matrix M* with ||M*||_F = 1, d_0 = 6, d_L = 5, n = 60, labels b_i = &lt;A_i, M*&gt;, and
/// random layers of depth 3 (dims 6, 4, 4, 5). Run with FLATNESS_WRITE_EXAMPLES=1 to (re)write the files.
/// </summary>
public class ExampleFilesTests
{
    public const int Seed = 20240601;

    public static (SensingProblem Problem, Matrix<double>[] Layers) GaussianSmall()
    {
        const int d0 = 6, dl = 5, n = 60, rank = 2;
        int[] dims = [d0, 4, 4, dl];
        var rng = new Random(Seed);
        double Gauss()
        {
            double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
            return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
        }

        var u = new double[dl * rank];
        var v = new double[d0 * rank];
        for (int t = 0; t < u.Length; t++) u[t] = Gauss();
        for (int t = 0; t < v.Length; t++) v[t] = Gauss();
        var m = new Matrix<double>(dl, d0);
        for (int a = 0; a < dl; a++)
            for (int b = 0; b < d0; b++)
                for (int k = 0; k < rank; k++) m[a, b] += u[a * rank + k] * v[b * rank + k];
        double norm = Math.Sqrt(m.Data.Sum(x => x * x));
        for (int t = 0; t < m.Length; t++) m.Data[t] /= norm;

        var a3 = new double[n * dl * d0];
        for (int t = 0; t < a3.Length; t++) a3[t] = Gauss();
        var labels = new double[n];
        for (int i = 0; i < n; i++)
            for (int t = 0; t < dl * d0; t++) labels[i] += a3[i * dl * d0 + t] * m.Data[t];

        var layers = new Matrix<double>[dims.Length - 1];
        for (int j = 0; j < layers.Length; j++)
        {
            layers[j] = new Matrix<double>(dims[j + 1], dims[j]);
            for (int t = 0; t < layers[j].Length; t++) layers[j].Data[t] = Gauss() / Math.Sqrt(dims[j]);
        }
        return (new SensingProblem(new DenseMeasurements(n, dl, d0, a3), labels, m), layers);
    }

    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Kernels.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException("Kernels.sln not found above " + AppContext.BaseDirectory);
    }

    [Fact]
    public void CommittedExampleIsWhatTheGeneratorMakes()
    {
        string dir = Path.Combine(RepositoryRoot(), "examples", "gaussian-small");
        var (problem, layers) = GaussianSmall();
        if (Environment.GetEnvironmentVariable("FLATNESS_WRITE_EXAMPLES") == "1")
        {
            Directory.CreateDirectory(dir);
            ProblemFiles.SaveProblem(Path.Combine(dir, "problem.npz"), problem);
            ProblemFiles.SaveLayers(Path.Combine(dir, "layers.npz"), layers);
        }

        var loaded = ProblemFiles.LoadProblem(Path.Combine(dir, "problem.npz"));
        var loadedLayers = ProblemFiles.LoadLayers(Path.Combine(dir, "layers.npz"), loaded);
        Assert.Equal((60, 5, 6), (loaded.Count, loaded.OutputDim, loaded.InputDim));
        Assert.Equal(new[] { 6, 4, 4, 5 }, loadedLayers.Dims);
        // Equal up to the last bits libm may round differently on another machine.
        AssertClose(((DenseMeasurements)problem.Measurements).A, ((DenseMeasurements)loaded.Measurements).A);
        AssertClose(problem.Labels, loaded.Labels);
        AssertClose(problem.GroundTruth!.Data, loaded.GroundTruth!.Data);
        for (int j = 0; j < layers.Length; j++) AssertClose(layers[j].Data, loadedLayers.Layers[j].Data);
        Assert.Equal(1.0, Math.Sqrt(loaded.GroundTruth.Data.Sum(x => x * x)), 12);
    }

    private static void AssertClose(double[] expected, double[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 1e-12);
    }
}
