using System.Diagnostics;

namespace Flatness.Solver.IO;

/// <summary>
/// Writes a file so that readers see either the old content or the complete new content: the data goes to a
/// temporary file in the same directory (named after the writing process), which is flushed and then renamed over the
/// target. On any failure the temporary file is removed and the target is left as it was. A symbolic link is followed
/// to its target (the link stays a link); a directory, a pipe or a device is never replaced; temporaries left by a
/// killed writer are removed the next time the same file is written.
/// </summary>
internal static class AtomicFile
{
    /// <summary>
    /// Writes <paramref name="path"/> through a temporary file beside it, renamed over it only when <paramref name="write"/>
    /// returned: a failed or killed write never leaves a half-written file.
    /// </summary>
    public static void Write(string path, Action<Stream> write)
    {
        string full = RequireWritable(path);
        string directory = Path.GetDirectoryName(full)!;
        string name = Path.GetFileName(full);
        RemoveStaleTemporaries(directory, name);
        string temp = Path.Combine(directory, $".{name}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    /// <summary>
    /// Checks, before any work, that <paramref name="path"/> can be written: its directory exists and takes new files,
    /// and it is not a directory, a pipe or a device. Returns the path the data will land at (a symbolic link resolved
    /// to its final target). Failures are <see cref="IOException"/>s naming the path.
    /// </summary>
    public static string RequireWritable(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = Path.GetFullPath(path);
        if (new FileInfo(full).LinkTarget is not null)
            full = new FileInfo(full).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? full;
        string directory = Path.GetDirectoryName(full) ?? throw new IOException($"cannot write {path}: it has no parent directory");
        if (!Directory.Exists(directory)) throw new DirectoryNotFoundException($"cannot write {path}: the directory {directory} does not exist");
        var kind = FileKind.Of(full);
        if (kind is FileKindValue.Directory or FileKindValue.Special)
            throw new IOException($"cannot write {path}: it is {FileKind.Describe(kind)}, not a file to replace");
        string probe = Path.Combine(directory, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.probe.tmp");
        try
        {
            using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None)) { }
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"cannot write {path}: {directory} does not take new files ({e.Message})", e);
        }
        return full;
    }

    /// <summary>Whether a file name is one of this class's temporaries (".NAME.PID.TAG.tmp").</summary>
    public static bool IsTemporary(string path)
    {
        string name = Path.GetFileName(path);
        return name.StartsWith('.') && name.EndsWith(".tmp", StringComparison.Ordinal);
    }

    /// <summary>Removes ".NAME.PID.*.tmp" files whose writing process no longer runs.</summary>
    private static void RemoveStaleTemporaries(string directory, string name)
    {
        string prefix = $".{name}.";
        IEnumerable<string> candidates;
        try
        {
            candidates = Directory.EnumerateFiles(directory)
                .Where(f => Path.GetFileName(f).StartsWith(prefix, StringComparison.Ordinal) && f.EndsWith(".tmp", StringComparison.Ordinal)).ToArray();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return; }
        foreach (var file in candidates)
        {
            var rest = Path.GetFileName(file)[prefix.Length..];
            int dot = rest.IndexOf('.');
            if (dot <= 0 || !int.TryParse(rest.AsSpan(0, dot), out int pid) || pid == Environment.ProcessId || Running(pid)) continue;
            try { File.Delete(file); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private static bool Running(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            return false;
        }
    }
}
