using System.Text.Json;

namespace Flatness.Tests;

[Collection("Console")]
public sealed class DevicesCommandTests
{
    [Fact]
    public void JsonListsTheCpuTheCpuAcceleratorAndAutoChoices()
    {
        var (code, stdout, stderr) = CliRunner.Run("devices", "--json");
        Assert.True(code == 0, stderr);
        using var json = JsonDocument.Parse(stdout);
        var root = json.RootElement;
        Assert.Equal(Environment.ProcessorCount, root.GetProperty("cpu").GetProperty("cores").GetInt32());
        Assert.Equal(System.Numerics.Vector<double>.Count, root.GetProperty("cpu").GetProperty("vector_count_f64").GetInt32());
        var accelerators = root.GetProperty("accelerators").EnumerateArray().ToArray();
        Assert.Contains(accelerators, a => a.GetProperty("type").GetString() == "cpu-accelerator");
        var auto = root.GetProperty("auto").EnumerateArray().ToArray();
        Assert.Equal(5, auto.Length);
        Assert.All(auto, a => Assert.False(string.IsNullOrEmpty(a.GetProperty("reason").GetString())));
        Assert.Contains(auto, a => a.GetProperty("measurement").GetString() == "completion" && a.GetProperty("path").GetString() == "completion");
    }

    [Fact]
    public void TableNamesTheSections()
    {
        var (code, stdout, stderr) = CliRunner.Run("devices", "--precision", "f32");
        Assert.True(code == 0, stderr);
        Assert.Contains("ILGPU accelerators", stdout);
        Assert.Contains("What 'auto' picks (f32)", stdout);
    }

    [Fact]
    public void GpuBenchRejectsAnUnknownBackendInOneLine()
    {
        var (code, _, stderr) = CliRunner.Run("bench", "gpu-check", "--backend", "cuda");
        Assert.Equal(2, code);
        Assert.StartsWith("flatness: unknown backend 'cuda'; accepted: auto, cpu, reference, ilgpu", stderr);
        Assert.Single(stderr.TrimEnd().Split('\n'));
    }

    [Fact]
    public void GemmBenchRunsAndChecksOnTheCpuAccelerator()
    {
        var (code, stdout, stderr) = CliRunner.Run("bench", "gemm", "--backend", "ilgpu-cpu", "--size", "24", "--precision", "f64", "--repeats", "1", "--json");
        Assert.True(code == 0, stderr);
        using var json = JsonDocument.Parse(stdout);
        Assert.Equal("ilgpu-cpu", json.RootElement.GetProperty("backend").GetString());
        Assert.Equal(24, json.RootElement.GetProperty("size").GetInt32());
        Assert.True(json.RootElement.GetProperty("gflops").GetDouble() > 0);
        Assert.Contains("checked", json.RootElement.GetProperty("kernel").GetString());
    }
}
