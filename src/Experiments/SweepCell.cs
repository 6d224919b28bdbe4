using System.Globalization;
using System.Text;

namespace Flatness.Experiments;

/// <summary>
/// One cell of a sweep: a claim, its parameters (including the replicate "seed") and the random seed derived from
/// them. A cell's result depends on nothing else, so any machine can compute it, in any order.
/// </summary>
internal sealed class SweepCell
{
    public SweepCell(string claim, int index, ResultRow parameters)
    {
        Claim = claim;
        Index = index;
        Parameters = parameters;
        Key = MakeKey(claim, parameters);
        Seed = StableSeed(Key);
    }

    public string Claim { get; }
    /// <summary>Position in the whole sweep (all selected claims, in catalog order); shards split on it.</summary>
    public int Index { get; }
    public ResultRow Parameters { get; }
    /// <summary>File-name-safe identity, e.g. "C4_ratio-2_method-flat_depth-3_seed-1" (characters other than letters, digits, '.', '+' and '-' become '~').</summary>
    public string Key { get; }
    /// <summary>Random seed for everything the cell draws, a stable hash of <see cref="Key"/>.</summary>
    public int Seed { get; }

    public override string ToString() => Key;

    public static string MakeKey(string claim, ResultRow parameters)
    {
        var sb = new StringBuilder(claim);
        foreach (var (name, value) in parameters.Fields)
            sb.Append('_').Append(Sanitize(name)).Append('-').Append(Sanitize(ResultRow.Format(value)));
        return sb.ToString();
    }

    private static string Sanitize(string text)
    {
        var sb = new StringBuilder(text.Length);
        foreach (char c in text)
            sb.Append(char.IsAsciiLetterOrDigit(c) || c is '.' or '+' or '-' ? c : '~');
        return sb.ToString();
    }

    /// <summary>FNV-1a (64 bit) of the UTF-8 text folded to a non-negative int: the same on every machine and run.</summary>
    public static int StableSeed(string text)
    {
        ulong h = 14695981039346656037UL;
        foreach (byte b in Encoding.UTF8.GetBytes(text))
        {
            h ^= b;
            h *= 1099511628211UL;
        }
        return (int)((h ^ (h >> 32)) & 0x7FFFFFFF);
    }

    /// <summary>A further seed for a named stream inside the cell (problem, initialisation, noise...).</summary>
    public int SubSeed(string stream) => StableSeed(Key + "/" + stream);

    internal static string Invariant(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
