using System.Text.Json;
using Flatness.Kernels.Tensors;
using Flatness.Solver.Backends;
using Flatness.Solver.Metrics;
using Flatness.Solver.Problems;
using Flatness.Solver.Problems.NumPy;

namespace Flatness.Tests;

[Collection("Console")]
public class EvalCommandTests : IDisposable
{
    private readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    private static readonly string Problem = CliRunner.Example("problem.npz");
    private static readonly string Layers = CliRunner.Example("layers.npz");

    private static PointMetrics Library(string problemPath, string layersPath, double lambda, bool gradients = false)
    {
        var problem = ProblemFiles.LoadProblem(problemPath);
        var layers = ProblemFiles.LoadLayers(layersPath, problem);
        using var evaluator = new ReferenceEvaluator(problem);
        return PointMetrics.Compute(problem, layers, evaluator, lambda, gradients);
    }

    private static JsonElement Json(string stdout)
    {
        using var doc = JsonDocument.Parse(stdout); // throws on anything but exactly one JSON value
        Assert.Equal(JsonValueKind.Object, doc.RootElement.ValueKind);
        return doc.RootElement.Clone();
    }

    [Fact]
    public void JsonFieldsEqualTheLibrarysNumbers()
    {
        var (code, stdout, stderr) = CliRunner.Run("eval", "--problem", Problem, "--layers", Layers, "--lambda", "0.25", "--json");
        Assert.Equal(0, code);
        Assert.Equal("", stderr);
        var json = Json(stdout);
        var m = Library(Problem, Layers, 0.25);

        var expected = new Dictionary<string, double>
        {
            ["loss"] = m.Loss, ["hessian_trace"] = m.HessianTrace, ["objective"] = m.Objective, ["lambda"] = 0.25,
            ["flatness_g"] = m.FlatnessG, ["bound_f"] = m.BoundF, ["trace_over_2g"] = m.TraceOver2G,
            ["nuclear_norm"] = m.NuclearNorm, ["frobenius_norm"] = m.FrobeniusNorm, ["spectral_norm"] = m.SpectralNorm,
            ["effective_rank"] = m.EffectiveRank, ["relative_error"] = m.RelativeError!.Value,
        };
        foreach (var (name, value) in expected)
            Assert.Equal(value, json.GetProperty(name).GetDouble()); // exact: JSON numbers round-trip doubles
        Assert.Equal(m.Loss + 0.25 * m.HessianTrace, json.GetProperty("objective").GetDouble(), 1e-12);
        Assert.Equal(3, json.GetProperty("depth").GetInt32());
        Assert.Equal(new[] { 6, 4, 4, 5 }, json.GetProperty("dims").EnumerateArray().Select(d => d.GetInt32()));
        Assert.Equal(60, json.GetProperty("n").GetInt32());
        Assert.Equal("dense", json.GetProperty("measurement").GetString());
        Assert.Equal("reference", json.GetProperty("backend").GetString());
        // Plausibility of the shipped example: Gaussian sensing keeps tr H close to 2G, and G >= F(E).
        Assert.InRange(m.TraceOver2G, 0.5, 1.5);
        Assert.True(m.FlatnessG >= m.BoundF);
    }

    [Fact]
    public void LambdaDefaultsToZero()
    {
        var (code, stdout, _) = CliRunner.Run("eval", "--problem", Problem, "--layers", Layers, "--json");
        Assert.Equal(0, code);
        var json = Json(stdout);
        Assert.Equal(0.0, json.GetProperty("lambda").GetDouble());
        Assert.Equal(json.GetProperty("loss").GetDouble(), json.GetProperty("objective").GetDouble());
    }

    [Fact]
    public void TablePrintsTheNumbers()
    {
        var (code, stdout, stderr) = CliRunner.Run("eval", "--problem", Problem, "--layers", Layers);
        Assert.Equal(0, code);
        Assert.Equal("", stderr);
        var m = Library(Problem, Layers, 0);
        Assert.Contains("Hessian trace", stdout);
        Assert.Contains(m.HessianTrace.ToString("G6", System.Globalization.CultureInfo.InvariantCulture), stdout);
        Assert.Contains(m.Loss.ToString("G6", System.Globalization.CultureInfo.InvariantCulture), stdout);
        Assert.Contains("relative error", stdout);
        Assert.Contains("dims [6, 4, 4, 5]", stdout);
    }

