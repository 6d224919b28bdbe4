using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace Flatness.Solver.Problems.NumPy;

/// <summary>
/// Reads and writes single arrays in NumPy's .npy format (numpy.lib.format): the magic string \x93NUMPY, a
/// version (1.0, 2.0 or 3.0), a little-endian header length (u2 for 1.0, u4 for 2.0 and 3.0), a header that is a
/// Python dict literal with the keys 'descr', 'fortran_order' and 'shape' (latin-1, UTF-8 for 3.0), padded with
/// spaces and a newline, then the raw data. This reader accepts C-ordered little-endian &lt;f8, &lt;f4, &lt;i8 and
/// &lt;i4 arrays and rejects everything else with an <see cref="NpyFormatException"/>.
/// </summary>
internal static class Npy
{
    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];
    private const int MagicLength = 8; // magic string plus the two version bytes
    private const int ArrayAlign = 64; // numpy.lib.format.ARRAY_ALIGN
    private const int GrowthAxisMaxDigits = 21; // numpy.lib.format.GROWTH_AXIS_MAX_DIGITS
    private const int MaxHeaderLength = 1 << 20;
    private const int ChunkElements = 1 << 16;

    /// <summary>True when the bytes begin with the .npy magic string.</summary>
    public static bool HasMagic(ReadOnlySpan<byte> start) => start.StartsWith(Magic);

    /// <summary>Reads one .npy file; the array is named after the file (without its extension).</summary>
    public static NpyArray ReadFile(string path)
    {
        using var stream = File.OpenRead(path);
        return Read(stream, path, Path.GetFileNameWithoutExtension(path));
    }

    /// <summary>
    /// Reads one array from the stream, which must end where the data ends. <paramref name="file"/> and
    /// <paramref name="name"/> name the array in error messages.
    /// </summary>
    public static NpyArray Read(Stream stream, string file, string name)
    {
        NpyFormatException Bad(string problem, Exception? inner = null) => new(file, name, problem, inner);

        Span<byte> prefix = stackalloc byte[MagicLength];
        int got = stream.ReadAtLeast(prefix, MagicLength, throwOnEndOfStream: false);
        if (got < Magic.Length || !prefix[..Magic.Length].SequenceEqual(Magic))
            throw Bad(got == 0 ? "empty; not a .npy array" : "bad magic string; not a .npy array");
        if (got < MagicLength) throw Bad("truncated inside the version bytes");
        byte major = prefix[6], minor = prefix[7];
        if (minor != 0 || major is < 1 or > 3)
            throw Bad($"unsupported .npy format version {major}.{minor} (supported: 1.0, 2.0, 3.0)");

        int lengthBytes = major == 1 ? 2 : 4;
        Span<byte> lenBuf = stackalloc byte[4];
        if (stream.ReadAtLeast(lenBuf[..lengthBytes], lengthBytes, throwOnEndOfStream: false) < lengthBytes)
            throw Bad("truncated inside the header length");
        long headerLength = major == 1 ? BinaryPrimitives.ReadUInt16LittleEndian(lenBuf) : BinaryPrimitives.ReadUInt32LittleEndian(lenBuf);
        if (headerLength > MaxHeaderLength)
            throw Bad($"header of {headerLength} bytes is larger than the {MaxHeaderLength} this reader accepts");

        var headerBytes = new byte[headerLength];
        int headerGot = stream.ReadAtLeast(headerBytes, headerBytes.Length, throwOnEndOfStream: false);
        if (headerGot < headerBytes.Length)
            throw Bad($"truncated header: {headerLength} bytes announced, {headerGot} present");
        string header;
        try
        {
            header = major == 3
                ? new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(headerBytes)
                : Encoding.Latin1.GetString(headerBytes);
        }
        catch (DecoderFallbackException e)
        {
            throw Bad("version 3.0 header is not valid UTF-8", e);
        }

        var (dtype, shape) = ParseHeader(header, Bad);

        long count = 1;
        foreach (int s in shape) count *= s; // bounded by ParseHeader
        // Never allocate from a header alone: the declared data must be what the stream holds.
        if (stream.CanSeek)
        {
            long present = stream.Length - stream.Position, declared = count * dtype.ItemSize();
            if (present != declared)
                throw Bad(present < declared
                    ? $"truncated data: {count} {dtype.Descr()} values need {declared} bytes, {present} present"
                    : $"{present - declared} unexpected byte(s) after the data: {count} {dtype.Descr()} values need {declared} bytes, {present} follow the header");
        }
        return dtype.IsFloat()
            ? NpyArray.Float(name, shape, ReadFloats(stream, dtype, count, Bad), dtype)
            : NpyArray.Integer(name, shape, ReadIntegers(stream, dtype, count, Bad), dtype);
    }

    private static (NpyDType, int[]) ParseHeader(string header, Func<string, Exception?, NpyFormatException> bad)
    {
        NpyFormatException Bad(string problem) => bad(problem, null);

        object? literal;
        try
        {
            literal = PyLiteral.Parse(header);
        }
        catch (FormatException e)
        {
            throw bad($"malformed header ({e.Message}): {Excerpt(header)}", e);
        }
        if (literal is not Dictionary<string, object?> dict)
            throw Bad($"header is not a dict: {Excerpt(header)}");
        string[] expected = ["descr", "fortran_order", "shape"];
        var missing = expected.Where(k => !dict.ContainsKey(k)).ToArray();
        if (missing.Length > 0) throw Bad($"header lacks the key(s) {string.Join(", ", missing.Select(k => $"'{k}'"))}: {Excerpt(header)}");
        var extra = dict.Keys.Where(k => !expected.Contains(k)).ToArray();
        if (extra.Length > 0) throw Bad($"header has unexpected key(s) {string.Join(", ", extra.Select(k => $"'{k}'"))}: {Excerpt(header)}");

        NpyDType dtype = dict["descr"] switch
        {
            string descr => NpyDTypes.FromDescr(descr) ?? throw Bad(UnsupportedDescr(descr)),
            PyList => throw Bad("structured (record) dtypes are not supported; expected one of <f8, <f4, <i8, <i4"),
            _ => throw Bad($"'descr' is not a dtype string: {Excerpt(header)}"),
        };

        if (dict["fortran_order"] is not bool fortran)
            throw Bad($"'fortran_order' is not True or False: {Excerpt(header)}");
        if (fortran)
            throw Bad("Fortran-ordered data is not supported; save a C-ordered array (numpy.ascontiguousarray)");

        if (dict["shape"] is not PyTuple tuple)
            throw Bad($"'shape' is not a tuple: {Excerpt(header)}");
        var shape = new int[tuple.Items.Count];
        long count = 1;
        for (int i = 0; i < shape.Length; i++)
        {
            if (tuple.Items[i] is not long s || s < 0)
                throw Bad($"'shape' has an entry that is not a non-negative integer: {Excerpt(header)}");
            if (s > int.MaxValue) throw Bad($"dimension {s} is too large");
            shape[i] = (int)s;
            count *= s;
            if (count > Array.MaxLength) throw Bad($"shape {NpyArray.FormatShape(shape[..(i + 1)])} has more elements than an array can hold");
        }
        return (dtype, shape);
    }

    private static string UnsupportedDescr(string descr)
    {
        const string supported = "expected one of <f8, <f4, <i8, <i4";
        if (descr.Length >= 2 && descr[0] == '>')
            return $"big-endian dtype '{descr}' is not supported; {supported} (numpy: a.astype('<{descr[1..]}'))";
        string kind = descr.TrimStart('<', '>', '|', '=');
        string what = kind.Length == 0 ? "" : kind[0] switch
        {
            'O' => "object arrays are not supported",
            'c' => "complex dtypes are not supported",
            'U' or 'S' or 'a' => "string dtypes are not supported",
            'V' => "void dtypes are not supported",
            'M' or 'm' => "datetime dtypes are not supported",
            _ => "",
        };
        return what.Length > 0 ? $"{what} (dtype '{descr}'); {supported}" : $"unsupported dtype '{descr}'; {supported}";
    }

    private static string Excerpt(string header) => NpyText.Shown(header.Trim());

    private static double[] ReadFloats(Stream stream, NpyDType dtype, long count, Func<string, Exception?, NpyFormatException> bad)
    {
        var data = new double[count];
        if (dtype == NpyDType.Float64)
        {
            for (long at = 0; at < count; at += ChunkElements)
            {
                var chunk = data.AsSpan((int)at, (int)Math.Min(ChunkElements, count - at));
                ReadChunk(stream, MemoryMarshal.AsBytes(chunk), at, count, dtype, bad);
                if (!BitConverter.IsLittleEndian)
                {
                    var bits = MemoryMarshal.Cast<double, long>(chunk);
                    BinaryPrimitives.ReverseEndianness(bits, bits);
                }
            }
        }
        else
        {
            var buffer = new float[Math.Min(ChunkElements, count)];
            for (long at = 0; at < count; at += ChunkElements)
            {
                var chunk = buffer.AsSpan(0, (int)Math.Min(ChunkElements, count - at));
                ReadChunk(stream, MemoryMarshal.AsBytes(chunk), at, count, dtype, bad);
                if (!BitConverter.IsLittleEndian)
                {
                    var bits = MemoryMarshal.Cast<float, int>(chunk);
                    BinaryPrimitives.ReverseEndianness(bits, bits);
                }
                for (int i = 0; i < chunk.Length; i++) data[at + i] = chunk[i];
            }
        }
        ExpectEnd(stream, bad);
        return data;
    }

    private static long[] ReadIntegers(Stream stream, NpyDType dtype, long count, Func<string, Exception?, NpyFormatException> bad)
    {
        var data = new long[count];
        if (dtype == NpyDType.Int64)
        {
            for (long at = 0; at < count; at += ChunkElements)
            {
                var chunk = data.AsSpan((int)at, (int)Math.Min(ChunkElements, count - at));
                ReadChunk(stream, MemoryMarshal.AsBytes(chunk), at, count, dtype, bad);
                if (!BitConverter.IsLittleEndian) BinaryPrimitives.ReverseEndianness(chunk, chunk);
            }
        }
        else
        {
            var buffer = new int[Math.Min(ChunkElements, count)];
            for (long at = 0; at < count; at += ChunkElements)
            {
                var chunk = buffer.AsSpan(0, (int)Math.Min(ChunkElements, count - at));
                ReadChunk(stream, MemoryMarshal.AsBytes(chunk), at, count, dtype, bad);
                if (!BitConverter.IsLittleEndian) BinaryPrimitives.ReverseEndianness(chunk, chunk);
                for (int i = 0; i < chunk.Length; i++) data[at + i] = chunk[i];
            }
        }
        ExpectEnd(stream, bad);
        return data;
    }

    private static void ReadChunk(Stream stream, Span<byte> bytes, long at, long count, NpyDType dtype,
        Func<string, Exception?, NpyFormatException> bad)
    {
        int got = stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false);
        if (got < bytes.Length)
        {
            long have = at * dtype.ItemSize() + got;
            throw bad($"truncated data: {count} {dtype.Descr()} values need {count * dtype.ItemSize()} bytes, {have} present", null);
        }
    }

    private static void ExpectEnd(Stream stream, Func<string, Exception?, NpyFormatException> bad)
    {
        Span<byte> one = stackalloc byte[1];
        if (stream.Read(one) != 0)
        {
            long extra = 1;
            if (stream.CanSeek) extra = stream.Length - stream.Position + 1;
            throw bad(stream.CanSeek ? $"{extra} unexpected byte(s) after the data" : "unexpected bytes after the data", null);
        }
    }

    /// <summary>Writes one .npy file atomically (temporary name, then rename).</summary>
    public static void WriteFile(string path, NpyArray array) =>
        IO.AtomicFile.Write(path, stream => Write(stream, array));

    /// <summary>Writes one array exactly as numpy.save does: version 1.0 unless the header needs 2.0.</summary>
    public static void Write(Stream stream, NpyArray array)
    {
        stream.Write(Header(array));
        WriteData(stream, array);
    }

    /// <summary>The header bytes numpy.save writes for this array (magic, version, length, dict, padding).</summary>
    public static byte[] Header(NpyArray array)
    {
        var dict = new StringBuilder();
        dict.Append("{'descr': '").Append(array.DType.Descr()).Append("', 'fortran_order': False, 'shape': ")
            .Append(array.ShapeText).Append(", }");
        // numpy leaves room for the first axis to grow in place.
        if (array.Rank > 0) dict.Append(' ', GrowthAxisMaxDigits - array.Shape[0].ToString(System.Globalization.CultureInfo.InvariantCulture).Length);
        return WrapHeader(dict.ToString());
    }

    /// <summary>
    /// numpy's _wrap_header with its version guess: pads the dict with spaces and a newline so that magic,
    /// length field and header end on a multiple of 64 bytes, using version 1.0 when the length fits in u2 and
    /// 2.0 otherwise (3.0 only for headers that latin-1 cannot encode, which this writer never produces).
    /// </summary>
    internal static byte[] WrapHeader(string dict)
    {
        byte[] text = Encoding.Latin1.GetBytes(dict);
        foreach (var (major, lengthBytes) in new[] { (1, 2), (2, 4) })
        {
            long hlen = text.Length + 1;
            long padlen = ArrayAlign - ((MagicLength + lengthBytes + hlen) % ArrayAlign);
            long total = hlen + padlen;
            if (lengthBytes == 2 && total > ushort.MaxValue) continue;
            var result = new byte[MagicLength + lengthBytes + total];
            Magic.CopyTo(result, 0);
            result[6] = (byte)major;
            result[7] = 0;
            if (lengthBytes == 2) BinaryPrimitives.WriteUInt16LittleEndian(result.AsSpan(MagicLength), (ushort)total);
            else BinaryPrimitives.WriteUInt32LittleEndian(result.AsSpan(MagicLength), checked((uint)total));
            int at = MagicLength + lengthBytes;
            text.CopyTo(result, at);
            result.AsSpan(at + text.Length, (int)padlen).Fill((byte)' ');
            result[^1] = (byte)'\n';
            return result;
        }
        throw new System.Diagnostics.UnreachableException();
    }

    private static void WriteData(Stream stream, NpyArray array)
    {
        int item = array.DType.ItemSize();
        var buffer = new byte[Math.Min(ChunkElements, Math.Max(array.Length, 1)) * item];
        for (int at = 0; at < array.Length; at += ChunkElements)
        {
            int n = Math.Min(ChunkElements, array.Length - at);
            var span = buffer.AsSpan(0, n * item);
            for (int i = 0; i < n; i++)
            {
                var slot = span.Slice(i * item, item);
                switch (array.DType)
                {
                    case NpyDType.Float64: BinaryPrimitives.WriteDoubleLittleEndian(slot, array.Floats![at + i]); break;
                    case NpyDType.Float32: BinaryPrimitives.WriteSingleLittleEndian(slot, (float)array.Floats![at + i]); break;
                    case NpyDType.Int64: BinaryPrimitives.WriteInt64LittleEndian(slot, array.Integers![at + i]); break;
                    case NpyDType.Int32: BinaryPrimitives.WriteInt32LittleEndian(slot, checked((int)array.Integers![at + i])); break;
                }
            }
            stream.Write(span);
        }
    }
}
