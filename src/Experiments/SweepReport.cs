using System.Text;
using System.Text.Json;

namespace Flatness.Experiments;

/// <summary>One claim's line in summary.json.</summary>
public sealed record ClaimSummary(
    string Id, string Title, bool Passed, IReadOnlyList<KeyValuePair<string, double>> Numbers, string Reason, string Headline,
    int Cells, int Rows, string Csv, IReadOnlyList<string> Figures, double Seconds);

/// <summary>summary.json: the sweep's settings and every claim's verdict.</summary>
public sealed record SweepSummary(string Mode, int Seeds, string Precision, string Backend, IReadOnlyList<ClaimSummary> Claims)
{
    /// <summary>The summary's file name in a sweep directory.</summary>
    public const string FileName = "summary.json";
    /// <summary>Whether every claim's verdict passed.</summary>
    public bool Passed => Claims.All(c => c.Passed);
    /// <summary>Cells of the sweep, all claims together.</summary>
    public int Cells => Claims.Sum(c => c.Cells);

    /// <summary>The summary as summary.json holds it (indented UTF-8 JSON).</summary>
    public string ToJson()
    {
        var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("mode", Mode);
            w.WriteNumber("seeds", Seeds);
            w.WriteString("precision", Precision);
            w.WriteString("backend", Backend);
            w.WriteBoolean("passed", Passed);
            w.WriteNumber("cells", Cells);
            w.WriteStartArray("claims");
            foreach (var c in Claims)
            {
                w.WriteStartObject();
                w.WriteString("id", c.Id);
                w.WriteString("title", c.Title);
                w.WriteBoolean("passed", c.Passed);
                w.WriteStartObject("numbers");
                foreach (var (name, value) in c.Numbers)
                {
                    if (double.IsFinite(value)) w.WriteNumber(name, value);
                    else w.WriteString(name, ResultRow.Format(value));
                }
                w.WriteEndObject();
                w.WriteString("headline", c.Headline);
                w.WriteString("reason", c.Reason);
                w.WriteNumber("cells", c.Cells);
                w.WriteNumber("rows", c.Rows);
                w.WriteString("csv", c.Csv);
                w.WriteStartArray("figures");
                foreach (var f in c.Figures) w.WriteStringValue(f);
                w.WriteEndArray();
                w.WriteNumber("seconds", Math.Round(c.Seconds, 3));
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>Reads a summary.json written by <see cref="ToJson"/>.</summary>
    /// <exception cref="InvalidDataException">the file is not such a summary.</exception>
    public static SweepSummary Read(string path)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            var r = doc.RootElement;
            var claims = r.GetProperty("claims").EnumerateArray().Select(c => new ClaimSummary(
                c.GetProperty("id").GetString()!,
                c.GetProperty("title").GetString()!,
                c.GetProperty("passed").GetBoolean(),
                ResultRow.ReadJson(c.GetProperty("numbers")).Fields.Select(f => new KeyValuePair<string, double>(f.Key, (double)f.Value)).ToArray(),
                c.GetProperty("reason").GetString()!,
                c.GetProperty("headline").GetString()!,
                c.GetProperty("cells").GetInt32(),
                c.GetProperty("rows").GetInt32(),
                c.GetProperty("csv").GetString()!,
                c.GetProperty("figures").EnumerateArray().Select(f => f.GetString()!).ToArray(),
                c.GetProperty("seconds").GetDouble())).ToArray();
            return new SweepSummary(r.GetProperty("mode").GetString()!, r.GetProperty("seeds").GetInt32(),
                r.GetProperty("precision").GetString()!, r.GetProperty("backend").GetString()!, claims);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or InvalidCastException)
        {
            throw new InvalidDataException($"{path} is not a valid sweep summary: {e.Message}", e);
        }
    }
}

/// <summary>Turns finished cells into the sweep's outputs: per-claim CSV, verdict, figures, and summary.json.</summary>
internal static class SweepReport
{
    /// <summary>
    /// Writes DIR/Cn.csv, the claims' figures and DIR/summary.json from the given cells, which must be the whole sweep
    /// in sweep order (each claim's rows are ordered by cell index, so the outputs do not depend on how it was sharded).
    /// </summary>
    public static SweepSummary Write(string directory, IReadOnlyList<Claim> claims, SweepSettings settings, IReadOnlyList<CellResult> cells)
    {
        Directory.CreateDirectory(directory);
        var summaries = new List<ClaimSummary>();
        foreach (var claim in claims)
        {
            var mine = cells.Where(c => c.Claim == claim.Id).ToArray();
            if (mine.Length == 0) throw new InvalidOperationException($"claim {claim.Id} has no finished cells to report");
            var rows = mine.SelectMany(c => c.FullRows).ToArray();
            var verdict = claim.Judge(rows, settings);
            string csv = claim.Id + ".csv";
            CellStore.WriteAtomically(Path.Combine(directory, csv), Csv.Format(rows));
            var figures = claim.Plot(rows, directory, settings);
            summaries.Add(new ClaimSummary(claim.Id, claim.Title, verdict.Passed, verdict.Numbers, verdict.Reason, verdict.Headline,
                mine.Length, rows.Length, csv, figures, mine.Sum(c => c.Seconds)));
        }
        // The backend that computed the cells, as the cells record it (a resumed sweep may hold several).
        var backends = cells.Select(c => c.Backend).Distinct().Order(StringComparer.Ordinal).ToArray();
        string backend = backends.Length == 1 ? backends[0] : "mixed: " + string.Join(", ", backends);
        var summary = new SweepSummary(settings.ModeName, settings.Seeds, settings.PrecisionName, backend, summaries);
        CellStore.WriteAtomically(Path.Combine(directory, SweepSummary.FileName), summary.ToJson());
        return summary;
    }
}

/// <summary>RFC 4180 CSV of result rows: the union of their fields as columns, in order of first appearance.</summary>
internal static class Csv
{
    public static string Format(IReadOnlyList<ResultRow> rows)
    {
        var columns = new List<string>();
        var seen = new HashSet<string>();
        foreach (var row in rows)
            foreach (var f in row.Fields)
                if (seen.Add(f.Key)) columns.Add(f.Key);
        var sb = new StringBuilder();
        sb.AppendJoin(',', columns.Select(Quote)).Append('\n');
        foreach (var row in rows)
        {
            var values = new Dictionary<string, object>(row.Fields);
            sb.AppendJoin(',', columns.Select(c => values.TryGetValue(c, out var v) ? Quote(ResultRow.Format(v)) : "")).Append('\n');
        }
        return sb.ToString();
    }

    private static string Quote(string text) =>
        text.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + text.Replace("\"", "\"\"") + "\"" : text;
}
