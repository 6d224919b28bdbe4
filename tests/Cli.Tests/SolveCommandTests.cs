using Flatness.Solver.Backends;
using System.Text.Json;
using Flatness.Solver.Problems;
using Flatness.Solver.Runs;

namespace Flatness.Tests;

[Collection("Console")]
public class SolveCommandTests : IDisposable
{
    private readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    private static readonly string[] Small = ["solve", "--generate", "gaussian", "--d0", "6", "--dL", "6", "--rank", "1", "--n", "24", "--seed", "3"];

    private static JsonElement Json(string stdout)
    {
        using var doc = JsonDocument.Parse(stdout); // throws on anything but exactly one JSON value
        Assert.Equal(JsonValueKind.Object, doc.RootElement.ValueKind);
        return doc.RootElement.Clone();
    }

    [Fact]
    public void JsonReportsTheRunnersNumbers()
    {
        var (code, stdout, stderr) = CliRunner.Run([.. Small, "--method", "gd", "--lr", "0.05", "--steps", "300", "--backend", "reference", "--json", "--explain"]);
        Assert.Equal(0, code);
        Assert.Equal("", stderr);
        var json = Json(stdout);
        var library = SolveRunner.Run(new SolveRequest
        {
            Generate = new ProblemSpec(ProblemKind.Gaussian, 6, 6, 1, 24, Seed: 3), Seed = 3, Method = SolveMethod.Gd,
            LearningRate = 0.05, Steps = 300, Backend = BackendKind.Reference,
        });
        var m = library.Metrics;
        Assert.Equal("gd", json.GetProperty("method").GetString());
        Assert.Equal(m.RelativeError!.Value, json.GetProperty("relative_error").GetDouble());
        Assert.Equal(m.Loss, json.GetProperty("loss").GetDouble());
        Assert.Equal(m.HessianTrace, json.GetProperty("hessian_trace").GetDouble());
        Assert.Equal(m.NuclearNorm, json.GetProperty("nuclear_norm").GetDouble());
        Assert.Equal(m.FlatnessG, json.GetProperty("flatness_g").GetDouble());
        Assert.Equal(m.BoundF, json.GetProperty("bound_f").GetDouble());
        Assert.Equal(300, json.GetProperty("steps").GetInt64());
        Assert.True(json.GetProperty("seconds").GetDouble() > 0);
        Assert.Equal("reference", json.GetProperty("backend").GetString());
        Assert.Equal("reference", json.GetProperty("path").GetString());
        Assert.Equal(0, json.GetProperty("backoffs").GetInt32());
        Assert.Equal("max-steps", json.GetProperty("stop_reason").GetString());
        Assert.Contains("reference", json.GetProperty("reason").GetString());
        Assert.Equal(0.05, json.GetProperty("parameters").GetProperty("lr").GetDouble());
    }

    [Fact]
    public void PenaltyOnTheShippedExampleWithTheCpuBackend()
    {
        var (code, stdout, stderr) = CliRunner.Run("solve", "--problem", CliRunner.Example("problem.npz"), "--method", "penalty",
            "--depth", "3", "--backend", "cpu", "--json");
        Assert.Equal(0, code);
        Assert.Equal("", stderr);
        var json = Json(stdout);
        Assert.Equal("cpu", json.GetProperty("backend").GetString());
        Assert.Equal("loss-tolerance", json.GetProperty("stop_reason").GetString());
        Assert.Equal(3, json.GetProperty("depth").GetInt32());
        Assert.True(json.GetProperty("relative_error").GetDouble() < 1e-3);
    }

    [Fact]
    public void OutWritesLayersAndHistoryOrTheBaselinesMatrix()
    {
        string run = _dir.File("run.npz");
        var (code, _, stderr) = CliRunner.Run([.. Small, "--method", "flat", "--lambda", "1e-3", "--steps", "200", "--history-every", "50",
            "--depth", "3", "--json", "--out", run]);
        Assert.Equal(0, code);
        Assert.Equal("", stderr);
        var arrays = ProblemFiles.ReadArrays(run).ToDictionary(a => a.Name);
        Assert.Equal(new[] { "W1", "W2", "W3" }, arrays.Keys.Where(k => k.StartsWith('W')));
        Assert.Equal(new double[] { 0, 50, 100, 150, 200 }, arrays["history_step"].Floats);
        foreach (var column in new[] { "history_loss", "history_trace", "history_g", "history_objective", "history_relative_error", "history_nuclear_norm" })
            Assert.Equal(5, arrays[column].Floats!.Length);
        Assert.Equal(new[] { "run.npz" }, _dir.Listing()); // no temporary left behind

        string baseline = _dir.File("nuclear.npz");
        Assert.Equal(0, CliRunner.Run([.. Small, "--method", "nuclear", "--json", "--out", baseline]).Code);
        var e = ProblemFiles.ReadArrays(baseline).First();
        Assert.Equal("E", e.Name);
        Assert.Equal(new[] { 6, 6 }, e.Shape);
    }

