using Flatness.Experiments.Claims;

namespace Flatness.Experiments;

/// <summary>The claims of docs/MATH.md section 5, in order.</summary>
public static class ClaimCatalog
{
    /// <summary>C1 .. C8, in order.</summary>
    public static IReadOnlyList<Claim> All { get; } =
    [
        new C1Exactness(),
        new C2Sandwich(),
        new C3Minimum(),
        new C4Recovery(),
        new C5ImplicitFlatness(),
        new C6Depth(),
        new C7Stability(),
        new C8CompletionWithoutRip(),
    ];

    /// <summary>"all" (or null) or a comma-separated list of ids (case-insensitive), e.g. "C1,C4"; an empty list is an error.</summary>
    public static IReadOnlyList<Claim> Resolve(string? selection, IReadOnlyList<Claim>? available = null)
    {
        available ??= All;
        if (selection is null || selection.Trim().Equals("all", StringComparison.OrdinalIgnoreCase))
            return available;
        if (string.IsNullOrWhiteSpace(selection.Replace(",", "")))
            throw new ArgumentException($"--claim '{selection}' names no claim (known: {string.Join(", ", available.Select(c => c.Id))}, or all)");
        var chosen = new List<Claim>();
        foreach (var part in selection.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var claim = available.FirstOrDefault(c => c.Id.Equals(part, StringComparison.OrdinalIgnoreCase))
                ?? throw new ArgumentException($"unknown claim '{part}' (known: {string.Join(", ", available.Select(c => c.Id))}, or all)");
            if (!chosen.Contains(claim)) chosen.Add(claim);
        }
        return chosen;
    }
}
