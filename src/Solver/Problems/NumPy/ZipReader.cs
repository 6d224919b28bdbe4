using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Flatness.Solver.Problems.NumPy;

/// <summary>
/// A strict reader of the zip archives NumPy writes (.npz): the central directory and every local header are parsed
/// and cross-checked, entries are stored or deflated, and each entry's bytes are checked against its declared size and
/// its CRC-32 before anything else reads them. What NumPy's own reader rejects is rejected here, by name: the
/// encryption flag, local and central names or sizes that disagree, duplicate names, bad CRC-32, entries that expand
/// past their declared size (zip bombs), data that runs past the file.
/// </summary>
internal static class ZipReader
{
    private const uint EndSignature = 0x06054b50, CentralSignature = 0x02014b50, LocalSignature = 0x04034b50;
    private const int EndLength = 22, CentralLength = 46, LocalLength = 30;

    /// <summary>One archive member: its name and its bytes, verified.</summary>
    public sealed record Entry(string Name, byte[] Data);

    /// <summary>
    /// The entries of the archive in <paramref name="archive"/>, in directory order. No entry may declare more than
    /// <paramref name="maxEntryBytes"/> bytes. Every problem is an <see cref="NpyFormatException"/> naming the file.
    /// </summary>
    public static IReadOnlyList<Entry> Read(ReadOnlySpan<byte> archive, string file, long maxEntryBytes)
    {
        NpyFormatException Bad(string? entry, string problem) => new(file, entry, problem);
        int end = FindEnd(archive) ?? throw Bad(null, "not a readable zip archive: no end-of-central-directory record (perhaps truncated)");
        int count = BinaryPrimitives.ReadUInt16LittleEndian(archive[(end + 10)..]);
        uint directorySize = BinaryPrimitives.ReadUInt32LittleEndian(archive[(end + 12)..]);
        uint directoryOffset = BinaryPrimitives.ReadUInt32LittleEndian(archive[(end + 16)..]);
        if (directoryOffset == uint.MaxValue || count == ushort.MaxValue)
            throw Bad(null, "zip64 archives (arrays above 4 GB) are not supported");
        if ((long)directoryOffset + directorySize > end)
            throw Bad(null, $"the central directory ({directorySize} bytes at {directoryOffset}) runs past its end record at {end}");

        var entries = new List<Entry>(count);
        var names = new HashSet<string>(StringComparer.Ordinal);
        var spans = new List<(long Start, long End)>();
        long total = 0;
        long position = directoryOffset;
        for (int e = 0; e < count; e++)
        {
            if (position + CentralLength > end || BinaryPrimitives.ReadUInt32LittleEndian(archive[(int)position..]) != CentralSignature)
                throw Bad(null, $"central directory entry {e + 1} of {count} is missing or damaged");
            var c = archive[(int)position..];
            ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(c[8..]);
            ushort method = BinaryPrimitives.ReadUInt16LittleEndian(c[10..]);
            uint crc = BinaryPrimitives.ReadUInt32LittleEndian(c[16..]);
            uint compressed = BinaryPrimitives.ReadUInt32LittleEndian(c[20..]);
            uint size = BinaryPrimitives.ReadUInt32LittleEndian(c[24..]);
            int nameLength = BinaryPrimitives.ReadUInt16LittleEndian(c[28..]);
            int extraLength = BinaryPrimitives.ReadUInt16LittleEndian(c[30..]);
            int commentLength = BinaryPrimitives.ReadUInt16LittleEndian(c[32..]);
            uint localOffset = BinaryPrimitives.ReadUInt32LittleEndian(c[42..]);
            if (position + CentralLength + nameLength + extraLength + commentLength > end)
                throw Bad(null, $"central directory entry {e + 1} runs past the directory");
            string name = Name(c.Slice(CentralLength, nameLength), flags);
            string shown = NpyText.Shown(name.EndsWith(".npy", StringComparison.Ordinal) && name.Length > 4 ? name[..^4] : name);
            if ((flags & 1) != 0) throw Bad(shown, "entry is encrypted");
            if (method is not (0 or 8)) throw Bad(shown, $"entry uses compression method {method}; only stored (0) and deflated (8) are supported");
            if (compressed == uint.MaxValue || size == uint.MaxValue) throw Bad(shown, "zip64 entries (arrays above 4 GB) are not supported");
            if (!names.Add(name)) throw Bad(shown, "entry appears twice in the archive");
            total += size;
            if (size > maxEntryBytes || total > maxEntryBytes)
                throw Bad(shown, $"the entries declare {total} bytes in all, more than the {maxEntryBytes} this process may hold");

            // The local header must agree with the central one.
            if ((long)localOffset + LocalLength > directoryOffset || BinaryPrimitives.ReadUInt32LittleEndian(archive[(int)localOffset..]) != LocalSignature)
                throw Bad(shown, $"local header at {localOffset} is missing or damaged");
            var l = archive[(int)localOffset..];
            ushort localFlags = BinaryPrimitives.ReadUInt16LittleEndian(l[6..]);
            ushort localMethod = BinaryPrimitives.ReadUInt16LittleEndian(l[8..]);
            int localNameLength = BinaryPrimitives.ReadUInt16LittleEndian(l[26..]);
            int localExtraLength = BinaryPrimitives.ReadUInt16LittleEndian(l[28..]);
            long dataStart = (long)localOffset + LocalLength + localNameLength + localExtraLength;
            if (dataStart > directoryOffset) throw Bad(shown, "local header runs past the data");
            string localName = Name(l.Slice(LocalLength, localNameLength), localFlags);
            if (localName != name) throw Bad(shown, $"local and central names differ ({NpyText.Shown(localName)} vs {shown})");
            if ((localFlags & 1) != 0) throw Bad(shown, "entry is encrypted");
            if (localMethod != method) throw Bad(shown, $"local and central compression methods differ ({localMethod} vs {method})");
            if ((localFlags & 8) == 0)
            {
                uint localCrc = BinaryPrimitives.ReadUInt32LittleEndian(l[14..]);
                ulong localCompressed = BinaryPrimitives.ReadUInt32LittleEndian(l[18..]);
                ulong localSize = BinaryPrimitives.ReadUInt32LittleEndian(l[22..]);
                // numpy.savez opens entries with force_zip64: 0xFFFFFFFF here and the sizes in a zip64 extra field.
                if (localSize == uint.MaxValue || localCompressed == uint.MaxValue)
                    (localSize, localCompressed) = Zip64Sizes(l.Slice(LocalLength + localNameLength, localExtraLength), localSize, localCompressed)
                        ?? throw Bad(shown, "local header announces zip64 sizes but has no zip64 extra field");
                if (localCrc != crc || localCompressed != compressed || localSize != size)
                    throw Bad(shown, "local and central headers disagree on the CRC-32 or the sizes");
            }
            if (dataStart + compressed > directoryOffset)
                throw Bad(shown, $"entry data ({compressed} bytes at {dataStart}) runs past the end of the entries (truncated?)");
            long spanEnd = dataStart + compressed;
            if (spans.Any(s => dataStart < s.End && s.Start < spanEnd)) throw Bad(shown, "entry data overlaps another entry's");
            spans.Add(((long)localOffset, spanEnd));
            var raw = archive.Slice((int)dataStart, (int)compressed);
            byte[] data = method == 0 ? Stored(raw, size, shown, Bad) : Inflate(raw, size, shown, Bad);
            uint actual = Crc32.Compute(data);
            if (actual != crc) throw Bad(shown, $"bad CRC-32 (0x{actual:x8} computed, 0x{crc:x8} declared): the entry is corrupt");
            entries.Add(new Entry(name, data));
            position += CentralLength + nameLength + extraLength + commentLength;
        }
        return entries;
    }