    [Fact]
    public void TableOnStandardOutput()
    {
        var (code, stdout, stderr) = CliRunner.Run([.. Small, "--method", "min-frobenius", "--explain"]);
        Assert.Equal(0, code);
        Assert.Equal("", stderr);
        Assert.Contains("min-frobenius", stdout);
        Assert.Contains("relative error", stdout);
        Assert.Contains("why:", stdout);
    }

    [Theory]
    [InlineData("lambda does not apply to method gd", "--method", "gd", "--lambda", "0.1")]
    [InlineData("learning rate must be finite and positive, got -1", "--method", "gd", "--lr", "-1")]
    [InlineData("depth L must be >= 1, got 0", "--method", "gd", "--depth", "0")]
    [InlineData("rho does not apply to method flat", "--method", "flat", "--rho", "0.1")]
    [InlineData("sigma must be finite and >= 0", "--method", "label-noise", "--sigma", "-2")]
    [InlineData("takes no starting point", "--method", "nuclear", "--init-scale", "0.1")]
    [InlineData("steps does not apply to method min-frobenius", "--method", "min-frobenius", "--steps", "5")]
    [InlineData("init file", "--method", "gd", "--init", "file")]
    [InlineData("history interval does not apply to method nuclear", "--method", "nuclear", "--history-every", "5")]
    [InlineData("time limit does not apply to method min-frobenius", "--method", "min-frobenius", "--time-limit", "5")]
    [InlineData("--scale applies to --generate completion only", "--method", "gd", "--scale", "2")]
    [InlineData("unknown method 'newton' for --method; valid: flat, penalty", "--method", "newton")]
    [InlineData("unknown initialisation 'zeros'", "--method", "gd", "--init", "zeros")]
    [InlineData("unknown precision 'f16'", "--method", "gd", "--precision", "f16")]
    [InlineData("--time-limit", "--method", "gd", "--time-limit", "-1")]
    public void BadOptionsAreOneLineAndExitCode2(string expected, params string[] extra)
    {
        var (code, stdout, stderr) = CliRunner.Run([.. Small, .. extra]);
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains(expected, stderr);
        Assert.Single(stderr.TrimEnd('\n', '\r').Split('\n'));
        Assert.StartsWith("flatness: ", stderr);
        Assert.DoesNotContain("(Parameter", stderr);
    }

    [Theory]
    [InlineData("rank must lie in [1, min(d_0, d_L)] = [1, 6], got 7", "solve", "--generate", "gaussian", "--d0", "6", "--dL", "6", "--rank", "7", "--n", "24", "--method", "gd")]
    [InlineData("--generate gaussian needs --n", "solve", "--generate", "gaussian", "--d0", "6", "--dL", "6", "--rank", "1", "--method", "gd")]
    [InlineData("--n does not apply to --generate basis", "solve", "--generate", "basis", "--d0", "6", "--dL", "6", "--rank", "1", "--n", "36", "--method", "gd")]
    [InlineData("exactly one of --problem FILE and --generate KIND", "solve", "--method", "gd")]
    [InlineData("--d0 applies to --generate, not to --problem", "solve", "--problem", "p.npz", "--d0", "3", "--method", "gd")]
    [InlineData("file not found", "solve", "--problem", "no-such-problem.npz", "--method", "gd")]
    public void BadProblemsAreOneLineAndExitCode2(string expected, params string[] args)
    {
        var (code, stdout, stderr) = CliRunner.Run(args);
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains(expected, stderr);
        Assert.Single(stderr.TrimEnd('\n', '\r').Split('\n'));
    }

    [Fact]
    public void OutMayNotOverwriteAnInput()
    {
        string problem = _dir.File("problem.npz");
        File.Copy(CliRunner.Example("problem.npz"), problem);
        var (code, _, stderr) = CliRunner.Run("solve", "--problem", problem, "--method", "min-frobenius", "--out", problem);
        Assert.Equal(2, code);
        Assert.Contains("would overwrite the input file", stderr);
    }
}
