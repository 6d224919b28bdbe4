using System.Buffers.Binary;
using Flatness.Solver.Problems;
using Flatness.Solver.Problems.NumPy;

namespace Flatness.Tests;

/// <summary>
/// Hostile archives: everything NumPy's reader rejects is rejected here with one message naming the file, before any
/// buffer is sized from a header; and a fixed-seed fuzz of thousands of mutations throws nothing but the reader's own
/// exception.
/// </summary>
public sealed class NpzHardeningTests
{
    private static byte[] Valid(bool deflate = false) =>
        NpyBytes.PythonZip(deflate, ("A.npy", NpyBytes.Float64("(2, 3)", 1, 2, 3, 4, 5, 6)), ("b.npy", NpyBytes.Float64("(2,)", 7, 8)));

    private static NpyFormatException Rejects(byte[] bytes, string fragment)
    {
        var e = Assert.Throws<NpyFormatException>(() => Npz.Read(new MemoryStream(bytes), "in.npz"));
        Assert.StartsWith("in.npz", e.Message);
        Assert.Contains(fragment, e.Message);
        Assert.DoesNotContain('\n', e.Message);
        return e;
    }

    /// <summary>The offset of the first local header's data (30 bytes, the name, 20 bytes of zip64 extra).</summary>
    private const int FirstData = 30 + 5 + 20;

    private static int CentralOffset(byte[] bytes) => (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(bytes.Length - 6));

    [Fact]
    public void ACorruptedByteFailsTheCrc()
    {
        var bytes = Valid();
        bytes[FirstData + 130] ^= 0x40; // inside the float data of A: NumPy says "Bad CRC-32"
        Assert.Equal("A", Rejects(bytes, "bad CRC-32").Array);
    }

    [Fact]
    public void EncryptedEntriesAreRefused()
    {
        var bytes = Valid();
        bytes[CentralOffset(bytes) + 8] |= 1;
        Rejects(bytes, "encrypted");
    }

    [Fact]
    public void LocalAndCentralHeadersMustAgree()
    {
        var names = Valid();
        names[30] = (byte)'Z'; // the local name becomes "Z.npy"
        Rejects(names, "local and central names differ");
        var sizes = Valid();
        BinaryPrimitives.WriteUInt64LittleEndian(sizes.AsSpan(30 + 5 + 4), 99); // the zip64 uncompressed size
        Rejects(sizes, "disagree on the CRC-32 or the sizes");
    }

    [Fact]
    public void ADeflatedEntryThatExpandsPastItsSizeIsAZipBomb()
    {
        var zeros = new byte[1 << 16];
        var bytes = NpyBytes.PythonZip(true, ("A.npy", NpyBytes.Float64("(8192,)", new double[8192])));
        // Declare a smaller uncompressed size in both headers (the CRC would then be wrong too; the size is checked first).
        int central = CentralOffset(bytes);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(central + 24), 1000);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(30 + 5 + 4), 1000);
        Rejects(bytes, "expands past its declared 1000 bytes");
        _ = zeros;
    }

    [Fact]
    public void AHugeShapeOverFewBytesIsRefusedBeforeAnyAllocation()
    {
        // (100000000, 2, 3) of float64 is 4.8 GB; the entry holds 48 bytes.
        var npy = NpyBytes.V1(NpyBytes.Dict("<f8", "(100000000, 2, 3)"), new byte[48]);
        var bytes = NpyBytes.PythonZip(false, ("A.npy", npy));
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Rejects(bytes, "truncated data");
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 10_000_000, "no buffer was sized from the header");
        Assert.Contains("4800000000 bytes", e.Message);
    }

    [Fact]
    public void RawHeaderBytesAreEscapedInMessages()
    {
        var npy = NpyBytes.V1("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), '\n\u001b[31mred': 1, }", new byte[16]);
        var e = Rejects(NpyBytes.PythonZip(false, ("A.npy", npy)), "header");
        Assert.Contains("\\n\\x1b[31mred", e.Message);
        Assert.DoesNotContain('\u001b', e.Message);
    }

    [Fact]
    public void ProblemFilesNameTheFileOnEveryZipError()
    {
        string path = Path.Combine(Path.GetTempPath(), $"flatness-hardening-{Guid.NewGuid():N}.npz");
        try
        {
            var bytes = Valid();
            bytes[FirstData + 130] ^= 0x40;
            File.WriteAllBytes(path, bytes);
            var e = Assert.Throws<ProblemFileException>(() => ProblemFiles.ReadArrays(path));
            Assert.Contains(path, e.Message);
            Assert.Contains("bad CRC-32", e.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>
    /// Bit flips, byte rewrites, truncation at every offset and spliced garbage over valid stored and deflated archives:
    /// every outcome is a result or an <see cref="NpyFormatException"/>; a mutation NumPy would accept (for example in
    /// the timestamp) may read fine, but never with changed numbers unless the data bytes themselves changed, which the
    /// CRC-32 catches.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void FuzzedArchivesNeverCrashOrChangeTheNumbers(bool deflate)
    {
        var valid = Valid(deflate);
        var original = Npz.Read(new MemoryStream(valid), "in.npz").ToDictionary(a => a.Name, a => a.Floats!);
        var rng = new Random(20261202);
        int accepted = 0, rejected = 0;
        void Try(byte[] mutated)
        {
            try
            {
                var arrays = Npz.Read(new MemoryStream(mutated), "in.npz");
                accepted++;
                foreach (var a in arrays)
                    if (original.TryGetValue(a.Name, out var want) && a.Floats is { } got && got.Length == want.Length)
                        Assert.Equal(want, got);
            }
            catch (NpyFormatException e)
            {
                rejected++;
                Assert.DoesNotContain('\n', e.Message);
            }
        }
        for (int cut = 0; cut < valid.Length; cut++) Try(valid[..cut]);
        for (int trial = 0; trial < 3000; trial++)
        {
            var m = (byte[])valid.Clone();
            switch (trial % 3)
            {
                case 0: m[rng.Next(m.Length)] ^= (byte)(1 << rng.Next(8)); break;
                case 1: m[rng.Next(m.Length)] = (byte)rng.Next(256); break;
                default:
                    int at = rng.Next(m.Length), length = Math.Min(rng.Next(1, 9), m.Length - at);
                    for (int k = 0; k < length; k++) m[at + k] = (byte)rng.Next(256);
                    break;
            }
            Try(m);
        }
        Assert.True(rejected > 2000, $"{rejected} rejected, {accepted} accepted");
    }
}
