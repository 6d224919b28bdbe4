namespace Flatness.Experiments;

/// <summary>What a merge found and wrote.</summary>
public sealed record SweepMergeResult(int Inputs, int CellsRead, int CellsCopied, SweepSummary Summary);

/// <summary>
/// Combines the cell files of shard directories into one complete sweep directory (its cells/, sweep.json,
/// CSVs, figures and summary.json). The result equals an unsharded run: outputs are built from the cells in
/// sweep order, whichever shard computed them. The output is written under its directory lock, like a run's.
/// </summary>
public static class SweepMerge
{
    /// <summary>
    /// Merges the shard directories <paramref name="inputs"/> into <paramref name="output"/> (which may be one of
    /// them); <paramref name="available"/> are the claims their manifests may name (default: the catalog).
    /// </summary>
    /// <exception cref="InvalidDataException">the inputs are sweeps of different settings, or cells are missing (named).</exception>
    /// <exception cref="DirectoryNotFoundException">an input does not exist.</exception>
    public static SweepMergeResult Merge(IReadOnlyList<string> inputs, string output, IReadOnlyList<Claim>? available = null)
    {
        if (inputs.Count == 0) throw new ArgumentException("merge needs at least one input directory");
        available ??= ClaimCatalog.All;
        SweepManifest? first = null;
        string firstDir = "";
        var claimIds = new SortedSet<string>(StringComparer.Ordinal);
        var found = new Dictionary<string, CellResult>(StringComparer.Ordinal);
        int read = 0;
        foreach (var input in inputs)
        {
            if (!Directory.Exists(input)) throw new DirectoryNotFoundException($"merge input {input} does not exist");
            var store = new CellStore(input);
            var manifest = store.ReadManifest()
                ?? throw new InvalidDataException($"{Path.Combine(input, CellStore.ManifestName)} is missing: {input} is not a sweep directory");
            if (first is null) { first = manifest; firstDir = input; }
            else if (manifest.Mode != first.Mode || manifest.Seeds != first.Seeds || manifest.Precision != first.Precision)
                throw new InvalidDataException(
                    $"{input} is a sweep with mode {manifest.Mode}, {manifest.Seeds} seeds, precision {manifest.Precision} " +
                    $"but {firstDir} has mode {first.Mode}, {first.Seeds} seeds, precision {first.Precision}");
            claimIds.UnionWith(manifest.Claims);
            foreach (var cell in store.ReadAll())
            {
                read++;
                found.TryAdd(cell.Key, cell);
            }
        }

        var settings = first!.ToSettings();
        var claims = claimIds.Select(id => available.FirstOrDefault(c => c.Id == id)
            ?? throw new InvalidDataException($"the sweep lists claim '{id}', which this program does not know")).ToArray();
        var cells = SweepRunner.EnumerateCells(claims, settings);
        var missing = cells.Where(c => !found.ContainsKey(c.Key)).ToArray();
        if (missing.Length > 0)
            throw new InvalidDataException(
                $"{missing.Length} of {cells.Count} cells are missing from the inputs (for example {string.Join(", ", missing.Take(3).Select(c => c.Key))}); " +
                "run the shards that own them (cell index mod N) into one of the input directories and merge again");

        // Under the output directory's lock, as a run writes it: a shard still running into it waits or is refused.
        var target = new CellStore(output);
        using var hold = target.Lock();
        target.PrepareManifest(settings, claims.Select(c => c.Id));
        int copied = 0;
        var results = new CellResult[cells.Count];
        for (int i = 0; i < cells.Count; i++)
        {
            results[i] = found[cells[i].Key];
            if (!target.Has(cells[i].Key))
            {
                target.Write(results[i]);
                copied++;
            }
        }
        var summary = SweepReport.Write(target.Directory, claims, settings, results);
        return new SweepMergeResult(inputs.Count, read, copied, summary);
    }
}
