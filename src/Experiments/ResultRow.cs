using System.Globalization;
using System.Text.Json;

namespace Flatness.Experiments;

/// <summary>
/// One measured point: named fields in insertion order, each a number (double) or a text label.
/// Cell parameters and measured rows share this type, so a CSV column is simply a field name.
/// </summary>
internal sealed class ResultRow
{
    private readonly List<KeyValuePair<string, object>> _fields = [];

    public IReadOnlyList<KeyValuePair<string, object>> Fields => _fields;

    public ResultRow Set(string name, double value) => SetField(name, value);
    public ResultRow Set(string name, string value) => SetField(name, value);

    private ResultRow SetField(string name, object value)
    {
        if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException("a result field needs a name", nameof(name));
        int at = _fields.FindIndex(f => f.Key == name);
        if (at >= 0) _fields[at] = new(name, value);
        else _fields.Add(new(name, value));
        return this;
    }

    public bool Has(string name) => _fields.Exists(f => f.Key == name);

    public double Number(string name) => Get(name) switch
    {
        double d => d,
        var other => throw new InvalidOperationException($"field '{name}' holds text '{other}', not a number"),
    };

    public int Integer(string name)
    {
        double d = Number(name);
        if (d != Math.Round(d) || Math.Abs(d) > int.MaxValue)
            throw new InvalidOperationException($"field '{name}' = {d} is not an integer");
        return (int)d;
    }

    public string Text(string name) => Get(name) switch
    {
        string s => s,
        var other => throw new InvalidOperationException($"field '{name}' holds the number {other}, not text"),
    };

    private object Get(string name)
    {
        foreach (var f in _fields)
            if (f.Key == name) return f.Value;
        throw new KeyNotFoundException($"the row has no field '{name}' (fields: {string.Join(", ", _fields.Select(f => f.Key))})");
    }

    /// <summary>This row's fields followed by <paramref name="other"/>'s (a later field of the same name wins).</summary>
    public ResultRow Concat(ResultRow other)
    {
        var row = new ResultRow();
        foreach (var f in _fields) row.SetField(f.Key, f.Value);
        foreach (var f in other._fields) row.SetField(f.Key, f.Value);
        return row;
    }

    /// <summary>Invariant text of a field value: shortest round-trip form for numbers.</summary>
    public static string Format(object value) => value switch
    {
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        string s => s,
        _ => throw new ArgumentException($"unsupported field type {value.GetType().Name}"),
    };

    public override string ToString() => string.Join(", ", _fields.Select(f => $"{f.Key}={Format(f.Value)}"));

    public void WriteJson(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        foreach (var (name, value) in _fields)
        {
            if (value is double d)
            {
                if (double.IsFinite(d)) writer.WriteNumber(name, d);
                else writer.WriteString(name, Format(d));   // "NaN", "Infinity", "-Infinity"
            }
            else writer.WriteString(name, (string)value);
        }
        writer.WriteEndObject();
    }

    public static ResultRow ReadJson(JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"a result row must be a JSON object, found {element.ValueKind}");
        var row = new ResultRow();
        foreach (var p in element.EnumerateObject())
        {
            switch (p.Value.ValueKind)
            {
                case JsonValueKind.Number: row.Set(p.Name, p.Value.GetDouble()); break;
                case JsonValueKind.String:
                    string s = p.Value.GetString()!;
                    if (s is "NaN" or "Infinity" or "-Infinity") row.Set(p.Name, double.Parse(s, CultureInfo.InvariantCulture));
                    else row.Set(p.Name, s);
                    break;
                default: throw new InvalidDataException($"field '{p.Name}' of a result row is {p.Value.ValueKind}, expected a number or a string");
            }
        }
        return row;
    }
}
