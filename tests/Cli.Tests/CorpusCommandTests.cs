namespace Flatness.Tests;

/// <summary>Every file of the hostile corpus (tests/corpus) given to `solve --problem`: exit 2 and one line naming it.</summary>
[Collection("Console")]
public sealed class CorpusCommandTests
{
    [Fact]
    public void EveryCorpusFileGivesOneLineAndExitCode2()
    {
        string corpus = Path.Combine(CliRunner.RepositoryRoot(), "tests", "corpus", "npz");
        var files = Directory.GetFiles(corpus, "*.npz");
        Assert.True(files.Length >= 20, $"{files.Length} corpus files");
        foreach (string file in files)
        {
            var (code, stdout, stderr) = CliRunner.Run("solve", "--problem", file, "--method", "min-frobenius", "--json");
            Assert.True(code == 2, $"{Path.GetFileName(file)}: exit {code}, {stderr}");
            Assert.Equal("", stdout);
            Assert.Single(stderr.TrimEnd('\n').Split('\n'));
            Assert.StartsWith($"flatness: {file}: ", stderr);
        }
    }
}
