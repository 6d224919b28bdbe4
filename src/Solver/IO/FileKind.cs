using System.Runtime.InteropServices;

namespace Flatness.Solver.IO;

/// <summary>What a path names on disk: a regular file, a directory, something else (a pipe, a device, a socket), or nothing.</summary>
internal enum FileKindValue
{
    /// <summary>Nothing at the path.</summary>
    Missing,
    /// <summary>A regular file.</summary>
    Regular,
    /// <summary>A directory.</summary>
    Directory,
    /// <summary>A pipe, a device or a socket.</summary>
    Special,
}

/// <summary>
/// The kind of a path without opening it (opening a FIFO blocks until a writer appears). On Unix the file type comes
/// from stat through the runtime's own native library; elsewhere every existing file counts as regular.
/// </summary>
internal static class FileKind
{
    [StructLayout(LayoutKind.Sequential)]
    private struct FileStatus
    {
        public int Flags;
        public int Mode;
        // The runtime's struct continues (ids, size, times, device, inode); room for all of it.
        public unsafe fixed long Rest[24];
    }

    [DllImport("libSystem.Native", EntryPoint = "SystemNative_Stat", CharSet = CharSet.Ansi, SetLastError = true)]
    private static extern int Stat([MarshalAs(UnmanagedType.LPUTF8Str)] string path, out FileStatus status);

    private const int TypeMask = 0xF000, Fifo = 0x1000, Character = 0x2000, DirectoryType = 0x4000, Block = 0x6000, RegularType = 0x8000, Socket = 0xC000;

    /// <summary>The kind of <paramref name="path"/> (symbolic links followed).</summary>
    public static FileKindValue Of(string path)
    {
        if (Directory.Exists(path)) return FileKindValue.Directory;
        if (!File.Exists(path)) return FileKindValue.Missing;
        if (!(OperatingSystem.IsLinux() || OperatingSystem.IsMacOS() || OperatingSystem.IsFreeBSD())) return FileKindValue.Regular;
        try
        {
            if (Stat(path, out var status) != 0) return FileKindValue.Regular;
            return (status.Mode & TypeMask) switch
            {
                RegularType => FileKindValue.Regular,
                DirectoryType => FileKindValue.Directory,
                Fifo or Character or Block or Socket => FileKindValue.Special,
                _ => FileKindValue.Regular,
            };
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return FileKindValue.Regular;
        }
    }

    /// <summary>"a pipe", "a device" ... for messages; null for a regular file.</summary>
    public static string? Describe(FileKindValue kind) => kind switch
    {
        FileKindValue.Directory => "a directory",
        FileKindValue.Special => "not a regular file (a pipe, a device or a socket)",
        FileKindValue.Missing => "missing",
        _ => null,
    };
}
