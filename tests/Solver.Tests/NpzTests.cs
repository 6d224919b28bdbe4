using System.IO.Compression;
using Flatness.Solver.IO;
using Flatness.Solver.Problems.NumPy;

namespace Flatness.Tests;

public class NpzTests
{
    private static NpyArray[] Sample() =>
    [
        NpyArray.Float("A", [2, 3], [1, 2, 3, 4, 5, 6]),
        NpyArray.Float("zeros", [1000], new double[1000], NpyDType.Float32),
        NpyArray.Integer("idx", [4], [0, -1, 5, long.MaxValue]),
        NpyArray.Integer("small", [], [42], NpyDType.Int32),
    ];

    private static void AssertSame(IReadOnlyList<NpyArray> expected, IReadOnlyList<NpyArray> actual)
    {
        Assert.Equal(expected.Select(a => a.Name), actual.Select(a => a.Name));
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].DType, actual[i].DType);
            Assert.Equal(expected[i].Shape, actual[i].Shape);
            Assert.Equal(expected[i].Floats, actual[i].Floats);
            Assert.Equal(expected[i].Integers, actual[i].Integers);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void RoundTripsStoredAndDeflated(bool compressed)
    {
        using var dir = new TempDir();
        var path = dir.File("x.npz");
        Npz.WriteFile(path, Sample(), compressed);
        Assert.Equal(new[] { "x.npz" }, dir.Listing());
        AssertSame(Sample(), Npz.ReadFile(path));

        using var zip = ZipFile.OpenRead(path);
        Assert.Equal(new[] { "A.npy", "zeros.npy", "idx.npy", "small.npy" }, zip.Entries.Select(e => e.FullName));
        var zeros = zip.GetEntry("zeros.npy")!;
        if (compressed) Assert.True(zeros.CompressedLength < zeros.Length / 10);
        else Assert.Equal(zeros.Length, zeros.CompressedLength);
        // Each entry is exactly the .npy bytes.
        using var s = zip.GetEntry("A.npy")!.Open();
        var ms = new MemoryStream();
        s.CopyTo(ms);
        var single = new MemoryStream();
        Npy.Write(single, Sample()[0]);
        Assert.Equal(single.ToArray(), ms.ToArray());
    }

    [Fact]
    public void EqualArraysGiveEqualFiles()
    {
        using var dir = new TempDir();
        Npz.WriteFile(dir.File("a.npz"), Sample());
        Npz.WriteFile(dir.File("b.npz"), Sample());
        Assert.Equal(File.ReadAllBytes(dir.File("a.npz")), File.ReadAllBytes(dir.File("b.npz")));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ReadsArchivesLaidOutAsPythonZipfileWritesThem(bool deflate)
    {
        // numpy.savez / numpy.savez_compressed: force_zip64 local headers.
        var bytes = NpyBytes.PythonZip(deflate,
            ("A.npy", NpyBytes.Float64("(2, 2)", 1, 2, 3, 4)),
            ("b.npy", NpyBytes.V1(NpyBytes.Dict("<i4", "(3,)"), NpyBytes.I4(7, 8, 9))));
        var arrays = Npz.Read(new MemoryStream(bytes), "py.npz");
        Assert.Equal(new[] { "A", "b" }, arrays.Select(a => a.Name));
        Assert.Equal(new[] { 1.0, 2, 3, 4 }, arrays[0].Floats);
        Assert.Equal(new[] { 2, 2 }, arrays[0].Shape);
        Assert.Equal(new long[] { 7, 8, 9 }, arrays[1].Integers);
        Assert.Equal(NpyDType.Int32, arrays[1].DType);
    }

    private static NpyFormatException Rejects(byte[] bytes, string fragment, string? array = null)
    {
        var e = Assert.Throws<NpyFormatException>(() => Npz.Read(new MemoryStream(bytes), "in.npz"));
        Assert.Contains("in.npz", e.Message);
        Assert.Contains(fragment, e.Message);
        Assert.Equal(array, e.Array);
        if (array is not null) Assert.Contains($"'{array}'", e.Message);
        return e;
    }

    [Fact]
    public void RejectsFilesThatAreNotArchives()
    {
        Rejects([], "empty file");
        Rejects(System.Text.Encoding.ASCII.GetBytes("just some text"), "not a zip file");
        Rejects(NpyBytes.Float64("(1,)", 1), "single .npy array");
        Rejects("PK\u0003\u0004garbage"u8.ToArray(), "not a readable zip archive");
    }

    [Fact]
    public void RejectsTruncatedArchives()
    {
        var bytes = NpyBytes.PythonZip(false, ("A.npy", NpyBytes.Float64("(4,)", 1, 2, 3, 4)));
        Rejects(bytes[..(bytes.Length / 2)], "perhaps truncated");
    }

    [Fact]
    public void RejectsCorruptEntries()
    {
        var bytes = NpyBytes.PythonZip(true, ("A.npy", NpyBytes.Float64("(64,)", new double[64])));
        // Damage the deflate stream just after the local header (30 bytes + name + 20 bytes of zip64 extra).
        int data = 30 + 5 + 20;
        for (int i = 0; i < 6; i++) bytes[data + i] = 0xFF;
        Rejects(bytes, "corrupt zip entry", "A");
    }

    [Fact]
    public void RejectsEntriesThatAreNotArrays()
    {
        Rejects(NpyBytes.PythonZip(false, ("notes.txt", "hello"u8.ToArray())), "not a NAME.npy array", "notes.txt");
        Rejects(NpyBytes.PythonZip(false, ("A.npy", NpyBytes.Float64("(1,)", 1)), ("A.npy", NpyBytes.Float64("(1,)", 2))), "twice", "A");
        Rejects(NpyBytes.PythonZip(false, ("A.npy", NpyBytes.V1(NpyBytes.Dict(">f8", "(1,)"), new byte[8]))), "big-endian", "A");
    }

    [Fact]
    public void WriterRejectsDuplicateAndEmptyNames()
    {
        using var dir = new TempDir();
        Assert.Throws<ArgumentException>(() => Npz.WriteFile(dir.File("x.npz"), [NpyArray.Float("a", [1], [1]), NpyArray.Float("a", [1], [2])]));
        Assert.Throws<ArgumentException>(() => Npz.WriteFile(dir.File("x.npz"), [NpyArray.Float("", [1], [1])]));
        Assert.Empty(dir.Listing());
    }

    [Fact]
    public void AtomicWriteLeavesNothingBehindOnFailure()
    {
        using var dir = new TempDir();
        var path = dir.File("out.bin");
        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, s =>
        {
            s.Write(new byte[1000]);
            throw new InvalidOperationException("disk on fire");
        }));
        Assert.Empty(dir.Listing());

        File.WriteAllText(path, "old");
        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, s =>
        {
            s.Write(new byte[10]);
            throw new InvalidOperationException("again");
        }));
        Assert.Equal(new[] { "out.bin" }, dir.Listing());
        Assert.Equal("old", File.ReadAllText(path));

        AtomicFile.Write(path, s => s.Write("new"u8));
        Assert.Equal("new", File.ReadAllText(path));
        Assert.Equal(new[] { "out.bin" }, dir.Listing());
    }

    [Fact]
    public void AtomicWriteIntoAMissingDirectoryFailsCleanly()
    {
        using var dir = new TempDir();
        Assert.Throws<DirectoryNotFoundException>(() => AtomicFile.Write(dir.File("no/such/dir/x.npz"), s => s.WriteByte(1)));
        Assert.Empty(dir.Listing());
    }

    [Fact]
    public void AtomicWriteOverADirectoryFailsCleanly()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("taken"));
        Assert.ThrowsAny<IOException>(() => AtomicFile.Write(dir.File("taken"), s => s.WriteByte(1)));
        Assert.Empty(dir.Listing());
    }
}