    [Fact]
    public void GradOutWritesBothGradientsWithTheLayersShapes()
    {
        var g = _dir.File("G.npz");
        var (code, stdout, stderr) = CliRunner.Run("eval", "--problem", Problem, "--layers", Layers, "--grad-out", g, "--json");
        Assert.Equal(0, code);
        Assert.Equal("", stderr);
        Assert.Equal(g, Json(stdout).GetProperty("grad_out").GetString());
        Assert.Equal(new[] { "G.npz" }, _dir.Listing());

        var arrays = Npz.ReadFile(g).ToDictionary(a => a.Name);
        var m = Library(Problem, Layers, 0, gradients: true);
        Assert.Equal(6, arrays.Count);
        for (int j = 1; j <= 3; j++)
        {
            var loss = arrays[$"grad_loss_W{j}"];
            var trace = arrays[$"grad_trace_W{j}"];
            Matrix<double> expectedLoss = m.LossGradient![j - 1], expectedTrace = m.TraceGradient![j - 1];
            Assert.Equal(new[] { expectedLoss.Rows, expectedLoss.Cols }, loss.Shape);
            Assert.Equal(expectedLoss.Data, loss.Floats);
            Assert.Equal(expectedTrace.Data, trace.Floats);
        }
        Assert.Equal(new[] { 4, 6 }, arrays["grad_trace_W1"].Shape);
        Assert.Equal(new[] { 5, 4 }, arrays["grad_loss_W3"].Shape);
    }

    [Fact]
    public void StructuredProblemsEvaluate()
    {
        var completion = new SensingProblem(new CompletionMeasurements(5, 6, [0, 1, 4, 2, 3], [5, 0, 2, 2, 1], 2.0), [1, 2, 3, 4, 5]);
        ProblemFiles.SaveProblem(_dir.File("c.npz"), completion);
        var (code, stdout, _) = CliRunner.Run("eval", "--problem", _dir.File("c.npz"), "--layers", Layers, "--json");
        Assert.Equal(0, code);
        var json = Json(stdout);
        Assert.Equal("completion", json.GetProperty("measurement").GetString());
        Assert.Equal(5, json.GetProperty("n").GetInt32());
        Assert.False(json.TryGetProperty("relative_error", out _));
        Assert.Equal(Library(_dir.File("c.npz"), Layers, 0).HessianTrace, json.GetProperty("hessian_trace").GetDouble());

        var rng = new Random(3);
        var rankOne = new SensingProblem(new RankOneMeasurements(4, 5, 6,
            Enumerable.Range(0, 20).Select(_ => rng.NextDouble()).ToArray(), Enumerable.Range(0, 24).Select(_ => rng.NextDouble()).ToArray()), [1, 0, 1, 0]);
        ProblemFiles.SaveProblem(_dir.File("r.npz"), rankOne);
        (code, stdout, _) = CliRunner.Run("eval", "--problem", _dir.File("r.npz"), "--layers", Layers, "--json");
        Assert.Equal(0, code);
        Assert.Equal("rank-one", Json(stdout).GetProperty("measurement").GetString());
    }

    /// <summary>Exit code 2, exactly one line on stderr naming the culprit, nothing on stdout, no stack trace, no file left.</summary>
    private void AssertBadInput(string fragment, params string[] args)
    {
        var before = _dir.Listing();
        var (code, stdout, stderr) = CliRunner.Run(args);
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("flatness: ", lines[0]);
        Assert.Contains(fragment, lines[0]);
        Assert.DoesNotContain(" at Flatness.", stderr);
        Assert.DoesNotContain("Exception", stderr);
        Assert.Equal(before, _dir.Listing());
    }

