using System.IO.Compression;

namespace Flatness.Solver.Problems.NumPy;

/// <summary>
/// NumPy .npz archives: a zip file with one NAME.npy entry per array, stored (numpy.savez) or deflated
/// (numpy.savez_compressed). Both are read; the writer stores by default and deflates on request.
/// </summary>
public static class Npz
{
    /// <summary>The timestamp written on every entry, so that equal arrays give equal files.</summary>
    private static readonly DateTimeOffset EntryTime = new(1980, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>
    /// Reads every array of an .npz file, in archive order. Format problems throw <see cref="NpyFormatException"/>;
    /// a missing or unreadable file throws the usual IO exceptions.
    /// </summary>
    public static IReadOnlyList<NpyArray> ReadFile(string path)
    {
        using var stream = File.OpenRead(path);
        return Read(stream, path);
    }

    /// <summary>Reads every array of an .npz archive held in a seekable stream; <paramref name="file"/> names it in errors.</summary>
    public static IReadOnlyList<NpyArray> Read(Stream stream, string file)
    {
        Span<byte> start = stackalloc byte[6];
        int got = stream.ReadAtLeast(start, start.Length, throwOnEndOfStream: false);
        if (got == 0) throw new NpyFormatException(file, null, "empty file; not an .npz archive");
        if (Npy.HasMagic(start[..got])) throw new NpyFormatException(file, null, "is a single .npy array, not an .npz archive");
        if (got < 4 || start[0] != (byte)'P' || start[1] != (byte)'K')
            throw new NpyFormatException(file, null, "not an .npz archive (not a zip file)");
        stream.Seek(0, SeekOrigin.Begin);
        if (stream.Length > Array.MaxLength)
            throw new NpyFormatException(file, null, $"archive of {stream.Length} bytes is larger than this reader holds ({Array.MaxLength})");
        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);

        var arrays = new List<NpyArray>();
        foreach (var entry in ZipReader.Read(bytes, file, MaxEntryBytes))
        {
            if (!entry.Name.EndsWith(".npy", StringComparison.Ordinal) || entry.Name.Length == 4)
                throw new NpyFormatException(file, NpyText.Shown(entry.Name), "entry is not a NAME.npy array");
            string name = entry.Name[..^4];
            arrays.Add(Npy.Read(new MemoryStream(entry.Data, writable: false), file, NpyText.Shown(name)));
        }
        return arrays;
    }

    /// <summary>The largest entry read into memory: one array, and at most half the memory this process may use.</summary>
    private static long MaxEntryBytes => Math.Min(Array.MaxLength, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 2);

    /// <summary>
    /// Writes the arrays as an .npz archive, atomically (temporary name, then rename). Names must be unique and
    /// non-empty. <paramref name="compressed"/> deflates the entries as numpy.savez_compressed does.
    /// </summary>
    public static void WriteFile(string path, IEnumerable<NpyArray> arrays, bool compressed = false)
    {
        var list = arrays.ToList();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var a in list)
        {
            if (string.IsNullOrEmpty(a.Name)) throw new ArgumentException($"{path}: an array has an empty name", nameof(arrays));
            if (!names.Add(a.Name)) throw new ArgumentException($"{path}: array '{a.Name}' is given twice", nameof(arrays));
        }
        IO.AtomicFile.Write(path, stream => Write(stream, list, compressed));
    }

    /// <summary>Writes the arrays as an .npz archive into the stream.</summary>
    public static void Write(Stream stream, IEnumerable<NpyArray> arrays, bool compressed = false)
    {
        using var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true);
        foreach (var array in arrays)
        {
            var entry = zip.CreateEntry(array.Name + ".npy", compressed ? CompressionLevel.Optimal : CompressionLevel.NoCompression);
            entry.LastWriteTime = EntryTime;
            using var data = entry.Open();
            Npy.Write(data, array);
        }
    }
}