    private static byte[] Stored(ReadOnlySpan<byte> raw, uint size, string name, Func<string?, string, NpyFormatException> bad)
    {
        if (raw.Length != size) throw bad(name, $"stored entry holds {raw.Length} bytes but declares {size}");
        return raw.ToArray();
    }

    private static byte[] Inflate(ReadOnlySpan<byte> raw, uint size, string name, Func<string?, string, NpyFormatException> bad)
    {
        var data = new byte[size];
        try
        {
            using var deflate = new DeflateStream(new MemoryStream(raw.ToArray(), writable: false), CompressionMode.Decompress);
            int got = deflate.ReadAtLeast(data, data.Length, throwOnEndOfStream: false);
            if (got < data.Length) throw bad(name, $"deflated entry expands to {got} bytes but declares {size}");
            Span<byte> probe = stackalloc byte[1];
            if (deflate.Read(probe) != 0) throw bad(name, $"deflated entry expands past its declared {size} bytes");
        }
        catch (InvalidDataException e)
        {
            throw bad(name, $"corrupt zip entry: bad deflate data ({e.Message})");
        }
        return data;
    }

    /// <summary>The sizes of a zip64 extra field (id 1): uncompressed, then compressed, each present only when its 32-bit field is 0xFFFFFFFF.</summary>
    private static (ulong Size, ulong Compressed)? Zip64Sizes(ReadOnlySpan<byte> extra, ulong size, ulong compressed)
    {
        while (extra.Length >= 4)
        {
            ushort id = BinaryPrimitives.ReadUInt16LittleEndian(extra);
            int length = BinaryPrimitives.ReadUInt16LittleEndian(extra[2..]);
            if (4 + length > extra.Length) return null;
            var field = extra.Slice(4, length);
            if (id == 1)
            {
                int at = 0;
                if (size == uint.MaxValue) { if (at + 8 > field.Length) return null; size = BinaryPrimitives.ReadUInt64LittleEndian(field[at..]); at += 8; }
                if (compressed == uint.MaxValue) { if (at + 8 > field.Length) return null; compressed = BinaryPrimitives.ReadUInt64LittleEndian(field[at..]); }
                return (size, compressed);
            }
            extra = extra[(4 + length)..];
        }
        return null;
    }

