using System.Text.Json;
using Flatness.Kernels.Linalg;
using Flatness.Kernels.Tensors;
using Flatness.Solver.Backends;
using Flatness.Solver.Curvature;
using Flatness.Solver.Problems;

namespace Flatness.Tests;

[Collection("Console")]
public sealed class HessianCommandTests : IDisposable
{
    private readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    private static readonly string Problem = CliRunner.Example("problem.npz");
    private static readonly string Layers = CliRunner.Example("layers.npz");

    private static JsonElement Json(string stdout)
    {
        using var doc = JsonDocument.Parse(stdout);
        return doc.RootElement.Clone();
    }

    private static double[] Doubles(JsonElement e, string name) => e.GetProperty(name).EnumerateArray().Select(x => x.GetDouble()).ToArray();

    [Fact]
    public void JsonCarriesTheExactTraceTheTopEigenvaluesAndTheFullSpectrum()
    {
        var (code, stdout, stderr) = CliRunner.Run("hessian", "--problem", Problem, "--layers", Layers, "--top", "3", "--spectrum", "full",
            "--estimate", "hutchinson,xtrace", "--matvecs", "40", "--backend", "cpu", "--json");
        Assert.True(code == 0, stderr);
        var json = Json(stdout);
        var problem = ProblemFiles.LoadProblem(Problem);
        var layers = ProblemFiles.LoadLayers(Layers, problem);
        using var reference = new ReferenceEvaluator(problem);
        var evaluation = reference.Evaluate(layers.Layers, Quantities.Trace);
        Assert.Equal(evaluation.Trace, json.GetProperty("trace").GetDouble(), 1e-10 * evaluation.Trace);
        var layerTraces = Doubles(json, "layer_traces");
        Assert.Equal(layers.Depth, layerTraces.Length);
        Assert.Equal(evaluation.Trace, layerTraces.Sum(), 1e-10 * evaluation.Trace);

        // The eigenvalues against the reference's assembled Hessian.
        var full = Tridiagonal.SymmetricEigenvalues(new HessianOperator(reference, layers.Layers).Assemble());
        var eigenvalues = Doubles(json, "eigenvalues");
        Assert.Equal(full.Length, eigenvalues.Length);
        for (int i = 0; i < full.Length; i++) Assert.Equal(full[i], eigenvalues[i], 1e-9 * Math.Abs(full[^1]));
        var top = Doubles(json, "top_eigenvalues");
        Assert.Equal(new[] { full[^1], full[^2], full[^3] }, top, new Tolerance(1e-9 * full[^1]));
        Assert.Equal(top[0], json.GetProperty("lambda_max").GetDouble());
        Assert.Equal(full[0], json.GetProperty("lambda_min").GetDouble(), 1e-9 * full[^1]);
        Assert.True(json.GetProperty("converged").GetBoolean());
        Assert.All(Doubles(json, "error_bounds"), r => Assert.True(r <= 1e-10 * Math.Max(full[^1], -full[0]) * 1.0001));
        Assert.Equal(3, Doubles(json, "residual_norms").Length);
        var estimates = json.GetProperty("estimates").EnumerateArray().ToArray();
        Assert.Equal(8, estimates.Length);
        foreach (var e in estimates)
            Assert.Equal(Math.Abs(e.GetProperty("estimate").GetDouble() - evaluation.Trace) / evaluation.Trace, e.GetProperty("relative_error").GetDouble(), 1e-9);
        Assert.True(json.GetProperty("matvecs").GetInt64() > 0);
        Assert.True(json.GetProperty("seconds").GetDouble() > 0);
    }

    [Fact]
    public void AFloat32DraftGivesTheSameCertifiedTopEigenvalues()
    {
        string[] common = ["hessian", "--problem", Problem, "--layers", Layers, "--top", "2", "--backend", "cpu", "--json"];
        var (code, stdout, stderr) = CliRunner.Run(common);
        Assert.True(code == 0, stderr);
        var (draftCode, draftOut, draftErr) = CliRunner.Run([.. common, "--draft", "f32"]);
        Assert.True(draftCode == 0, draftErr);
        var exact = Json(stdout);
        var drafted = Json(draftOut);
        var top = Doubles(exact, "top_eigenvalues");
        double scale = Math.Max(top[0], -exact.GetProperty("lambda_min").GetDouble());
        Assert.Equal(top, Doubles(drafted, "top_eigenvalues"), new Tolerance(2e-10 * scale));
        Assert.Equal(exact.GetProperty("lambda_min").GetDouble(), drafted.GetProperty("lambda_min").GetDouble(), 2e-10 * scale);
        Assert.True(drafted.GetProperty("converged").GetBoolean());
        Assert.All(Doubles(drafted, "error_bounds"), r => Assert.True(r <= 1e-10 * scale));
        Assert.Equal(0, exact.GetProperty("draft_matvecs").GetInt64());
        Assert.True(drafted.GetProperty("draft_matvecs").GetInt64() > 0);
        // Certified by the top vectors and lambda_min's together: 3 float64 products.
        Assert.Equal(3, drafted.GetProperty("matvecs").GetInt64());
    }

