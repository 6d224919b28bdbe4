using Flatness.Solver.Backends;
using System.Text;
using System.Text.Json;
using Flatness.Solver.IO;

namespace Flatness.Experiments;

/// <summary>The result of one finished cell, as stored in DIR/cells/KEY.json.</summary>
internal sealed record CellResult(
    string Claim, string Key, ResultRow Parameters, IReadOnlyList<ResultRow> Rows, double Seconds, string Backend,
    string Settings = "", string Version = "")
{
    /// <summary>What a cell records of the sweep that computed it: mode, seeds and precision.</summary>
    public static string SettingsOf(SweepSettings s) => $"mode {s.ModeName}, {s.Seeds} seeds, {s.PrecisionName}";

    /// <summary>The version of the code that computes cells now.</summary>
    public static string CurrentVersion { get; } =
        typeof(CellResult).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion ?? "unknown";

    /// <summary>The rows with the cell's parameters in front: what the CSV and the verdict see.</summary>
    public IEnumerable<ResultRow> FullRows => Rows.Select(Parameters.Concat);
}

/// <summary>
/// A sweep directory: sweep.json (the settings every cell shares) and cells/ with one file per finished cell.
/// Every file is written to a temporary name in the same directory and renamed, so a reader sees a whole file or
/// none, and a sweep killed at any moment resumes by skipping the cells whose files exist.
/// </summary>
internal sealed class CellStore
{
    public const string ManifestName = "sweep.json";
    public const string CellsFolder = "cells";

    public CellStore(string directory)
    {
        Directory = Path.GetFullPath(directory);
        CellsDirectory = Path.Combine(Directory, CellsFolder);
    }

    public string Directory { get; }
    public string CellsDirectory { get; }

    public string CellPath(string key) => Path.Combine(CellsDirectory, key + ".json");

    public bool Has(string key) => File.Exists(CellPath(key));

    /// <summary>Writes bytes to path atomically (see <see cref="AtomicFile"/>), creating the folder if needed.</summary>
    public static void WriteAtomically(string path, byte[] bytes)
    {
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        AtomicFile.Write(path, stream => stream.Write(bytes));
    }

    public static void WriteAtomically(string path, string text) => WriteAtomically(path, Encoding.UTF8.GetBytes(text));

    /// <summary>Whether a file is a writer's temporary, not a finished result.</summary>
    public static bool IsTemporary(string path) => AtomicFile.IsTemporary(path);

    public void Write(CellResult result)
    {
        var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("claim", result.Claim);
            w.WriteString("key", result.Key);
            w.WriteString("backend", result.Backend);
            w.WriteString("settings", result.Settings);
            w.WriteString("version", result.Version);
            w.WriteNumber("seconds", Math.Round(result.Seconds, 4));
            w.WritePropertyName("parameters");
            result.Parameters.WriteJson(w);
            w.WriteStartArray("rows");
            foreach (var row in result.Rows) row.WriteJson(w);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        WriteAtomically(CellPath(result.Key), buffer.ToArray());
    }

