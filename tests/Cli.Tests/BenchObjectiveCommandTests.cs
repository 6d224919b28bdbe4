using System.Text.Json;

namespace Flatness.Tests;

/// <summary>`flatness bench objective` on tiny problems: the JSON it prints and how it rejects bad input.</summary>
[Collection("Console")]
public class BenchObjectiveCommandTests
{
    [Theory]
    [InlineData("direct", "f64")]
    [InlineData("gram", "f32")]
    public void JsonReportsTimingsAndTheChosenPath(string path, string precision)
    {
        var (code, stdout, stderr) = CliRunner.Run("bench", "objective", "--d", "4", "--depth", "3", "--n", "20",
            "--backend", "cpu", "--path", path, "--precision", precision, "--repeats", "3", "--json");
        Assert.True(code == 0, stderr);
        using var json = JsonDocument.Parse(stdout);
        var root = json.RootElement;
        Assert.Equal(path, root.GetProperty("path").GetString());
        Assert.Equal("cpu", root.GetProperty("backend").GetString());
        Assert.Equal(precision, root.GetProperty("precision").GetString());
        Assert.Equal(4, root.GetProperty("d").GetInt32());
        Assert.Equal(3, root.GetProperty("depth").GetInt32());
        Assert.Equal(20, root.GetProperty("n").GetInt32());
        Assert.True(root.GetProperty("seconds_per_eval").GetDouble() > 0);
        Assert.True(root.GetProperty("setup_seconds").GetDouble() > 0);
        Assert.False(string.IsNullOrEmpty(root.GetProperty("reason").GetString()));
    }

    [Fact]
    public void AutoPicksAPathAndSaysWhy()
    {
        var (code, stdout, stderr) = CliRunner.Run("bench", "objective", "--d", "3", "--depth", "2", "--n", "10", "--backend", "cpu", "--repeats", "1", "--json");
        Assert.True(code == 0, stderr);
        using var json = JsonDocument.Parse(stdout);
        Assert.Contains(json.RootElement.GetProperty("path").GetString(), new[] { "direct", "gram" });
        Assert.Contains("over 1000 evaluations", json.RootElement.GetProperty("reason").GetString());
    }

    [Theory]
    [InlineData("--d", "0")]
    [InlineData("--n", "-3")]
    [InlineData("--precision", "f16")]
    [InlineData("--path", "sideways")]
    public void BadInputIsOneLineAndExitCodeTwo(string option, string value)
    {
        var args = new List<string> { "bench", "objective", "--d", "3", "--depth", "2", "--n", "10" };
        int at = args.IndexOf(option);
        if (at >= 0) args[at + 1] = value;
        else args.AddRange([option, value]);
        var (code, stdout, stderr) = CliRunner.Run([.. args]);
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.StartsWith("flatness:", stderr);
        Assert.Single(stderr.Trim().Split('\n'));
    }
}