    [Fact]
    public void HvpFileInHvpFileOut()
    {
        var problem = ProblemFiles.LoadProblem(Problem);
        var layers = ProblemFiles.LoadLayers(Layers, problem);
        var rng = new Random(3);
        var v = layers.Layers.Select(w => new Matrix<double>(w.Rows, w.Cols, w.Data.Select(_ => rng.NextDouble() - 0.5).ToArray())).ToArray();
        string vPath = _dir.File("v.npz"), hvPath = _dir.File("hv.npz");
        ProblemFiles.SaveChain(vPath, "V", v);
        var (code, _, stderr) = CliRunner.Run("hessian", "--problem", Problem, "--layers", Layers, "--hvp", vPath, "--hvp-out", hvPath, "--json");
        Assert.True(code == 0, stderr);
        var arrays = ProblemFiles.ReadArrays(hvPath).ToDictionary(a => a.Name);
        var want = new ReferenceEvaluator(problem).HessianVectorProduct(layers.Layers, v);
        for (int j = 0; j < want.Length; j++)
        {
            var got = arrays[$"HV{j + 1}"].Floats!;
            for (int t = 0; t < got.Length; t++) Assert.Equal(want[j].Data[t], got[t], 1e-10 * (1 + Math.Abs(want[j].Data[t])));
        }
    }

    [Fact]
    public void DensityWritesTheFigureAndItsValues()
    {
        string png = _dir.File("density.png");
        var (code, stdout, stderr) = CliRunner.Run("hessian", "--problem", Problem, "--layers", Layers, "--spectrum", "density", "--plot", png, "--json");
        Assert.True(code == 0, stderr);
        Assert.True(new FileInfo(png).Length > 1000);
        var lines = File.ReadAllLines(Path.ChangeExtension(png, ".csv"));
        Assert.Equal("eigenvalue,density", lines[0]);
        Assert.Equal(401, lines.Length);
        var json = Json(stdout);
        var grid = Doubles(json.GetProperty("density"), "grid");
        var density = Doubles(json.GetProperty("density"), "values");
        double mass = 0;
        for (int i = 1; i < grid.Length; i++) mass += 0.5 * (density[i] + density[i - 1]) * (grid[i] - grid[i - 1]);
        Assert.Equal(1.0, mass, 0.02); // a probability density over the spectrum
    }

    [Theory]
    [InlineData("--top", "0")]
    [InlineData("--top", "100000")]
    [InlineData("--estimate", "girard")]
    [InlineData("--spectrum", "sideways")]
    [InlineData("--hvp", "v.npz")]
    [InlineData("--plot", "figure.svg")]
    [InlineData("--draft", "f16")]
    [InlineData("--draft", "f64")]
    public void BadInputIsOneLineAndExitCodeTwo(string option, string value)
    {
        var (code, _, stderr) = CliRunner.Run("hessian", "--problem", Problem, "--layers", Layers, option, value);
        Assert.Equal(2, code);
        Assert.StartsWith("flatness: ", stderr);
        Assert.Single(stderr.TrimEnd().Split('\n'));
    }

    [Fact]
    public void ADirectionOfTheWrongShapeIsNamed()
    {
        string vPath = _dir.File("v.npz");
        ProblemFiles.SaveChain(vPath, "V", [new Matrix<double>(2, 2)]);
        var (code, _, stderr) = CliRunner.Run("hessian", "--problem", Problem, "--layers", Layers, "--hvp", vPath, "--hvp-out", _dir.File("hv.npz"));
        Assert.Equal(2, code);
        Assert.Contains("V", stderr);
        Assert.False(File.Exists(_dir.File("hv.npz")));
    }

    private sealed class Tolerance(double tolerance) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= tolerance;
        public int GetHashCode(double obj) => 0;
    }
}
