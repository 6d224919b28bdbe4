using System.Text.Json;
using Flatness.Kernels.Tensors;
using Flatness.Solver.Problems;

namespace Flatness.Tests;

/// <summary>Layers whose products overflow float64: the quantities that overflowed are named on stderr, never silently null.</summary>
[Collection("Console")]
public sealed class OverflowTests : IDisposable
{
    private readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    private string Layers(double scale)
    {
        var problem = ProblemFiles.LoadProblem(CliRunner.Example("problem.npz"));
        var layers = ProblemFiles.LoadLayers(CliRunner.Example("layers.npz"), problem).Layers
            .Select(w => new Matrix<double>(w.Rows, w.Cols, w.Data.Select(x => x * scale).ToArray())).ToArray();
        string path = _dir.File($"layers-{scale:E0}.npz");
        ProblemFiles.SaveLayers(path, layers);
        return path;
    }

    [Theory]
    [InlineData(1e100, "loss, hessian_trace")]
    [InlineData(1e200, "end-to-end matrix E")]
    public void OverflowIsAWarningThatNamesTheQuantities(double scale, string named)
    {
        var (code, stdout, stderr) = CliRunner.Run("eval", "--problem", CliRunner.Example("problem.npz"), "--layers", Layers(scale), "--backend", "cpu", "--json");
        Assert.Equal(0, code);
        Assert.StartsWith("flatness: warning: ", stderr);
        Assert.Contains(named, stderr);
        Assert.Contains("overflowed float64", stderr);
        using var json = JsonDocument.Parse(stdout);
        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("hessian_trace").ValueKind);
    }

    [Fact]
    public void GradientsThatOverflowAreNotWrittenIntoAFileTheReaderWouldRefuse()
    {
        string target = _dir.File("g.npz");
        var (code, _, stderr) = CliRunner.Run("eval", "--problem", CliRunner.Example("problem.npz"), "--layers", Layers(1e100), "--grad-out", target);
        Assert.Equal(2, code);
        Assert.Contains("overflowed float64", stderr);
        Assert.Contains("nothing written", stderr);
        Assert.False(File.Exists(target));
    }
}
