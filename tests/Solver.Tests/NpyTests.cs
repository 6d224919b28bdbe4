using System.Text;
using Flatness.Solver.Problems.NumPy;

namespace Flatness.Tests;

public class NpyTests
{
    private static NpyArray ReadBytes(byte[] bytes, string name = "X") =>
        Npy.Read(new MemoryStream(bytes), "test.npy", name);

    private static byte[] WriteBytes(NpyArray a)
    {
        var ms = new MemoryStream();
        Npy.Write(ms, a);
        return ms.ToArray();
    }

    private static NpyFormatException Rejects(byte[] bytes, string fragment)
    {
        var e = Assert.Throws<NpyFormatException>(() => ReadBytes(bytes, "arr"));
        Assert.Contains("test.npy", e.Message);
        Assert.Contains("'arr'", e.Message);
        Assert.Contains(fragment, e.Message);
        Assert.Equal("arr", e.Array);
        return e;
    }

    public static TheoryData<NpyDType, int[]> DTypesAndShapes()
    {
        var data = new TheoryData<NpyDType, int[]>();
        int[][] shapes = [[], [0], [5], [3, 4], [2, 3, 4], [1, 1, 1, 2]];
        foreach (var d in Enum.GetValues<NpyDType>())
            foreach (var s in shapes) data.Add(d, s);
        return data;
    }

    [Theory]
    [MemberData(nameof(DTypesAndShapes))]
    public void RoundTripsEveryDTypeAndShape(NpyDType dtype, int[] shape)
    {
        int count = shape.Aggregate(1, (a, b) => a * b);
        NpyArray a = dtype.IsFloat()
            ? NpyArray.Float("X", shape, Enumerable.Range(0, count).Select(i => (i - 3) * 0.375 + (dtype == NpyDType.Float64 ? 1e-13 : 0)).ToArray(), dtype)
            : NpyArray.Integer("X", shape, Enumerable.Range(0, count).Select(i => (long)(i - 3) * (dtype == NpyDType.Int64 ? 3_000_000_007L : 7)).ToArray(), dtype);
        var bytes = WriteBytes(a);
        Assert.Equal(0, (bytes.Length - count * dtype.ItemSize()) % 64);
        var back = ReadBytes(bytes);
        Assert.Equal(dtype, back.DType);
        Assert.Equal(shape, back.Shape);
        if (dtype.IsFloat()) Assert.Equal(a.Floats, back.Floats);
        else Assert.Equal(a.Integers, back.Integers);
    }

    [Fact]
    public void Float64KeepsEveryBitIncludingSpecialValues()
    {
        double[] values = [double.NaN, double.PositiveInfinity, double.NegativeInfinity, -0.0, double.Epsilon, double.MaxValue, Math.PI];
        var back = ReadBytes(WriteBytes(NpyArray.Float("X", [values.Length], values)));
        Assert.Equal(values.Select(BitConverter.DoubleToInt64Bits), back.Floats!.Select(BitConverter.DoubleToInt64Bits));
    }

    [Fact]
    public void Float32IsWidenedExactly()
    {
        float[] values = [0.1f, -3.5f, float.MaxValue, 1e-30f];
        var back = ReadBytes(NpyBytes.V1(NpyBytes.Dict("<f4", "(4,)"), NpyBytes.F4(values)));
        Assert.Equal(NpyDType.Float32, back.DType);
        Assert.Equal(values.Select(v => (double)v), back.Floats);
        // Written back as <f4, the bytes are unchanged.
        Assert.Equal(NpyBytes.F4(values), WriteBytes(back)[128..]);
    }

    [Fact]
    public void Int32ValuesAreRead()
    {
        var back = ReadBytes(NpyBytes.V1(NpyBytes.Dict("<i4", "(2, 2)"), NpyBytes.I4(int.MinValue, -1, 0, int.MaxValue)));
        Assert.Equal(new long[] { int.MinValue, -1, 0, int.MaxValue }, back.Integers);
    }