    private static string Name(ReadOnlySpan<byte> bytes, ushort flags) =>
        (flags & 0x800) != 0 ? Encoding.UTF8.GetString(bytes) : Encoding.Latin1.GetString(bytes);

    /// <summary>The offset of the end-of-central-directory record, searched backwards over a possible comment.</summary>
    private static int? FindEnd(ReadOnlySpan<byte> archive)
    {
        for (int i = archive.Length - EndLength; i >= Math.Max(0, archive.Length - EndLength - 65535); i--)
            if (BinaryPrimitives.ReadUInt32LittleEndian(archive[i..]) == EndSignature
                && i + EndLength + BinaryPrimitives.ReadUInt16LittleEndian(archive[(i + 20)..]) == archive.Length)
                return i;
        return null;
    }
}

/// <summary>CRC-32 (IEEE 802.3, the zip polynomial), table-driven.</summary>
internal static class Crc32
{
    private static readonly uint[] Table = Build();

    private static uint[] Build()
    {
        var table = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            uint c = i;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
        return table;
    }

    public static uint Compute(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFFu;
        foreach (byte b in data) crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return crc ^ 0xFFFFFFFFu;
    }
}

/// <summary>Text from files as error messages show it: control characters escaped, long text cut.</summary>
internal static class NpyText
{
    public static string Shown(string text, int max = 120)
    {
        var s = new StringBuilder();
        foreach (char ch in text)
        {
            if (s.Length >= max) { s.Append("..."); break; }
            if (ch == '\n') s.Append("\\n");
            else if (ch == '\r') s.Append("\\r");
            else if (ch == '\t') s.Append("\\t");
            else if (char.IsControl(ch) || ch is '\u2028' or '\u2029') s.Append($"\\x{(int)ch:x2}");
            else s.Append(ch);
        }
        return s.ToString();
    }
}
