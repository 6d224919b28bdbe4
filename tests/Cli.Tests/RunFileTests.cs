using System.Text.Json;

namespace Flatness.Tests;

[Collection("Console")]
public sealed class RunFileTests : IDisposable
{
    private readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    [Fact]
    public void ARunFileIsAcceptedAsLayersAndAsAStartAndTheFinalStepSizeIsReported()
    {
        string problem = CliRunner.Example("problem.npz"), run = _dir.File("run.npz");
        var (code, stdout, stderr) = CliRunner.Run("solve", "--problem", problem, "--method", "gd", "--depth", "3", "--lr", "5", "--steps", "50",
            "--out", run, "--json");
        Assert.True(code == 0, stderr);
        using (var json = JsonDocument.Parse(stdout))
        {
            int backoffs = json.RootElement.GetProperty("backoffs").GetInt32();
            Assert.True(backoffs > 0, "a step size of 5 is undone and halved");
            Assert.Equal(5 / Math.Pow(2, backoffs), json.RootElement.GetProperty("final_lr").GetDouble(), 1e-12);
        }
        (code, _, stderr) = CliRunner.Run("eval", "--problem", problem, "--layers", run, "--json");
        Assert.True(code == 0, stderr);
        (code, _, stderr) = CliRunner.Run("solve", "--problem", problem, "--method", "gd", "--init", "file", "--init-file", run, "--steps", "5", "--json");
        Assert.True(code == 0, stderr);
    }
}