    [Fact]
    public void WritesExactlyTheBytesNumPyWrites()
    {
        // numpy.save('x.npy', numpy.arange(12.0).reshape(3, 4)): version 1.0, header length 118 (0x76), the dict,
        // 21 - len('3') = 20 spaces of room for the first axis to grow, 38 spaces of padding to 128 bytes, a newline.
        var a = NpyArray.Float("x", [3, 4], Enumerable.Range(0, 12).Select(i => (double)i).ToArray());
        var expectedHeader = new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 0x01, 0x00, 0x76, 0x00 }
            .Concat(Encoding.ASCII.GetBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }" + new string(' ', 58) + "\n"))
            .ToArray();
        Assert.Equal(128, expectedHeader.Length);
        var bytes = WriteBytes(a);
        Assert.Equal(128 + 96, bytes.Length);
        Assert.Equal(expectedHeader, bytes[..128]);
        // 1.0 as little-endian IEEE double.
        Assert.Equal(new byte[] { 0, 0, 0, 0, 0, 0, 0xF0, 0x3F }, bytes[136..144]);
    }

    [Fact]
    public void WritesNumPyHeadersForScalarsAndVectors()
    {
        // numpy.save of numpy.int32(7): shape (), no growth room; 62 spaces of padding.
        var scalar = WriteBytes(NpyArray.Integer("s", [], [7], NpyDType.Int32));
        Assert.Equal("{'descr': '<i4', 'fortran_order': False, 'shape': (), }" + new string(' ', 62) + "\n",
            Encoding.ASCII.GetString(scalar, 10, 118));
        Assert.Equal(new byte[] { 7, 0, 0, 0 }, scalar[128..]);
        // numpy.save of numpy.zeros(12345, '<f4'): shape (12345,), 21 - 5 = 16 spaces of growth room.
        var vector = WriteBytes(NpyArray.Float("v", [12345], new double[12345], NpyDType.Float32));
        string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (12345,), }";
        int pad = 64 - (10 + dict.Length + 16 + 1) % 64;
        Assert.Equal(dict + new string(' ', 16 + pad) + "\n", Encoding.ASCII.GetString(vector, 10, vector.Length - 10 - 4 * 12345));
    }

    [Fact]
    public void HeaderTooLongForVersion1UsesVersion2()
    {
        // The version 1.0 length field is u2: a header that does not fit goes to 2.0 with a u4 length.
        var small = Npy.WrapHeader(new string('x', 1000));
        Assert.Equal(1, small[6]);
        var big = Npy.WrapHeader("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }" + new string(' ', 70000));
        Assert.Equal(2, big[6]);
        Assert.Equal(0, big[7]);
        Assert.Equal((uint)(big.Length - 12), System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(big.AsSpan(8)));
        Assert.Equal(0, big.Length % 64);
        Assert.Equal((byte)'\n', big[^1]);
        // ... and it reads back.
        var back = ReadBytes(big.Concat(NpyBytes.F8(1.5, 2.5)).ToArray());
        Assert.Equal(new[] { 1.5, 2.5 }, back.Floats);
    }

    [Fact]
    public void ReadsHandAssembledVersion2And3Headers()
    {
        var v2 = ReadBytes(NpyBytes.V2or3(2, NpyBytes.Dict("<i8", "(3,)"), NpyBytes.I8(1, -2, 3)));
        Assert.Equal(new long[] { 1, -2, 3 }, v2.Integers);
        var v3 = ReadBytes(NpyBytes.V2or3(3, NpyBytes.Dict("<f4", "(2,)"), NpyBytes.F4(0.5f, -8f)));
        Assert.Equal(new[] { 0.5, -8.0 }, v3.Floats);
        // Version 3.0 headers are decoded as UTF-8 (the error quotes the decoded descriptor).
        var e = Assert.Throws<NpyFormatException>(() => ReadBytes(NpyBytes.V2or3(3, NpyBytes.Dict("<f8\u2003", "(1,)"), NpyBytes.F8(1))));
        Assert.Contains("'<f8\u2003'", e.Message);
    }

    [Fact]
    public void AcceptsOtherSpellingsOfTheHeaderDict()
    {
        // Double quotes, no spaces, keys in another order, no trailing comma, Python 2 long suffixes.
        var a = ReadBytes(NpyBytes.V1("{\"shape\":(2L,1L),\"fortran_order\":False,\"descr\":\"<f8\"}", NpyBytes.F8(1, 2)));
        Assert.Equal(new[] { 2, 1 }, a.Shape);
        Assert.Equal(new[] { 1.0, 2.0 }, a.Floats);
    }

    [Fact]
    public void RejectsBadMagic()
    {
        var bytes = NpyBytes.Float64("(1,)", 1.0);
        bytes[1] = (byte)'X';
        Rejects(bytes, "bad magic");
        Rejects([], "empty");
        Rejects(Encoding.ASCII.GetBytes("hello world, not numpy"), "bad magic");
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(4, 0)]
    [InlineData(0, 0)]
    public void RejectsUnknownVersions(byte major, byte minor)
    {
        var bytes = NpyBytes.Float64("(1,)", 1.0);
        bytes[6] = major;
        bytes[7] = minor;
        Rejects(bytes, $"version {major}.{minor}");
    }

    [Theory]
    [InlineData(">f8", "big-endian")]
    [InlineData(">i4", "big-endian")]
    [InlineData("<c16", "complex")]
    [InlineData("|O", "object")]
    [InlineData("<U5", "string")]
    [InlineData("<u4", "unsupported dtype '<u4'")]
    [InlineData("|u1", "unsupported dtype '|u1'")]
    [InlineData("|b1", "unsupported dtype '|b1'")]
    [InlineData("<f2", "unsupported dtype '<f2'")]
    [InlineData("f8", "unsupported dtype 'f8'")]
    public void RejectsUnsupportedDTypes(string descr, string fragment)
    {
        var e = Rejects(NpyBytes.V1(NpyBytes.Dict(descr, "(1,)"), new byte[16]), fragment);
        Assert.Contains("<f8, <f4, <i8, <i4", e.Message);
    }

    [Fact]
    public void RejectsStructuredDTypes() =>
        Rejects(NpyBytes.V1("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (1,), }", new byte[8]), "structured");

    [Fact]
    public void RejectsFortranOrder() =>
        Rejects(NpyBytes.V1(NpyBytes.Dict("<f8", "(2, 2)", fortran: true), NpyBytes.F8(1, 2, 3, 4)), "Fortran");

    [Theory]
    [InlineData("{'descr': '<f8', 'fortran_order': False}", "lacks the key(s) 'shape'")]
    [InlineData("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'extra': 1}", "unexpected key(s) 'extra'")]
    [InlineData("{'descr': '<f8', 'fortran_order': Flase, 'shape': (1,)}", "malformed header")]
    [InlineData("{'descr': '<f8', 'fortran_order': 0, 'shape': (1,)}", "'fortran_order' is not True or False")]
    [InlineData("{'descr': '<f8', 'fortran_order': False, 'shape': [1]}", "'shape' is not a tuple")]
    [InlineData("{'descr': '<f8', 'fortran_order': False, 'shape': (1)}", "'shape' is not a tuple")]
    [InlineData("{'descr': '<f8', 'fortran_order': False, 'shape': (-1,)}", "non-negative integer")]
    [InlineData("{'descr': '<f8', 'fortran_order': False, 'shape': (1.5,)}", "malformed header")]
    [InlineData("{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999,)}", "malformed header")]
    [InlineData("{'descr': '<f8', 'fortran_order': False, 'shape': (1,)} trailing", "malformed header")]
    [InlineData("{'descr': '<f8', 'fortran_order': False, 'shape': (1,)", "malformed header")]
    [InlineData("{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (1,)}", "repeated")]
    [InlineData("['descr', '<f8']", "not a dict")]
    [InlineData("{'descr': 8, 'fortran_order': False, 'shape': (1,)}", "'descr' is not a dtype string")]
    [InlineData("{'descr': '<f8', 'fortran_order': False, 'shape': (65536, 65536, 65536)}", "more elements")]
    public void RejectsHeaderGarbage(string dict, string fragment) =>
        Rejects(NpyBytes.V1(dict, NpyBytes.F8(1)), fragment);

    [Fact]
    public void RejectsInvalidUtf8InVersion3Header()
    {
        var bytes = NpyBytes.V2or3(3, NpyBytes.Dict("<f8", "(1,)"), NpyBytes.F8(1));
        bytes[12 + 70] = 0xC3; // a lead byte followed by a space: not UTF-8
        Rejects(bytes, "UTF-8");
    }

    [Fact]
    public void RejectsTruncatedFiles()
    {
        var bytes = NpyBytes.Float64("(3,)", 1, 2, 3);
        Rejects(bytes[..7], "truncated inside the version");
        Rejects(bytes[..9], "truncated inside the header length");
        Rejects(bytes[..60], "truncated header");
        var e = Rejects(bytes[..^5], "truncated data");
        Assert.Contains("3 <f8 values need 24 bytes, 19 present", e.Message);
        Rejects(bytes.Concat(new byte[3]).ToArray(), "3 unexpected byte(s) after the data");
    }

    [Fact]
    public void RejectsOversizedHeaders()
    {
        var bytes = NpyBytes.V2or3(2, NpyBytes.Dict("<f8", "(1,)"), NpyBytes.F8(1));
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), 0x7FFFFFFF);
        Rejects(bytes, "larger than");
    }

    [Fact]
    public void ArraysCheckTheirOwnShapeAndRange()
    {
        Assert.Throws<ArgumentException>(() => NpyArray.Float("x", [2, 2], new double[3]));
        Assert.Throws<ArgumentOutOfRangeException>(() => NpyArray.Integer("x", [1], [1L << 40], NpyDType.Int32));
        Assert.Throws<ArgumentException>(() => NpyArray.Float("x", [1], [1.0], NpyDType.Int64));
        Assert.Equal("[1, 0, 2]", NpyArray.Float("x", [2, 3, 4], new double[24]).IndexText(14));
    }

    [Fact]
    public void NpyFilesAreWrittenAndReadByPath()
    {
        using var dir = new TempDir();
        var path = dir.File("vec.npy");
        Npy.WriteFile(path, NpyArray.Float("vec", [3], [1, 2, 3]));
        Assert.Equal(new[] { "vec.npy" }, dir.Listing());
        var back = Npy.ReadFile(path);
        Assert.Equal("vec", back.Name);
        Assert.Equal(new[] { 1.0, 2, 3 }, back.Floats);
    }
}