    /// <summary>Reads a cell file; throws <see cref="InvalidDataException"/> naming the file when it is not a cell.</summary>
    public static CellResult Read(string path)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            var root = doc.RootElement;
            var rows = root.GetProperty("rows").EnumerateArray().Select(ResultRow.ReadJson).ToArray();
            return new CellResult(
                root.GetProperty("claim").GetString()!,
                root.GetProperty("key").GetString()!,
                ResultRow.ReadJson(root.GetProperty("parameters")),
                rows,
                root.GetProperty("seconds").GetDouble(),
                root.GetProperty("backend").GetString()!,
                root.TryGetProperty("settings", out var settings) ? settings.GetString() ?? "" : "",
                root.TryGetProperty("version", out var version) ? version.GetString() ?? "" : "");
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or InvalidDataException)
        {
            throw new InvalidDataException($"{path} is not a valid cell result: {e.Message}", e);
        }
    }

    public CellResult? TryRead(string key) => Has(key) ? Read(CellPath(key)) : null;

    /// <summary>
    /// Holds the directory for the manifest and the summary (short sections; shards of one sweep share a directory):
    /// a second writer waits up to <paramref name="wait"/>, then is refused with the holder named.
    /// </summary>
    public IDisposable Lock(TimeSpan? wait = null)
    {
        System.IO.Directory.CreateDirectory(Directory);
        string path = Path.Combine(Directory, ".sweep.lock"), holder = Path.Combine(Directory, ".sweep.lock.holder");
        var deadline = DateTime.UtcNow + (wait ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            try
            {
                var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
                File.WriteAllText(holder, $"pid {Environment.ProcessId} since {DateTime.UtcNow:yyyy-MM-dd HH:mm:ss} UTC");
                return stream;
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(50);
            }
            catch (IOException e)
            {
                string who = File.Exists(holder) ? File.ReadAllText(holder) : "another process";
                throw new IOException($"{Directory} is held by another run ({who}); wait for it or use another --out directory", e);
            }
        }
    }

    /// <summary>All finished cells in this directory (temporary files of writers still running are ignored).</summary>
    public IEnumerable<CellResult> ReadAll()
    {
        if (!System.IO.Directory.Exists(CellsDirectory)) yield break;
        foreach (var path in System.IO.Directory.EnumerateFiles(CellsDirectory, "*.json").Order(StringComparer.Ordinal))
        {
            if (IsTemporary(path)) continue;
            yield return Read(path);
        }
    }

    /// <summary>
    /// Records the sweep's settings and claims in sweep.json, or checks that an existing one agrees: a directory holds
    /// one sweep (one mode, seed count and precision); claims accumulate.
    /// </summary>
    public void PrepareManifest(SweepSettings settings, IEnumerable<string> claimIds)
    {
        var manifest = ReadManifest();
        var claims = new List<string>(claimIds);
        if (manifest is not null)
        {
            CheckCompatible(manifest, settings, Directory);
            foreach (var id in manifest.Claims)
                if (!claims.Contains(id)) claims.Add(id);
        }
        claims.Sort(StringComparer.Ordinal);
        if (manifest is not null && manifest.Claims.SequenceEqual(claims)) return;
        WriteManifest(new SweepManifest(settings.ModeName, settings.Seeds, settings.PrecisionName, settings.BackendName, claims));
    }

    public static void CheckCompatible(SweepManifest manifest, SweepSettings settings, string directory)
    {
        if (manifest.Mode != settings.ModeName || manifest.Seeds != settings.Seeds || manifest.Precision != settings.PrecisionName)
            throw new InvalidDataException(
                $"{directory} holds a sweep with mode {manifest.Mode}, {manifest.Seeds} seeds, precision {manifest.Precision}; " +
                $"this one is mode {settings.ModeName}, {settings.Seeds} seeds, precision {settings.PrecisionName}: use another output directory");
    }

    public void WriteManifest(SweepManifest manifest)
    {
        var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("mode", manifest.Mode);
            w.WriteNumber("seeds", manifest.Seeds);
            w.WriteString("precision", manifest.Precision);
            w.WriteString("backend", manifest.Backend);
            w.WriteStartArray("claims");
            foreach (var c in manifest.Claims) w.WriteStringValue(c);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        WriteAtomically(Path.Combine(Directory, ManifestName), buffer.ToArray());
    }

    public SweepManifest? ReadManifest()
    {
        string path = Path.Combine(Directory, ManifestName);
        if (!File.Exists(path)) return null;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            var r = doc.RootElement;
            return new SweepManifest(
                r.GetProperty("mode").GetString()!,
                r.GetProperty("seeds").GetInt32(),
                r.GetProperty("precision").GetString()!,
                r.GetProperty("backend").GetString()!,
                r.GetProperty("claims").EnumerateArray().Select(e => e.GetString()!).ToArray());
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"{path} is not a valid sweep manifest: {e.Message}", e);
        }
    }
}

/// <summary>Contents of sweep.json.</summary>
internal sealed record SweepManifest(string Mode, int Seeds, string Precision, string Backend, IReadOnlyList<string> Claims)
{
    public SweepSettings ToSettings() =>
        new(SweepSettings.ParseMode(Mode), Seeds, ChoiceNames.ParsePrecision(Precision), ChoiceNames.ParseBackend(Backend));
}
