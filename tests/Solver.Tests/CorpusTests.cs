using Flatness.Solver.Problems;

namespace Flatness.Tests;

/// <summary>
/// The committed corpus of hostile problem files (tests/corpus; made by make_corpus.py, which also records what NumPy
/// does with each): every one is refused with one line that names the file and says what is wrong, without echoing
/// raw header bytes and without sizing a buffer from a header.
/// </summary>
public sealed class CorpusTests
{
    public sealed record Case(string File, string NumPy, string Fragment, string What)
    {
        public override string ToString() => File; // the test name
    }

    private static string Directory => Path.Combine(ExampleFilesTests.RepositoryRoot(), "tests", "corpus");

    private static IEnumerable<Case> Manifest() =>
        File.ReadAllLines(Path.Combine(Directory, "manifest.tsv")).Skip(1).Select(line => line.Split('\t'))
            .Select(f => new Case(f[0], f[1], f[2], f[3]));

    public static TheoryData<Case> Cases() => [.. Manifest()];

    [Fact]
    public void TheManifestListsEveryFileOfTheCorpus()
    {
        var listed = Manifest().Select(c => c.File).Order(StringComparer.Ordinal).ToArray();
        var present = System.IO.Directory.GetFiles(Path.Combine(Directory, "npz")).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(present, listed);
        Assert.True(listed.Length >= 20, $"{listed.Length} files");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void EachHostileFileIsRefusedInOneLineNamingIt(Case c)
    {
        string path = Path.Combine(Directory, "npz", c.File);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<ProblemFileException>(() => ProblemFiles.LoadProblem(path));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.StartsWith(path, e.Message);
        Assert.Contains(c.Fragment, e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.DoesNotContain('\u001b', e.Message);
        Assert.True(e.Message.Length < 400, $"a {e.Message.Length}-character message: {e.Message}");
        Assert.True(allocated < 32_000_000, $"{c.File} ({c.What}): {allocated} bytes allocated");
    }
}