    [Fact]
    public void MissingProblemFile()
    {
        var missing = _dir.File("missing.npz");
        AssertBadInput($"{missing}: file not found", "eval", "--problem", missing, "--layers", Layers, "--grad-out", _dir.File("G.npz"));
    }

    [Fact]
    public void CorruptProblemFile()
    {
        var bad = _dir.File("bad.npz");
        File.WriteAllText(bad, "not a zip");
        AssertBadInput($"{bad}: not an .npz archive", "eval", "--problem", bad, "--layers", Layers, "--grad-out", _dir.File("G.npz"));
    }

    [Fact]
    public void LayersThatDoNotFitTheProblem()
    {
        var w = _dir.File("w.npz");
        ProblemFiles.SaveLayers(w, [new Matrix<double>(3, 6), new Matrix<double>(4, 3)]);
        AssertBadInput($"{w}: array 'W2': end-to-end matrix W2 ... W1 has shape (4, 6) but the problem's measurements are (d_L, d_0) = (5, 6)",
            "eval", "--problem", Problem, "--layers", w, "--grad-out", _dir.File("G.npz"));
    }

    [Fact]
    public void LayersFileWithAGap()
    {
        var w = _dir.File("w.npz");
        Npz.WriteFile(w, [NpyArray.Float("W1", [4, 6], new double[24]), NpyArray.Float("W3", [5, 4], new double[20])]);
        AssertBadInput("array 'W2': missing", "eval", "--problem", Problem, "--layers", w, "--json");
    }

    [Fact]
    public void GradOutIntoAMissingDirectory()
    {
        var g = _dir.File("no-such-dir/G.npz");
        AssertBadInput($"cannot write {g}: the directory", "eval", "--problem", Problem, "--layers", Layers, "--grad-out", g, "--json");
        Assert.False(Directory.Exists(_dir.File("no-such-dir")));
    }

    [Fact]
    public void GradOutOverAnInputIsRefused()
    {
        var copy = _dir.File("layers.npz");
        File.Copy(Layers, copy);
        AssertBadInput("would overwrite the input file", "eval", "--problem", Problem, "--layers", copy, "--grad-out", copy);
        Assert.Equal(File.ReadAllBytes(Layers), File.ReadAllBytes(copy));
    }

    [Fact]
    public void UnknownBackendListsTheValidOnes() =>
        AssertBadInput("unknown backend 'nope'; accepted: auto, cpu, reference", "eval", "--problem", Problem, "--layers", Layers, "--backend", "nope");

    [Theory]
    [InlineData("cpu")]
    [InlineData("auto")]
    public void OtherBackendsAgreeWithTheReference(string backend)
    {
        var (code, stdout, stderr) = CliRunner.Run("eval", "--problem", Problem, "--layers", Layers, "--backend", backend, "--json");
        Assert.Equal(0, code);
        Assert.Equal("", stderr);
        var json = Json(stdout);
        string chosen = json.GetProperty("backend").GetString()!;
        if (backend == "auto") Assert.NotEqual("auto", chosen); // auto names the backend it picked
        else Assert.Equal(backend, chosen);
        var m = Library(Problem, Layers, 0);
        Assert.Equal(m.Loss, json.GetProperty("loss").GetDouble(), 1e-10 * m.Loss);
        Assert.Equal(m.HessianTrace, json.GetProperty("hessian_trace").GetDouble(), 1e-10 * m.HessianTrace);
        Assert.Equal(m.FlatnessG, json.GetProperty("flatness_g").GetDouble(), 1e-10 * m.FlatnessG);
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("NaN")]
    [InlineData("Infinity")]
    public void BadLambda(string lambda) =>
        AssertBadInput("--lambda must be a finite number >= 0", "eval", "--problem", Problem, "--layers", Layers, "--lambda", lambda);

    [Fact]
    public void LambdaThatIsNotANumber() =>
        AssertBadInput("abc", "eval", "--problem", Problem, "--layers", Layers, "--lambda", "abc");

    [Fact]
    public void MissingRequiredOption() =>
        AssertBadInput("--layers", "eval", "--problem", Problem);
}
