using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Flatness.Tests;

/// <summary>A fresh temporary directory, removed on dispose.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir() => Directory.CreateDirectory(Path);
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "flatness-tests-" + Guid.NewGuid().ToString("N"));
    public string File(string name) => System.IO.Path.Combine(Path, name);
    /// <summary>Every file in the directory (temporary files included).</summary>
    public string[] Listing() => Directory.GetFiles(Path).Select(System.IO.Path.GetFileName).OrderBy(n => n, StringComparer.Ordinal).ToArray()!;
    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}

/// <summary>Hand-assembled .npy and .npz bytes, independent of the library's writer.</summary>
public static class NpyBytes
{
    /// <summary>A version 1.0 .npy file with the given header dict text (padded as NumPy pads) and data bytes.</summary>
    public static byte[] V1(string dict, byte[] data)
    {
        int hlen = dict.Length + 1;
        int pad = 64 - (10 + hlen) % 64;
        var header = Encoding.Latin1.GetBytes(dict + new string(' ', pad) + "\n");
        var bytes = new List<byte> { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0 };
        bytes.Add((byte)(header.Length & 0xff));
        bytes.Add((byte)(header.Length >> 8));
        bytes.AddRange(header);
        bytes.AddRange(data);
        return bytes.ToArray();
    }

    /// <summary>A version 2.0 or 3.0 .npy file (u4 header length; 3.0 encodes the header as UTF-8).</summary>
    public static byte[] V2or3(int major, string dict, byte[] data)
    {
        var enc = major == 3 ? Encoding.UTF8 : Encoding.Latin1;
        int raw = enc.GetByteCount(dict) + 1;
        int pad = 64 - (12 + raw) % 64;
        var header = enc.GetBytes(dict + new string(' ', pad) + "\n");
        var bytes = new List<byte> { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', (byte)major, 0 };
        var len = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(len, (uint)header.Length);
        bytes.AddRange(len);
        bytes.AddRange(header);
        bytes.AddRange(data);
        return bytes.ToArray();
    }

    public static string Dict(string descr, string shape, bool fortran = false) =>
        $"{{'descr': '{descr}', 'fortran_order': {(fortran ? "True" : "False")}, 'shape': {shape}, }}";

    public static byte[] F8(params double[] values)
    {
        var b = new byte[values.Length * 8];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteDoubleLittleEndian(b.AsSpan(i * 8), values[i]);
        return b;
    }

    public static byte[] F4(params float[] values)
    {
        var b = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(b.AsSpan(i * 4), values[i]);
        return b;
    }

    public static byte[] I8(params long[] values)
    {
        var b = new byte[values.Length * 8];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(i * 8), values[i]);
        return b;
    }

    public static byte[] I4(params int[] values)
    {
        var b = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(i * 4), values[i]);
        return b;
    }

    /// <summary>A float64 array as a version 1.0 .npy file.</summary>
    public static byte[] Float64(string shape, params double[] values) => V1(Dict("<f8", shape), F8(values));

    /// <summary>An int64 array as a version 1.0 .npy file.</summary>
    public static byte[] Int64(string shape, params long[] values) => V1(Dict("<i8", shape), I8(values));

    /// <summary>An .npz file written with .NET's zip writer from raw entry bytes (names without .npy get none added).</summary>
    public static void Npz(string path, params (string Entry, byte[] Bytes)[] entries)
    {
        using var fs = System.IO.File.Create(path);
        using var zip = new ZipArchive(fs, ZipArchiveMode.Create);
        foreach (var (name, bytes) in entries)
        {
            using var s = zip.CreateEntry(name, CompressionLevel.NoCompression).Open();
            s.Write(bytes);
        }
    }

    /// <summary>An .npz with entries NAME.npy.</summary>
    public static void Arrays(string path, params (string Name, byte[] Bytes)[] arrays) =>
        Npz(path, arrays.Select(a => (a.Name + ".npy", a.Bytes)).ToArray());

    /// <summary>
    /// A zip laid out as Python's zipfile writes numpy.savez (method 0) or numpy.savez_compressed (method 8):
    /// entries opened with force_zip64, so each local header carries sizes 0xFFFFFFFF and a zip64 extra field,
    /// while the central directory has the plain 32-bit sizes.
    /// </summary>
    public static byte[] PythonZip(bool deflate, params (string Name, byte[] Bytes)[] entries)
    {
        var output = new MemoryStream();
        var w = new BinaryWriter(output);
        var central = new MemoryStream();
        var c = new BinaryWriter(central);
        foreach (var (name, bytes) in entries)
        {
            byte[] stored = bytes;
            if (deflate)
            {
                var ms = new MemoryStream();
                using (var d = new DeflateStream(ms, CompressionLevel.Optimal, leaveOpen: true)) d.Write(bytes);
                stored = ms.ToArray();
            }
            uint crc = Crc32(bytes);
            var nameBytes = Encoding.ASCII.GetBytes(name);
            long offset = output.Position;
            ushort method = (ushort)(deflate ? 8 : 0);
            const ushort dosTime = 0, dosDate = (1 << 5) | 1; // 1980-01-01 00:00
            // local file header, zip64 variant
            w.Write(0x04034b50u); w.Write((ushort)45); w.Write((ushort)0); w.Write(method);
            w.Write(dosTime); w.Write(dosDate); w.Write(crc);
            w.Write(0xFFFFFFFFu); w.Write(0xFFFFFFFFu);
            w.Write((ushort)nameBytes.Length); w.Write((ushort)20);
            w.Write(nameBytes);
            w.Write((ushort)1); w.Write((ushort)16); w.Write((ulong)bytes.Length); w.Write((ulong)stored.Length);
            w.Write(stored);
            // central directory entry, plain sizes
            c.Write(0x02014b50u); c.Write((ushort)(20 | (3 << 8))); c.Write((ushort)20); c.Write((ushort)0); c.Write(method);
            c.Write(dosTime); c.Write(dosDate); c.Write(crc);
            c.Write((uint)stored.Length); c.Write((uint)bytes.Length);
            c.Write((ushort)nameBytes.Length); c.Write((ushort)0); c.Write((ushort)0);
            c.Write((ushort)0); c.Write((ushort)0); c.Write(0x1800000u); c.Write((uint)offset);
            c.Write(nameBytes);
        }
        long cdOffset = output.Position;
        w.Write(central.ToArray());
        w.Write(0x06054b50u); w.Write((ushort)0); w.Write((ushort)0);
        w.Write((ushort)entries.Length); w.Write((ushort)entries.Length);
        w.Write((uint)central.Length); w.Write((uint)cdOffset); w.Write((ushort)0);
        w.Flush();
        return output.ToArray();
    }

    private static uint Crc32(byte[] data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
        }
        return ~crc;
    }
}
